//! [`Export`]: a local directory as an NFSv3 server sees it: stable file
//! handles ([`FileHandle`], device and inode, never a path), the path each
//! stands for, and walks that never leave the directory.
//!
//! The server never follows a symbolic link: LOOKUP returns the link
//! itself (type NF3LNK, read with READLINK), `..` of the export's root is
//! the root, and names with `/` are refused, so no handle can name a file
//! outside the exported directory.

use std::collections::{HashMap, VecDeque};
use std::ffi::OsStr;
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::nfs::{NfsFh3, Nfsstat3};

mod attrs;
mod handle;

pub use attrs::{fattr3, post_op};
pub use handle::FileHandle;

/// Longest name LOOKUP accepts, bytes (PATHCONF `name_max`).
pub const NAME_MAX_BYTES: usize = 255;

/// Handles whose paths are remembered; past this the memory is cleared
/// and handles are found again by walking the export.
const MAX_REMEMBERED: usize = 1 << 20;

/// Entries a walk looking for a forgotten handle visits at most.
const MAX_WALK_ENTRIES: usize = 1 << 20;

/// An exported directory.
#[derive(Debug)]
pub struct Export {
    root: PathBuf,
    root_handle: FileHandle,
    paths: Mutex<HashMap<FileHandle, PathBuf>>,
}

/// One entry of a directory listing.
#[derive(Debug)]
pub struct Listed {
    /// The name (`.` and `..` included).
    pub name: Vec<u8>,
    /// The entry's handle.
    pub handle: FileHandle,
    /// Its metadata (not following a symbolic link).
    pub meta: Metadata,
}

impl Export {
    /// Exports the directory `dir`.
    ///
    /// # Errors
    ///
    /// When `dir` cannot be resolved or is not a directory.
    pub fn new(dir: &Path) -> io::Result<Export> {
        let root = fs::canonicalize(dir)?;
        let meta = fs::metadata(&root)?;
        if !meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a directory", root.display()),
            ));
        }
        let root_handle = handle_of(&meta);
        let export = Export {
            root: root.clone(),
            root_handle,
            paths: Mutex::new(HashMap::new()),
        };
        export.remember(root_handle, root);
        Ok(export)
    }

    /// The exported directory (absolute, symbolic links resolved).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The root's handle.
    pub fn root_handle(&self) -> FileHandle {
        self.root_handle
    }

    /// The path and metadata of the file `fh` names.
    ///
    /// # Errors
    ///
    /// NFS3ERR_BADHANDLE for a handle this server does not make,
    /// NFS3ERR_STALE when the file no longer exists in the export.
    pub fn resolve(&self, fh: &NfsFh3) -> Result<(PathBuf, Metadata), Nfsstat3> {
        let h = FileHandle::from_nfs(fh).ok_or(Nfsstat3::Nfs3errBadhandle)?;
        let known = self.lock().get(&h).cloned();
        if let Some(path) = known {
            if let Ok(m) = fs::symlink_metadata(&path) {
                if handle_of(&m) == h {
                    return Ok((path, m));
                }
            }
        }
        let (path, m) = self.find(h).ok_or(Nfsstat3::Nfs3errStale)?;
        self.remember(h, path.clone());
        Ok((path, m))
    }

    /// The entry `name` of the directory at `dir` (LOOKUP): `.` is the
    /// directory, `..` its parent (the root's is the root).
    ///
    /// # Errors
    ///
    /// NFS3ERR_NOTDIR when `dir` is not a directory, NFS3ERR_INVAL for a
    /// name with `/` or NUL, NFS3ERR_NAMETOOLONG, NFS3ERR_NOENT.
    pub fn lookup(
        &self,
        dir: &Path,
        dir_meta: &Metadata,
        name: &[u8],
    ) -> Result<(FileHandle, PathBuf, Metadata), Nfsstat3> {
        if !dir_meta.is_dir() {
            return Err(Nfsstat3::Nfs3errNotdir);
        }
        let path = self.child_path(dir, name)?;
        let m = fs::symlink_metadata(&path).map_err(|e| status_of(&e))?;
        let h = handle_of(&m);
        self.remember(h, path.clone());
        Ok((h, path, m))
    }

    /// Every entry of the directory at `dir`, `.` and `..` first, then by
    /// name (so that cookies, positions in this order, stay meaningful
    /// between calls while the directory does not change).
    ///
    /// # Errors
    ///
    /// NFS3ERR_NOTDIR, and the status of a failed read.
    pub fn list(&self, dir: &Path, dir_meta: &Metadata) -> Result<Vec<Listed>, Nfsstat3> {
        if !dir_meta.is_dir() {
            return Err(Nfsstat3::Nfs3errNotdir);
        }
        let mut named = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| status_of(&e))? {
            let entry = entry.map_err(|e| status_of(&e))?;
            // An entry removed since the listing began is left out.
            let Ok(meta) = entry.metadata() else { continue };
            named.push((entry.file_name().as_bytes().to_vec(), meta));
        }
        named.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Vec::with_capacity(named.len() + 2);
        for dots in [&b"."[..], b".."] {
            let (h, _, meta) = self.lookup(dir, dir_meta, dots)?;
            out.push(Listed {
                name: dots.to_vec(),
                handle: h,
                meta,
            });
        }
        for (name, meta) in named {
            let h = handle_of(&meta);
            self.remember(h, dir.join(OsStr::from_bytes(&name)));
            out.push(Listed {
                name,
                handle: h,
                meta,
            });
        }
        Ok(out)
    }

    /// The path of `name` in `dir`, never outside the export.
    fn child_path(&self, dir: &Path, name: &[u8]) -> Result<PathBuf, Nfsstat3> {
        match name {
            b"" => Err(Nfsstat3::Nfs3errNoent),
            b"." => Ok(dir.to_path_buf()),
            b".." if dir == self.root => Ok(dir.to_path_buf()),
            b".." => Ok(dir.parent().unwrap_or(&self.root).to_path_buf()),
            _ if name.len() > NAME_MAX_BYTES => Err(Nfsstat3::Nfs3errNametoolong),
            _ if name.iter().any(|b| *b == b'/' || *b == 0) => Err(Nfsstat3::Nfs3errInval),
            _ => Ok(dir.join(OsStr::from_bytes(name))),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FileHandle, PathBuf>> {
        self.paths.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remember(&self, h: FileHandle, path: PathBuf) {
        let mut paths = self.lock();
        if paths.len() >= MAX_REMEMBERED && !paths.contains_key(&h) {
            paths.clear();
            paths.insert(self.root_handle, self.root.clone());
        }
        paths.insert(h, path);
    }

    /// Walks the export (breadth first, not leaving its file system, not
    /// following links) for the file `h` names.
    fn find(&self, h: FileHandle) -> Option<(PathBuf, Metadata)> {
        if h.dev != self.root_handle.dev {
            return None;
        }
        let mut queue = VecDeque::from([self.root.clone()]);
        let mut visited = 0;
        while let Some(dir) = queue.pop_front() {
            for entry in fs::read_dir(&dir).ok()?.flatten() {
                visited += 1;
                if visited > MAX_WALK_ENTRIES {
                    return None;
                }
                let Ok(m) = entry.metadata() else { continue };
                if handle_of(&m) == h {
                    return Some((entry.path(), m));
                }
                if m.is_dir() && m.dev() == h.dev {
                    queue.push_back(entry.path());
                }
            }
        }
        None
    }
}

/// The handle of the file whose metadata is `m`.
pub fn handle_of(m: &Metadata) -> FileHandle {
    FileHandle {
        dev: m.dev(),
        ino: m.ino(),
    }
}

/// The NFS status for a failed local file operation.
pub fn status_of(e: &io::Error) -> Nfsstat3 {
    const ENOTDIR: i32 = 20;
    const EISDIR: i32 = 21;
    const ENAMETOOLONG: i32 = 36;
    const ELOOP: i32 = 40;
    match (e.kind(), e.raw_os_error()) {
        (io::ErrorKind::NotFound, _) => Nfsstat3::Nfs3errNoent,
        (io::ErrorKind::PermissionDenied, _) => Nfsstat3::Nfs3errAcces,
        (_, Some(ENOTDIR)) => Nfsstat3::Nfs3errNotdir,
        (_, Some(EISDIR)) => Nfsstat3::Nfs3errIsdir,
        (_, Some(ENAMETOOLONG)) => Nfsstat3::Nfs3errNametoolong,
        (_, Some(ELOOP)) => Nfsstat3::Nfs3errInval,
        _ => Nfsstat3::Nfs3errIo,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_never_leave_the_export() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("out")).unwrap();
        let export = Export::new(dir.path()).unwrap();
        let root = export.root().to_path_buf();
        let meta = fs::metadata(&root).unwrap();
        let (h, p, _) = export.lookup(&root, &meta, b"..").unwrap();
        assert_eq!((h, p.as_path()), (export.root_handle(), root.as_path()));
        assert_eq!(
            export.lookup(&root, &meta, b"sub/../..").unwrap_err(),
            Nfsstat3::Nfs3errInval
        );
        // A link is returned as itself, and is not a directory to walk.
        let (_, link, link_meta) = export.lookup(&root, &meta, b"out").unwrap();
        assert!(link_meta.file_type().is_symlink());
        assert_eq!(
            export.lookup(&link, &link_meta, b"passwd").unwrap_err(),
            Nfsstat3::Nfs3errNotdir
        );
    }

    #[test]
    fn forgotten_handles_are_found_again_and_gone_files_are_stale() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        std::fs::write(dir.path().join("a/b/f"), b"x").unwrap();
        let m = fs::metadata(dir.path().join("a/b/f")).unwrap();
        let fh = handle_of(&m).to_nfs();
        // A fresh export (as after a restart) has never seen the file.
        let export = Export::new(dir.path()).unwrap();
        let (path, _) = export.resolve(&fh).unwrap();
        assert!(path.ends_with("a/b/f"));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(export.resolve(&fh).unwrap_err(), Nfsstat3::Nfs3errStale);
    }
}
