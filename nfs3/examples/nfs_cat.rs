//! A working NFSv3 client in a page: mount an export, look a file up and
//! print it, with nothing but the stubs `xdrgen` generates from
//! `specs/nfs3.x` and `specs/mount3.x` and `rpc-runtime`'s client.
//!
//! ```text
//! cargo run -p nfs3 --example nfs_cat -- 127.0.0.1:2049 127.0.0.1:20048 /export file.txt
//! ```
//!
//! (`nfs3-client` does the same with rpcbind, URLs, directories, UDP and
//! many READs in flight.)

use nfs3::mount::{Dirpath, MountProgramV3Client, Mountres3};
use nfs3::nfs::{
    Diropargs3, Lookup3args, Lookup3res, NfsFh3, NfsProgramV3Client, Read3args, Read3res,
};
use rpc_runtime::Client;
use xdr_codec::XdrString;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [nfs_addr, mount_addr, export, name] = args.as_slice() else {
        return Err("usage: nfs_cat NFS_ADDR MOUNT_ADDR EXPORT NAME".into());
    };
    // MOUNT v3: the export's root file handle.
    let mount = MountProgramV3Client::new(Client::connect_tcp(mount_addr.as_str()).await?);
    let root = match mount
        .mountproc3_mnt(&Dirpath::from_bytes(export.clone()))
        .await?
    {
        Mountres3::Mnt3Ok(ok) => NfsFh3 {
            data: ok.fhandle.bytes().into(),
        },
        Mountres3::Default(status) => return Err(format!("MNT {export}: {status:?}").into()),
    };
    // NFSv3 LOOKUP, then READs until end of file.
    let nfs = NfsProgramV3Client::new(Client::connect_tcp(nfs_addr.as_str()).await?);
    let what = Diropargs3 {
        dir: root,
        name: XdrString::from_bytes(name.clone()),
    };
    let file = match nfs.nfsproc3_lookup(&Lookup3args { what }).await? {
        Lookup3res::Nfs3Ok(ok) => ok.object,
        Lookup3res::Default { discriminant, .. } => {
            return Err(format!("LOOKUP {name}: {discriminant:?}").into())
        }
    };
    let mut offset = 0;
    loop {
        let read = Read3args {
            file: file.clone(),
            offset,
            count: 64 * 1024,
        };
        match nfs.nfsproc3_read(&read).await? {
            Read3res::Nfs3Ok(ok) => {
                std::io::Write::write_all(&mut std::io::stdout(), &ok.data)?;
                offset += ok.data.len() as u64;
                if ok.eof {
                    return Ok(());
                }
            }
            Read3res::Default { discriminant, .. } => {
                return Err(format!("READ: {discriminant:?}").into())
            }
        }
    }
}
