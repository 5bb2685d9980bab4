//! [`MountService`]: MOUNT version 3 (RFC 1813 Appendix I) for one
//! export: MNT hands out the handle of the export's root or of a
//! directory below it (as knfsd and NFS-Ganesha allow), EXPORT lists it.

use std::sync::Arc;

use rpc_runtime::codegen::{CallContext, HandlerResult};

use crate::export::{status_of, Export};
use crate::mount::*;
use crate::nfs::Nfsstat3;
use crate::url::strip_export;

/// AUTH_SYS and AUTH_NONE, the flavors MNT says the export accepts.
const AUTH_FLAVORS: [i32; 2] = [1, 0];

/// The MOUNT program for one export, known to clients by `name`.
#[derive(Debug, Clone)]
pub struct MountService {
    export: Arc<Export>,
    name: String,
}

impl MountService {
    /// Serves `export` under the path `name` (what clients MNT).
    pub fn new(export: Arc<Export>, name: String) -> MountService {
        MountService { export, name }
    }
}

impl MountProgramV3 for MountService {
    async fn mountproc3_mnt(&self, _ctx: CallContext, arg: Dirpath) -> HandlerResult<Mountres3> {
        let asked = arg.to_string_lossy();
        let Some(components) = strip_export(&asked, self.name.trim_end_matches('/')) else {
            return Ok(Mountres3::Default(Mountstat3::Mnt3errNoent));
        };
        let mut dir = self.export.root().to_path_buf();
        let mut handle = self.export.root_handle();
        for name in components {
            let meta = match std::fs::symlink_metadata(&dir) {
                Ok(m) => m,
                Err(e) => return Ok(Mountres3::Default(mount_status(status_of(&e)))),
            };
            match self.export.lookup(&dir, &meta, name.as_bytes()) {
                Ok((h, path, _)) => (handle, dir) = (h, path),
                Err(status) => return Ok(Mountres3::Default(mount_status(status))),
            }
        }
        if !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
            return Ok(Mountres3::Default(Mountstat3::Mnt3errNotdir));
        }
        Ok(Mountres3::Mnt3Ok(Mountres3Ok {
            fhandle: handle.to_nfs().data.bytes().into(),
            auth_flavors: AUTH_FLAVORS.to_vec().into(),
        }))
    }

    async fn mountproc3_dump(&self, _ctx: CallContext) -> HandlerResult<Mountlist> {
        Ok(Mountlist::default())
    }

    async fn mountproc3_umnt(&self, _ctx: CallContext, _arg: Dirpath) -> HandlerResult<()> {
        Ok(())
    }

    async fn mountproc3_umntall(&self, _ctx: CallContext) -> HandlerResult<()> {
        Ok(())
    }

    async fn mountproc3_export(&self, _ctx: CallContext) -> HandlerResult<Exports> {
        Ok(vec![Exportnode {
            ex_dir: Dirpath::from_bytes(self.name.clone().into_bytes()),
            ex_groups: Groups::default(),
        }]
        .into())
    }
}

/// The MOUNT status for an NFS status met while walking to a directory.
fn mount_status(status: Nfsstat3) -> Mountstat3 {
    match status {
        Nfsstat3::Nfs3errNoent => Mountstat3::Mnt3errNoent,
        Nfsstat3::Nfs3errAcces | Nfsstat3::Nfs3errPerm => Mountstat3::Mnt3errAcces,
        Nfsstat3::Nfs3errNotdir => Mountstat3::Mnt3errNotdir,
        Nfsstat3::Nfs3errNametoolong => Mountstat3::Mnt3errNametoolong,
        Nfsstat3::Nfs3errInval => Mountstat3::Mnt3errInval,
        _ => Mountstat3::Mnt3errIo,
    }
}
