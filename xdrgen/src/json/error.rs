//! Where and why decoding or encoding failed.

use std::fmt;

/// A decoding or encoding failure: the byte offset (decoding only), the
/// path of the value (`mountres3.mountinfo.auth_flavors[2]`) and what
/// was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Offset in the input, in bytes, of the item that could not be
    /// decoded; `None` for encoding.
    pub offset: Option<usize>,
    /// The path of the value: the type name, then `.field` for struct
    /// fields, union discriminants and arms, `[i]` for array and list
    /// elements.
    pub path: String,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(at) => write!(f, "at byte {at}, {}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl std::error::Error for Error {}
