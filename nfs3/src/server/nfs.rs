//! [`NfsService`]: NFSv3 (RFC 1813 section 3) over an [`Export`], read
//! only: every procedure that would change the file system answers
//! NFS3ERR_ROFS.

use std::fs::{self, File, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::sync::Arc;

use rpc_runtime::codegen::{CallContext, HandlerResult, ServerError};
use xdr_codec::{XdrEncode, XdrString};

use crate::export::{fattr3, post_op, status_of, Export, Listed, NAME_MAX_BYTES};
use crate::nfs::*;

/// Largest READ answered, bytes (FSINFO `rtmax`).
pub const MAX_READ_BYTES: u32 = 1 << 20;

/// Bytes of a READDIR/READDIRPLUS reply besides its entries: status,
/// directory attributes, cookie verifier, end-of-list marker and `eof`.
const DIR_REPLY_OVERHEAD: usize = 4 + 88 + 8 + 4 + 4;

/// The NFSv3 program over one export.
#[derive(Debug, Clone)]
pub struct NfsService {
    export: Arc<Export>,
}

impl NfsService {
    /// Serves `export`.
    pub fn new(export: Arc<Export>) -> NfsService {
        NfsService { export }
    }
}

/// Weak cache consistency data with nothing known (what a refused write
/// reports).
fn no_wcc() -> WccData {
    WccData {
        before: PreOpAttr::False,
        after: PostOpAttr::False,
    }
}

/// The cookie verifier of a directory: its modification time, so that a
/// changed directory invalidates old cookies.
fn cookieverf(m: &Metadata) -> Cookieverf3 {
    let v = (m.mtime() as u64) << 32 | (m.mtime_nsec() as u64 & 0xffff_ffff);
    v.to_be_bytes()
}

/// True when a client's (cookie, verifier) no longer fits the directory.
fn stale_cookie(cookie: u64, verf: &Cookieverf3, dir: &Metadata) -> bool {
    cookie != 0 && *verf != [0; 8] && *verf != cookieverf(dir)
}

/// Access bits (ACCESS3_*) the AUTH_SYS caller of `ctx` has to `m`,
/// from its mode bits, as the local kernel would decide (uid 0 may read
/// and search everything). Nothing that modifies: the export is read only.
fn access_bits(ctx: &CallContext, m: &Metadata) -> u32 {
    let (uid, gid, gids): (u32, u32, &[u32]) = match ctx.auth_sys() {
        Some(a) => (a.uid, a.gid, &a.gids),
        None => (65534, 65534, &[]),
    };
    let mode = m.mode();
    let perm = if uid == 0 {
        0o7
    } else if uid == m.uid() {
        (mode >> 6) & 7
    } else if gid == m.gid() || gids.contains(&m.gid()) {
        (mode >> 3) & 7
    } else {
        mode & 7
    };
    let (r, x) = (
        perm & 4 != 0,
        perm & 1 != 0 || (uid == 0 && mode & 0o111 != 0),
    );
    let mut bits = 0;
    if m.is_dir() {
        if r {
            bits |= ACCESS3_READ;
        }
        if x || uid == 0 {
            bits |= ACCESS3_LOOKUP;
        }
    } else {
        if r {
            bits |= ACCESS3_READ;
        }
        if x {
            bits |= ACCESS3_EXECUTE;
        }
    }
    bits
}

/// One reply's worth of a directory listing (READDIR, READDIRPLUS).
struct DirPage<E> {
    /// The directory's metadata.
    dir: Metadata,
    /// The entries from the cookie on that fit.
    entries: Vec<E>,
    /// The listing ends with them.
    eof: bool,
}

impl NfsService {
    /// The entries of directory `fh` after `cookie` (a position in
    /// [`Export::list`]'s order, checked against `verf`), made by `entry`
    /// from each entry's cookie and listing, as many as fit `max_bytes` of
    /// reply and, when not 0, `max_dir_bytes` of directory information
    /// (fileid, name and cookie: READDIRPLUS `dircount`).
    ///
    /// # Errors
    ///
    /// The status and the directory's attributes when known:
    /// NFS3ERR_BAD_COOKIE for a stale verifier, NFS3ERR_TOOSMALL when not
    /// one entry fits, and those of resolving and listing.
    fn dir_page<E: XdrEncode>(
        &self,
        fh: &NfsFh3,
        cookie: u64,
        verf: &Cookieverf3,
        max_bytes: usize,
        max_dir_bytes: usize,
        entry: impl Fn(u64, &Listed) -> E,
    ) -> Result<DirPage<E>, (Nfsstat3, PostOpAttr)> {
        let (path, dir) = self
            .export
            .resolve(fh)
            .map_err(|s| (s, PostOpAttr::False))?;
        if stale_cookie(cookie, verf, &dir) {
            return Err((Nfsstat3::Nfs3errBadCookie, post_op(Some(&dir))));
        }
        let listed = match self.export.list(&path, &dir) {
            Ok(l) => l,
            Err(status) => return Err((status, post_op(Some(&dir)))),
        };
        let budget = max_bytes.saturating_sub(DIR_REPLY_OVERHEAD);
        let (mut used, mut dir_used) = (0, 0);
        let mut entries = Vec::new();
        let start = usize::try_from(cookie).unwrap_or(usize::MAX);
        for (i, l) in listed.iter().enumerate().skip(start) {
            let e = entry(i as u64 + 1, l);
            let cost = 4 + e.encoded_len_hint();
            let dir_cost = 8 + 4 + l.name.len().div_ceil(4) * 4 + 8;
            if used + cost > budget || (max_dir_bytes > 0 && dir_used + dir_cost > max_dir_bytes) {
                break;
            }
            used += cost;
            dir_used += dir_cost;
            entries.push(e);
        }
        if entries.is_empty() && start < listed.len() {
            return Err((Nfsstat3::Nfs3errToosmall, post_op(Some(&dir))));
        }
        let eof = start.saturating_add(entries.len()) >= listed.len();
        Ok(DirPage { dir, entries, eof })
    }
}

/// Implements the procedures that would modify the export: each answers
/// NFS3ERR_ROFS, with no attributes known before or after.
macro_rules! read_only {
    ($($name:ident($args:ty) -> $res:ident = $fail:expr;)*) => {$(
        async fn $name(&self, _ctx: CallContext, _arg: $args) -> HandlerResult<$res> {
            Ok($res::Default {
                discriminant: Nfsstat3::Nfs3errRofs,
                value: $fail,
            })
        }
    )*};
}

impl NfsProgramV3 for NfsService {
    read_only! {
        nfsproc3_setattr(Setattr3args) -> Setattr3res = Setattr3resfail { obj_wcc: no_wcc() };
        nfsproc3_write(Write3args) -> Write3res = Write3resfail { file_wcc: no_wcc() };
        nfsproc3_create(Create3args) -> Create3res = Create3resfail { dir_wcc: no_wcc() };
        nfsproc3_mkdir(Mkdir3args) -> Mkdir3res = Mkdir3resfail { dir_wcc: no_wcc() };
        nfsproc3_symlink(Symlink3args) -> Symlink3res = Symlink3resfail { dir_wcc: no_wcc() };
        nfsproc3_mknod(Mknod3args) -> Mknod3res = Mknod3resfail { dir_wcc: no_wcc() };
        nfsproc3_remove(Remove3args) -> Remove3res = Remove3resfail { dir_wcc: no_wcc() };
        nfsproc3_rmdir(Rmdir3args) -> Rmdir3res = Rmdir3resfail { dir_wcc: no_wcc() };
        nfsproc3_rename(Rename3args) -> Rename3res = Rename3resfail { fromdir_wcc: no_wcc(), todir_wcc: no_wcc() };
        nfsproc3_link(Link3args) -> Link3res = Link3resfail { file_attributes: PostOpAttr::False, linkdir_wcc: no_wcc() };
        nfsproc3_commit(Commit3args) -> Commit3res = Commit3resfail { file_wcc: no_wcc() };
    }

    async fn nfsproc3_getattr(
        &self,
        _ctx: CallContext,
        arg: Getattr3args,
    ) -> HandlerResult<Getattr3res> {
        Ok(match self.export.resolve(&arg.object) {
            Ok((_, m)) => Getattr3res::Nfs3Ok(Getattr3resok {
                obj_attributes: fattr3(&m),
            }),
            Err(status) => Getattr3res::Default(status),
        })
    }

    async fn nfsproc3_lookup(
        &self,
        _ctx: CallContext,
        arg: Lookup3args,
    ) -> HandlerResult<Lookup3res> {
        let fail = |status, dir: Option<&Metadata>| Lookup3res::Default {
            discriminant: status,
            value: Lookup3resfail {
                dir_attributes: post_op(dir),
            },
        };
        let (dir, dm) = match self.export.resolve(&arg.what.dir) {
            Ok(d) => d,
            Err(status) => return Ok(fail(status, None)),
        };
        Ok(
            match self.export.lookup(&dir, &dm, arg.what.name.as_bytes()) {
                Ok((h, _, m)) => Lookup3res::Nfs3Ok(Lookup3resok {
                    object: h.to_nfs(),
                    obj_attributes: post_op(Some(&m)),
                    dir_attributes: post_op(Some(&dm)),
                }),
                Err(status) => fail(status, Some(&dm)),
            },
        )
    }

    async fn nfsproc3_access(
        &self,
        ctx: CallContext,
        arg: Access3args,
    ) -> HandlerResult<Access3res> {
        Ok(match self.export.resolve(&arg.object) {
            Ok((_, m)) => Access3res::Nfs3Ok(Access3resok {
                access: access_bits(&ctx, &m) & arg.access,
                obj_attributes: post_op(Some(&m)),
            }),
            Err(status) => Access3res::Default {
                discriminant: status,
                value: Access3resfail {
                    obj_attributes: PostOpAttr::False,
                },
            },
        })
    }

    async fn nfsproc3_readlink(
        &self,
        _ctx: CallContext,
        arg: Readlink3args,
    ) -> HandlerResult<Readlink3res> {
        let fail = |status, m: Option<&Metadata>| Readlink3res::Default {
            discriminant: status,
            value: Readlink3resfail {
                symlink_attributes: post_op(m),
            },
        };
        let (path, m) = match self.export.resolve(&arg.symlink) {
            Ok(r) => r,
            Err(status) => return Ok(fail(status, None)),
        };
        if !m.file_type().is_symlink() {
            return Ok(fail(Nfsstat3::Nfs3errInval, Some(&m)));
        }
        Ok(match fs::read_link(&path) {
            Ok(target) => Readlink3res::Nfs3Ok(Readlink3resok {
                symlink_attributes: post_op(Some(&m)),
                data: XdrString::from_bytes(target.as_os_str().as_bytes().to_vec()),
            }),
            Err(e) => fail(status_of(&e), Some(&m)),
        })
    }

    async fn nfsproc3_read(&self, _ctx: CallContext, arg: Read3args) -> HandlerResult<Read3res> {
        let fail = |status, m: Option<&Metadata>| Read3res::Default {
            discriminant: status,
            value: Read3resfail {
                file_attributes: post_op(m),
            },
        };
        let (path, m) = match self.export.resolve(&arg.file) {
            Ok(r) => r,
            Err(status) => return Ok(fail(status, None)),
        };
        if m.is_dir() {
            return Ok(fail(Nfsstat3::Nfs3errIsdir, Some(&m)));
        }
        if !m.is_file() {
            return Ok(fail(Nfsstat3::Nfs3errInval, Some(&m)));
        }
        let count = arg.count.min(MAX_READ_BYTES) as usize;
        let offset = arg.offset;
        let read = tokio::task::spawn_blocking(move || -> std::io::Result<(Vec<u8>, Metadata)> {
            let file = File::open(&path)?;
            let mut buf = vec![0u8; count];
            let mut got = 0;
            while got < count {
                match file.read_at(&mut buf[got..], offset + got as u64)? {
                    0 => break,
                    n => got += n,
                }
            }
            buf.truncate(got);
            Ok((buf, file.metadata()?))
        })
        .await
        .map_err(|e| ServerError::SystemErr(format!("READ task failed: {e}")))?;
        Ok(match read {
            Ok((data, m)) => Read3res::Nfs3Ok(Read3resok {
                eof: offset + data.len() as u64 >= m.size(),
                count: data.len() as u32,
                file_attributes: post_op(Some(&m)),
                data: data.into(),
            }),
            Err(e) => fail(status_of(&e), Some(&m)),
        })
    }

    async fn nfsproc3_readdir(
        &self,
        _ctx: CallContext,
        arg: Readdir3args,
    ) -> HandlerResult<Readdir3res> {
        let page = self.dir_page(
            &arg.dir,
            arg.cookie,
            &arg.cookieverf,
            arg.count as usize,
            0,
            |cookie, l| Entry3 {
                fileid: l.handle.ino,
                name: XdrString::from_bytes(l.name.clone()),
                cookie,
            },
        );
        Ok(match page {
            Ok(p) => Readdir3res::Nfs3Ok(Readdir3resok {
                dir_attributes: post_op(Some(&p.dir)),
                cookieverf: cookieverf(&p.dir),
                reply: Dirlist3 {
                    entries: p.entries.into(),
                    eof: p.eof,
                },
            }),
            Err((status, dir)) => Readdir3res::Default {
                discriminant: status,
                value: Readdir3resfail {
                    dir_attributes: dir,
                },
            },
        })
    }

    async fn nfsproc3_readdirplus(
        &self,
        _ctx: CallContext,
        arg: Readdirplus3args,
    ) -> HandlerResult<Readdirplus3res> {
        let page = self.dir_page(
            &arg.dir,
            arg.cookie,
            &arg.cookieverf,
            arg.maxcount as usize,
            arg.dircount as usize,
            |cookie, l| Entryplus3 {
                fileid: l.handle.ino,
                name: XdrString::from_bytes(l.name.clone()),
                cookie,
                name_attributes: post_op(Some(&l.meta)),
                name_handle: PostOpFh3::Handle(l.handle.to_nfs()),
            },
        );
        Ok(match page {
            Ok(p) => Readdirplus3res::Nfs3Ok(Readdirplus3resok {
                dir_attributes: post_op(Some(&p.dir)),
                cookieverf: cookieverf(&p.dir),
                reply: Dirlistplus3 {
                    entries: p.entries.into(),
                    eof: p.eof,
                },
            }),
            Err((status, dir)) => Readdirplus3res::Default {
                discriminant: status,
                value: Readdirplus3resfail {
                    dir_attributes: dir,
                },
            },
        })
    }

    async fn nfsproc3_fsstat(
        &self,
        _ctx: CallContext,
        arg: Fsstat3args,
    ) -> HandlerResult<Fsstat3res> {
        let fail = |status| Fsstat3res::Default {
            discriminant: status,
            value: Fsstat3resfail {
                obj_attributes: PostOpAttr::False,
            },
        };
        let (path, m) = match self.export.resolve(&arg.fsroot) {
            Ok(r) => r,
            Err(status) => return Ok(fail(status)),
        };
        Ok(match rustix::fs::statvfs(&path) {
            Ok(s) => Fsstat3res::Nfs3Ok(Fsstat3resok {
                obj_attributes: post_op(Some(&m)),
                tbytes: s.f_blocks.saturating_mul(s.f_frsize),
                fbytes: s.f_bfree.saturating_mul(s.f_frsize),
                abytes: s.f_bavail.saturating_mul(s.f_frsize),
                tfiles: s.f_files,
                ffiles: s.f_ffree,
                afiles: s.f_favail,
                invarsec: 0,
            }),
            Err(e) => fail(status_of(&e.into())),
        })
    }

    async fn nfsproc3_fsinfo(
        &self,
        _ctx: CallContext,
        arg: Fsinfo3args,
    ) -> HandlerResult<Fsinfo3res> {
        Ok(match self.export.resolve(&arg.fsroot) {
            Ok((_, m)) => Fsinfo3res::Nfs3Ok(Fsinfo3resok {
                obj_attributes: post_op(Some(&m)),
                rtmax: MAX_READ_BYTES,
                rtpref: MAX_READ_BYTES,
                rtmult: 4096,
                wtmax: MAX_READ_BYTES,
                wtpref: MAX_READ_BYTES,
                wtmult: 4096,
                dtpref: 64 * 1024,
                maxfilesize: u64::MAX,
                time_delta: Nfstime3 {
                    seconds: 0,
                    nseconds: 1,
                },
                properties: FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME,
            }),
            Err(status) => Fsinfo3res::Default {
                discriminant: status,
                value: Fsinfo3resfail {
                    obj_attributes: PostOpAttr::False,
                },
            },
        })
    }

    async fn nfsproc3_pathconf(
        &self,
        _ctx: CallContext,
        arg: Pathconf3args,
    ) -> HandlerResult<Pathconf3res> {
        Ok(match self.export.resolve(&arg.object) {
            Ok((_, m)) => Pathconf3res::Nfs3Ok(Pathconf3resok {
                obj_attributes: post_op(Some(&m)),
                linkmax: u32::MAX,
                name_max: NAME_MAX_BYTES as u32,
                no_trunc: true,
                chown_restricted: true,
                case_insensitive: false,
                case_preserving: true,
            }),
            Err(status) => Pathconf3res::Default {
                discriminant: status,
                value: Pathconf3resfail {
                    obj_attributes: PostOpAttr::False,
                },
            },
        })
    }
}
