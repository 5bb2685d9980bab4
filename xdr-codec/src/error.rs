//! The codec's error type: what went wrong, and where (the field path).

use std::borrow::Cow;
use std::fmt;

/// What went wrong while encoding or decoding XDR data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended before an item was complete.
    #[error("unexpected end of input: needed {needed} more bytes, {remaining} remain")]
    UnexpectedEof {
        /// Bytes the item needed.
        needed: usize,
        /// Bytes that were left in the input.
        remaining: usize,
    },
    /// A variable-length item (opaque, string, array) is longer than its
    /// declared maximum (RFC 4506 sections 4.10, 4.11, 4.13).
    #[error("length {len} exceeds the declared maximum {max}")]
    LengthExceedsMax {
        /// The length found (decode) or given (encode), in elements or bytes.
        len: u64,
        /// The declared maximum.
        max: u32,
    },
    /// A length read off the wire claims more data than the input holds.
    /// Checked before any allocation.
    #[error("length {len} claims more data than the {remaining} bytes left in the input")]
    LengthExceedsInput {
        /// The length read off the wire, in elements or bytes.
        len: u32,
        /// Bytes left in the input.
        remaining: usize,
    },
    /// A boolean was neither 0 nor 1 (RFC 4506 section 4.4).
    #[error("invalid bool value {0} (must be 0 or 1)")]
    InvalidBool(u32),
    /// An enum value is not one of the enumeration's members (RFC 4506
    /// section 4.3).
    #[error("invalid value {value} for enum {type_name}")]
    InvalidEnum {
        /// The enum's `.x` name.
        type_name: &'static str,
        /// The value found.
        value: i32,
    },
    /// A union's discriminant matches no arm and the union has no default
    /// (RFC 4506 section 4.15).
    #[error("discriminant {value} matches no arm of union {type_name}")]
    InvalidDiscriminant {
        /// The union's `.x` name.
        type_name: &'static str,
        /// The discriminant found.
        value: i64,
    },
    /// Encoding a union value built with its `default` arm whose
    /// discriminant one of the union's `case` labels names: the bytes would
    /// decode as that case, not as the default arm (RFC 4506 section 4.15).
    #[error(
        "discriminant {value} of the default arm of union {type_name} is named by a case label"
    )]
    DefaultArmDiscriminant {
        /// The union's `.x` name.
        type_name: &'static str,
        /// The discriminant given.
        value: i64,
    },
    /// Padding bytes after opaque data or a string were not zero (RFC 4506
    /// sections 4.9 - 4.11 require zero fill).
    #[error("non-zero padding bytes")]
    NonZeroPadding,
    /// Nested (recursive) data went deeper than the decoder allows.
    #[error("nesting deeper than the limit of {max} levels")]
    DepthLimitExceeded {
        /// The decoder's maximum depth.
        max: u32,
    },
    /// Bytes were left over after a complete item was decoded.
    #[error("{count} trailing bytes after the decoded item")]
    TrailingBytes {
        /// Number of bytes left over.
        count: usize,
    },
}

/// An XDR encode or decode error: an [`ErrorKind`] plus the path of fields
/// (outermost first, as `Type.field` names) where it happened.
///
/// Converts into [`std::io::Error`] (kind `InvalidData`) for use in codecs.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    inner: Box<Inner>,
}

#[derive(Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    /// Innermost first; reversed when displayed.
    path: Vec<Cow<'static, str>>,
}

impl Error {
    /// Creates an error of the given kind with an empty field path.
    pub fn new(kind: ErrorKind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                path: Vec::new(),
            }),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The field path, outermost first (for example `["Exportnode.ex_dir"]`).
    pub fn path(&self) -> impl Iterator<Item = &str> {
        self.inner.path.iter().rev().map(|p| p.as_ref())
    }

    /// Adds an enclosing field to the path. Used by generated code as errors
    /// propagate outwards.
    #[must_use]
    pub fn in_field(mut self, field: impl Into<Cow<'static, str>>) -> Self {
        self.inner.path.push(field.into());
        self
    }

    /// Adds an array or list index (`[i]`) to the path. Out of line: it
    /// formats, and only error paths call it.
    #[cold]
    #[inline(never)]
    #[must_use]
    pub(crate) fn in_index(self, i: usize) -> Self {
        self.in_field(format!("[{i}]"))
    }

    /// [`Error::in_field`] for the codec's own `field` helpers, out of line
    /// so that their hot paths stay small.
    #[cold]
    #[inline(never)]
    #[must_use]
    pub(crate) fn in_static_field(self, field: &'static str) -> Self {
        self.in_field(field)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for p in self.path() {
            if !first {
                f.write_str(" > ")?;
            }
            f.write_str(p)?;
            first = false;
        }
        if !first {
            f.write_str(": ")?;
        }
        write!(f, "{}", self.inner.kind)
    }
}

impl std::error::Error for Error {}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

/// The result type of every encode and decode operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_path_outermost_first() {
        let e = Error::new(ErrorKind::InvalidBool(7))
            .in_field("Inner.flag")
            .in_field("Outer.inner");
        assert_eq!(
            e.to_string(),
            "Outer.inner > Inner.flag: invalid bool value 7 (must be 0 or 1)"
        );
    }
}
