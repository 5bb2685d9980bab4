//! Names and meanings of NFS and MOUNT status codes (RFC 1813 sections
//! 2.6 and 5.1.4), as users read them in errors.

use crate::mount::Mountstat3;
use crate::nfs::Nfsstat3;

/// The RFC's name of `status` (`NFS3ERR_NOENT`) and what it means.
pub fn nfs_status_text(status: Nfsstat3) -> (&'static str, &'static str) {
    use Nfsstat3::*;
    match status {
        Nfs3Ok => ("NFS3_OK", "success"),
        Nfs3errPerm => ("NFS3ERR_PERM", "not owner"),
        Nfs3errNoent => ("NFS3ERR_NOENT", "no such file or directory"),
        Nfs3errIo => ("NFS3ERR_IO", "I/O error"),
        Nfs3errNxio => ("NFS3ERR_NXIO", "no such device or address"),
        Nfs3errAcces => ("NFS3ERR_ACCES", "permission denied"),
        Nfs3errExist => ("NFS3ERR_EXIST", "file exists"),
        Nfs3errXdev => ("NFS3ERR_XDEV", "cross-device link"),
        Nfs3errNodev => ("NFS3ERR_NODEV", "no such device"),
        Nfs3errNotdir => ("NFS3ERR_NOTDIR", "not a directory"),
        Nfs3errIsdir => ("NFS3ERR_ISDIR", "is a directory"),
        Nfs3errInval => ("NFS3ERR_INVAL", "invalid argument"),
        Nfs3errFbig => ("NFS3ERR_FBIG", "file too large"),
        Nfs3errNospc => ("NFS3ERR_NOSPC", "no space left on device"),
        Nfs3errRofs => ("NFS3ERR_ROFS", "read-only file system"),
        Nfs3errMlink => ("NFS3ERR_MLINK", "too many hard links"),
        Nfs3errNametoolong => ("NFS3ERR_NAMETOOLONG", "file name too long"),
        Nfs3errNotempty => ("NFS3ERR_NOTEMPTY", "directory not empty"),
        Nfs3errDquot => ("NFS3ERR_DQUOT", "disk quota exceeded"),
        Nfs3errStale => ("NFS3ERR_STALE", "stale file handle"),
        Nfs3errRemote => ("NFS3ERR_REMOTE", "too many levels of remote in path"),
        Nfs3errBadhandle => ("NFS3ERR_BADHANDLE", "illegal file handle"),
        Nfs3errNotSync => ("NFS3ERR_NOT_SYNC", "update synchronization mismatch"),
        Nfs3errBadCookie => ("NFS3ERR_BAD_COOKIE", "READDIR cookie is stale"),
        Nfs3errNotsupp => ("NFS3ERR_NOTSUPP", "operation not supported"),
        Nfs3errToosmall => ("NFS3ERR_TOOSMALL", "buffer or request too small"),
        Nfs3errServerfault => ("NFS3ERR_SERVERFAULT", "server fault"),
        Nfs3errBadtype => ("NFS3ERR_BADTYPE", "type not supported by the server"),
        Nfs3errJukebox => ("NFS3ERR_JUKEBOX", "server busy, try again later"),
    }
}

/// The RFC's name of a MOUNT status (`MNT3ERR_ACCES`) and what it means.
pub fn mount_status_text(status: Mountstat3) -> (&'static str, &'static str) {
    use Mountstat3::*;
    match status {
        Mnt3Ok => ("MNT3_OK", "success"),
        Mnt3errPerm => ("MNT3ERR_PERM", "not owner"),
        Mnt3errNoent => ("MNT3ERR_NOENT", "no such export"),
        Mnt3errIo => ("MNT3ERR_IO", "I/O error"),
        Mnt3errAcces => ("MNT3ERR_ACCES", "permission denied"),
        Mnt3errNotdir => ("MNT3ERR_NOTDIR", "not a directory"),
        Mnt3errInval => ("MNT3ERR_INVAL", "invalid argument"),
        Mnt3errNametoolong => ("MNT3ERR_NAMETOOLONG", "path too long"),
        Mnt3errNotsupp => ("MNT3ERR_NOTSUPP", "operation not supported"),
        Mnt3errServerfault => ("MNT3ERR_SERVERFAULT", "server fault"),
    }
}
