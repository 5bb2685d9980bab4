//! Rust names for `.x` names: case conversion, keywords, and collisions.
//!
//! Types and enum/union variants are `UpperCamelCase`, fields and methods
//! `snake_case`, constants `SHOUTY_SNAKE_CASE` (via `heck`). A Rust keyword
//! becomes a raw identifier (`type` -> `r#type`); the four keywords that
//! cannot be raw (`self`, `Self`, `crate`, `super`) get a trailing `_`.
//!
//! Two `.x` names that convert to the same Rust name (`FOO` and `foo` as
//! constants, `fhstatus` and `FHSTATUS` as types) are both kept: the later
//! one gets the smallest numeric suffix that is free (`Fhstatus2`), and its
//! doc comment says so. rpcgen would accept such a file (C is
//! case-sensitive), so refusing it would break the "accepted unmodified"
//! contract.

use std::collections::HashSet;

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

/// Keywords that can be used as raw identifiers (`r#type`).
const RAW_KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if",
    "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
    "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "async", "await", "dyn",
    "abstract", "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
    "virtual", "yield", "try", "gen",
];

/// Keywords that cannot be raw identifiers.
const NON_RAW_KEYWORDS: &[&str] = &["self", "Self", "crate", "super"];

/// The three case conventions of generated Rust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    /// Types and variants.
    UpperCamel,
    /// Fields and methods.
    Snake,
    /// Constants.
    Shouty,
}

/// Converts `xdr` to `case` and makes it a usable identifier (the result may
/// start with `r#`).
pub(crate) fn rust_name(xdr: &str, case: Case) -> String {
    let mut s = match case {
        Case::UpperCamel => xdr.to_upper_camel_case(),
        Case::Snake => xdr.to_snake_case(),
        Case::Shouty => xdr.to_shouty_snake_case(),
    };
    if s.is_empty() {
        // Names made only of underscores.
        s = match case {
            Case::UpperCamel => "Unnamed".to_owned(),
            Case::Snake => "unnamed".to_owned(),
            Case::Shouty => "UNNAMED".to_owned(),
        };
    }
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, if case == Case::UpperCamel { 'N' } else { '_' });
    }
    escape_keyword(s)
}

/// Makes a keyword usable: `r#type`, `self_`.
pub(crate) fn escape_keyword(s: String) -> String {
    if NON_RAW_KEYWORDS.contains(&s.as_str()) {
        format!("{s}_")
    } else if RAW_KEYWORDS.contains(&s.as_str()) {
        format!("r#{s}")
    } else {
        s
    }
}

/// One namespace of Rust names (for example, every type of a module, or
/// every field of a struct) handing out unique names.
#[derive(Debug, Default)]
pub(crate) struct Namespace {
    taken: HashSet<String>,
}

impl Namespace {
    /// A namespace in which `reserved` names are already taken.
    pub(crate) fn with_reserved(reserved: &[&str]) -> Self {
        Namespace {
            taken: reserved.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Claims `wanted`, or `wanted` plus the smallest free numeric suffix
    /// (2, 3, ...). Returns the name and whether it was changed.
    pub(crate) fn claim(&mut self, wanted: &str) -> (String, bool) {
        if self.taken.insert(wanted.to_owned()) {
            return (wanted.to_owned(), false);
        }
        // A suffixed keyword is no longer a keyword: `r#type` -> `type2`.
        let base = wanted.strip_prefix("r#").unwrap_or(wanted);
        let sep = if base.ends_with(|c: char| c.is_ascii_digit()) {
            "_"
        } else {
            ""
        };
        for n in 2u32.. {
            let candidate = format!("{base}{sep}{n}");
            if self.taken.insert(candidate.clone()) {
                return (candidate, true);
            }
        }
        // `2u32..` yields four billion candidates; a namespace never holds
        // that many names.
        (wanted.to_owned(), true)
    }

    /// True when `name` is taken.
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.taken.contains(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_case() {
        assert_eq!(rust_name("fhstatus", Case::UpperCamel), "Fhstatus");
        assert_eq!(rust_name("MOUNTPROG", Case::UpperCamel), "Mountprog");
        assert_eq!(rust_name("MOUNTPROC_MNT", Case::Snake), "mountproc_mnt");
        assert_eq!(rust_name("nfs_fhsize", Case::Shouty), "NFS_FHSIZE");
        assert_eq!(rust_name("fattr3", Case::UpperCamel), "Fattr3");
    }

    #[test]
    fn escapes_keywords() {
        assert_eq!(rust_name("type", Case::Snake), "r#type");
        assert_eq!(rust_name("self", Case::Snake), "self_");
        assert_eq!(rust_name("self", Case::UpperCamel), "Self_");
        assert_eq!(rust_name("_", Case::Snake), "unnamed");
    }

    #[test]
    fn suffixes_collisions() {
        let mut ns = Namespace::default();
        assert_eq!(ns.claim("Foo"), ("Foo".to_owned(), false));
        assert_eq!(ns.claim("Foo"), ("Foo2".to_owned(), true));
        assert_eq!(ns.claim("Foo"), ("Foo3".to_owned(), true));
        assert_eq!(ns.claim("r#type"), ("r#type".to_owned(), false));
        assert_eq!(ns.claim("r#type"), ("type2".to_owned(), true));
        assert_eq!(ns.claim("v3"), ("v3".to_owned(), false));
        assert_eq!(ns.claim("v3"), ("v3_2".to_owned(), true));
    }
}
