//! [`FileHandle`]: the server's NFSv3 file handles, stable for the life of
//! a file: they name its device and inode number, never its path.
//!
//! ```text
//! +-----------+-----------------+-----------------+
//! | "RSN3"    | device (u64 BE) | inode (u64 BE)  |   20 bytes
//! +-----------+-----------------+-----------------+
//! ```

use crate::nfs::NfsFh3;

/// The first bytes of every handle this server gives out.
const MAGIC: &[u8; 4] = b"RSN3";

/// Bytes of an encoded handle.
const HANDLE_BYTES: usize = 20;

/// A file as the server names it to clients: device and inode number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileHandle {
    /// The file system's device number (`st_dev`).
    pub dev: u64,
    /// The inode number (`st_ino`).
    pub ino: u64,
}

impl FileHandle {
    /// The handle as sent on the wire.
    pub fn to_nfs(self) -> NfsFh3 {
        let mut b = Vec::with_capacity(HANDLE_BYTES);
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&self.dev.to_be_bytes());
        b.extend_from_slice(&self.ino.to_be_bytes());
        NfsFh3 { data: b.into() }
    }

    /// Reads a handle a client sent back; `None` for one this server
    /// never gives out (NFS3ERR_BADHANDLE).
    pub fn from_nfs(fh: &NfsFh3) -> Option<FileHandle> {
        let b: &[u8] = &fh.data;
        if b.len() != HANDLE_BYTES || !b.starts_with(MAGIC) {
            return None;
        }
        let word = |at: usize| -> Option<u64> {
            Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
        };
        Some(FileHandle {
            dev: word(4)?,
            ino: word(12)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_round_trip_and_foreign_ones_are_refused() {
        let h = FileHandle {
            dev: 0x801,
            ino: 1 << 40,
        };
        assert_eq!(FileHandle::from_nfs(&h.to_nfs()), Some(h));
        assert_eq!(
            FileHandle::from_nfs(&NfsFh3 {
                data: vec![0; 20].into()
            }),
            None
        );
        assert_eq!(
            FileHandle::from_nfs(&NfsFh3 {
                data: b"RSN3".to_vec().into()
            }),
            None
        );
    }
}
