//! NFSv3 attributes (`fattr3`, RFC 1813 section 2.5) from a local file's
//! metadata.

use std::fs::Metadata;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

use crate::nfs::{Fattr3, Ftype3, Nfstime3, PostOpAttr, Specdata3};

/// The attributes of a file whose metadata is `m`.
pub fn fattr3(m: &Metadata) -> Fattr3 {
    let t = m.file_type();
    let r#type = if t.is_dir() {
        Ftype3::Nf3dir
    } else if t.is_symlink() {
        Ftype3::Nf3lnk
    } else if t.is_block_device() {
        Ftype3::Nf3blk
    } else if t.is_char_device() {
        Ftype3::Nf3chr
    } else if t.is_socket() {
        Ftype3::Nf3sock
    } else if t.is_fifo() {
        Ftype3::Nf3fifo
    } else {
        Ftype3::Nf3reg
    };
    let rdev = m.rdev();
    Fattr3 {
        r#type,
        mode: m.mode() & 0o7777,
        nlink: u32::try_from(m.nlink()).unwrap_or(u32::MAX),
        uid: m.uid(),
        gid: m.gid(),
        size: m.size(),
        used: m.blocks().saturating_mul(512),
        rdev: Specdata3 {
            // glibc's gnu_dev_major / gnu_dev_minor.
            specdata1: (((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff)) as u32,
            specdata2: ((rdev & 0xff) | ((rdev >> 12) & !0xff)) as u32,
        },
        fsid: m.dev(),
        fileid: m.ino(),
        atime: time(m.atime(), m.atime_nsec()),
        mtime: time(m.mtime(), m.mtime_nsec()),
        ctime: time(m.ctime(), m.ctime_nsec()),
    }
}

/// `post_op_attr` for `m`, or no attributes.
pub fn post_op(m: Option<&Metadata>) -> PostOpAttr {
    match m {
        Some(m) => PostOpAttr::Attributes(fattr3(m)),
        None => PostOpAttr::False,
    }
}

/// NFS time from a Unix time (times before 1970 clamp to 0; past 2106 to
/// the largest).
fn time(secs: i64, nsecs: i64) -> Nfstime3 {
    Nfstime3 {
        seconds: u32::try_from(secs.max(0)).unwrap_or(u32::MAX),
        nseconds: u32::try_from(nsecs.clamp(0, 999_999_999)).unwrap_or(0),
    }
}
