//! The two clippy lints that `.x` names and shapes can trip in generated
//! enums, allowed on exactly the items that may trip them (the generated
//! file is `include!`d, where a module-wide `#![allow]` cannot go):
//!
//! * `clippy::enum_variant_names`: at least three variants, and all of
//!   them share a first or last CamelCase word, or one starts or ends
//!   with the enum's name (`enum nfsstat3 { NFS3_OK, NFS3ERR_PERM }` does
//!   not; `enum color { COLOR_RED, COLOR_GREEN, COLOR_BLUE }` does);
//! * `clippy::large_enum_variant`: a union whose largest arm may be 200
//!   bytes (clippy's threshold) larger than the next largest. Sizes are
//!   bounded from above and below without knowing the target's layout, so
//!   a union close to the threshold gets the allow.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::{Model, Type, TypeKind};

/// Clippy's `enum-variant-name-threshold` default.
const NAME_THRESHOLD: usize = 3;
/// Clippy's `enum-variant-size-threshold` default, bytes.
const SIZE_THRESHOLD: u64 = 200;
/// How deep sizes follow named types (acyclic but for boxes, which end
/// the walk; this only bounds the work).
const MAX_DEPTH: u32 = 256;

/// `#[allow(clippy::enum_variant_names)]` when the variant names may trip
/// the lint, else nothing.
pub(super) fn variant_names(enum_name: &str, variants: &[&str]) -> TokenStream {
    if variants.len() < NAME_THRESHOLD {
        return TokenStream::new();
    }
    let name = enum_name.trim_start_matches("r#");
    let words: Vec<Vec<&str>> = variants
        .iter()
        .map(|v| camel_words(v.trim_start_matches("r#")))
        .collect();
    let multi_word = words.iter().all(|w| w.len() > 1);
    let shared_first = words.iter().all(|w| w.first() == words[0].first());
    let shared_last = words.iter().all(|w| w.last() == words[0].last());
    let repeats_name = variants
        .iter()
        .any(|v| v.starts_with(name) || v.ends_with(name));
    if repeats_name || (multi_word && (shared_first || shared_last)) {
        quote!(#[allow(clippy::enum_variant_names)])
    } else {
        TokenStream::new()
    }
}

/// The words of a CamelCase name, split before each upper-case letter.
fn camel_words(name: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut start = 0;
    for (i, c) in name.char_indices().skip(1) {
        if c.is_ascii_uppercase() {
            words.push(&name[start..i]);
            start = i;
        }
    }
    words.push(&name[start..]);
    words
}

/// `#[allow(clippy::large_enum_variant)]` when the union arms' payloads
/// (`None` for a unit variant) may differ by the lint's threshold, else
/// nothing.
pub(super) fn large_variant(payloads: &[Vec<&Type>], model: &Model) -> TokenStream {
    let bounds: Vec<(u64, u64)> = payloads
        .iter()
        .map(|p| {
            p.iter().fold((0, 0), |(lo, hi), t| {
                let (l, h) = size(t, model, 0);
                (lo + l, hi + h)
            })
        })
        .collect();
    let may_trip = bounds.len() >= 2
        && bounds.iter().enumerate().any(|(i, (_, hi))| {
            let next = bounds
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, (lo, _))| *lo)
                .max()
                .unwrap_or(0);
            hi.saturating_sub(next) >= SIZE_THRESHOLD
        });
    if may_trip {
        quote!(#[allow(clippy::large_enum_variant)])
    } else {
        TokenStream::new()
    }
}

/// Lower and upper bounds of the in-memory size of `t`, bytes.
fn size(t: &Type, model: &Model, depth: u32) -> (u64, u64) {
    // A type whose size is not known here (defined outside the file, or
    // nested too deep) may be anything.
    const UNKNOWN: (u64, u64) = (0, 1 << 20);
    if depth > MAX_DEPTH {
        return UNKNOWN;
    }
    match t {
        Type::Void => (0, 0),
        Type::Int | Type::UnsignedInt | Type::Float | Type::Bool => (4, 4),
        Type::Hyper | Type::UnsignedHyper | Type::Double => (8, 8),
        Type::FixedOpaque(n) => (u64::from(n.value), u64::from(n.value)),
        // `Bytes`, `Vec`: three or four machine words.
        Type::Opaque(_)
        | Type::String(_)
        | Type::VarArray(..)
        | Type::List(_)
        | Type::NonEmptyList(_) => (12, 32),
        Type::Boxed(_) => (4, 8),
        Type::Array(e, n) => {
            let (lo, hi) = size(e, model, depth + 1);
            let n = u64::from(n.value);
            (lo.saturating_mul(n), hi.saturating_mul(n))
        }
        // The `None` niche or a tag, padded to the alignment.
        Type::Optional(e) => {
            let (lo, hi) = size(e, model, depth + 1);
            (lo, hi.saturating_add(8))
        }
        Type::Extern(_) => UNKNOWN,
        Type::Named(n) => match model.type_item(n).map(|t| &t.kind) {
            Some(TypeKind::Alias(a)) => size(&a.ty, model, depth + 1),
            Some(TypeKind::Enum(_)) => (4, 4),
            Some(TypeKind::Struct(s)) => {
                let (lo, hi) = s.fields.iter().fold((0u64, 0u64), |(lo, hi), f| {
                    let (l, h) = size(&f.ty, model, depth + 1);
                    (lo.saturating_add(l), hi.saturating_add(h))
                });
                // Rust orders fields by alignment, so padding is at the end.
                (lo, hi.saturating_add(8))
            }
            Some(TypeKind::Union(u)) => {
                let arms = u
                    .cases
                    .iter()
                    .filter_map(|c| c.field.as_ref())
                    .chain(u.default.iter().filter_map(|d| d.field.as_ref()))
                    .map(|f| size(&f.ty, model, depth + 1));
                let (lo, hi) = arms.fold((0, 0), |(lo, hi), (l, h)| (lo.max(l), hi.max(h)));
                // The tag, and a `default:` arm's discriminant, padded.
                (lo, hi.saturating_add(24))
            }
            None => UNKNOWN,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sharing_a_word_or_the_enum_name_get_the_allow() {
        assert!(
            variant_names("Color", &["ColorRed", "ColorGreen", "ColorBlue"])
                .to_string()
                .contains("enum_variant_names")
        );
        assert!(variant_names("Stat", &["OkStat", "ErrStat", "NoStat"])
            .to_string()
            .contains("enum_variant_names"));
        assert!(variant_names("Nfsstat3", &["Nfs3Ok", "Nfs3errPerm", "Nfs3errIo"]).is_empty());
        assert!(variant_names("E", &["AB", "AC"]).is_empty());
        assert_eq!(camel_words("Nfs3errPerm"), ["Nfs3err", "Perm"]);
    }
}
