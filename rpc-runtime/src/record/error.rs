//! [`RecordError`].

use std::io;

/// An error reading or writing records.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A record is (or, judging by a fragment header, would become) larger
    /// than the codec's limit. Reading: the stream cannot be resynchronised
    /// and should be closed.
    #[error("record of at least {size_bytes} bytes exceeds the limit of {max_bytes} bytes")]
    RecordTooLarge {
        /// The record size reached or announced, in bytes.
        size_bytes: u64,
        /// The limit, in bytes.
        max_bytes: usize,
    },
    /// The underlying I/O failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl From<RecordError> for io::Error {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}
