//! `arbitrary::Arbitrary` for the codec's types (feature `arbitrary`),
//! within the bounds the types carry, and [`arbitrary_nested`], which
//! bounds the recursion of generated recursive types.
//!
//! Every value made here encodes, and decodes back with the default
//! [`Decoder`](crate::Decoder) limits:
//!
//! * [`XdrString<MAX>`] and [`Opaque<MAX>`] hold at most `MAX` bytes (any
//!   bytes: an XDR string is not required to be UTF-8), [`VarArray<T, MAX>`]
//!   at most `MAX` elements; fixed arrays and fixed opaque data use
//!   `arbitrary`'s own `[T; N]` impl.
//! * Recursive data is at most [`ARBITRARY_MAX_DEPTH`] levels deep: each
//!   variable-length array, linked list and [`arbitrary_nested`] value is
//!   one level; deeper ones are made from no input (empty arrays and
//!   lists, `None` optional-data, the first arm of a union), and past
//!   twice the limit, where even that keeps recursing, generation fails
//!   with `arbitrary::Error::IncorrectFormat`. Twice the limit is far
//!   below [`DEFAULT_MAX_DEPTH`](crate::DEFAULT_MAX_DEPTH).

use std::cell::Cell;

use ::arbitrary::{Arbitrary, Error, Result, Unstructured};
use bytes::Bytes;

use crate::{List, NonEmptyList, Opaque, VarArray, XdrString};

/// Levels of recursive data (variable-length arrays, linked lists,
/// [`arbitrary_nested`] values) generated inside one another from input
/// bytes: 16. Deeper levels are made from no input.
pub const ARBITRARY_MAX_DEPTH: u32 = 16;

thread_local! {
    /// The levels entered on this thread (generation is single-threaded
    /// and recursive, so a thread-local counter is its depth).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Leaves a level when dropped, also when generation fails inside it.
struct Level;

impl Drop for Level {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Runs `f` one level deeper: on `u` within [`ARBITRARY_MAX_DEPTH`], on no
/// input up to twice that, and not at all past it.
fn level<'a, R>(
    u: &mut Unstructured<'a>,
    f: impl FnOnce(&mut Unstructured<'a>) -> Result<R>,
) -> Result<R> {
    let depth = DEPTH.with(|d| d.replace(d.get().saturating_add(1)));
    let _leave = Level;
    if depth < ARBITRARY_MAX_DEPTH {
        f(u)
    } else if depth < 2 * ARBITRARY_MAX_DEPTH {
        f(&mut Unstructured::new(&[]))
    } else {
        Err(Error::IncorrectFormat)
    }
}

/// An arbitrary `T` one level of recursion deeper (see the module docs):
/// the generator of a member through which a generated type refers to
/// itself (`Option<Box<T>>`, `Box<T>`), named in
/// `#[arbitrary(with = ::xdr_codec::arbitrary_nested)]`.
///
/// # Errors
///
/// What `T`'s generator returns; `arbitrary::Error::IncorrectFormat` past
/// twice [`ARBITRARY_MAX_DEPTH`] levels.
pub fn arbitrary_nested<'a, T: Arbitrary<'a>>(u: &mut Unstructured<'a>) -> Result<T> {
    level(u, T::arbitrary)
}

/// An arbitrary length of up to `max` items of `T`, from `u`'s bytes.
fn bounded_len<'a, T: Arbitrary<'a>>(u: &mut Unstructured<'a>, max: u32) -> Result<usize> {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    Ok(u.arbitrary_len::<T>()?.min(max))
}

/// Up to `max` arbitrary bytes.
fn bounded_bytes(u: &mut Unstructured<'_>, max: u32) -> Result<Bytes> {
    let len = bounded_len::<u8>(u, max)?;
    Ok(Bytes::copy_from_slice(u.bytes(len)?))
}

/// `len` arbitrary `T`s.
fn elements<'a, T: Arbitrary<'a>>(u: &mut Unstructured<'a>, len: usize) -> Result<Vec<T>> {
    (0..len).map(|_| T::arbitrary(u)).collect()
}

impl<'a, const MAX: u32> Arbitrary<'a> for XdrString<MAX> {
    /// At most `MAX` arbitrary bytes.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        bounded_bytes(u, MAX).map(Self::from_bytes)
    }
}

impl<'a, const MAX: u32> Arbitrary<'a> for Opaque<MAX> {
    /// At most `MAX` arbitrary bytes.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        bounded_bytes(u, MAX).map(Self::new)
    }
}

impl<'a, T: Arbitrary<'a>, const MAX: u32> Arbitrary<'a> for VarArray<T, MAX> {
    /// At most `MAX` arbitrary elements, one level deeper.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        level(u, |u| {
            let len = bounded_len::<T>(u, MAX)?;
            elements(u, len).map(Self)
        })
    }
}

impl<'a, T: Arbitrary<'a>> Arbitrary<'a> for List<T> {
    /// Arbitrary nodes, one level deeper.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        level(u, |u| {
            let len = u.arbitrary_len::<T>()?;
            elements(u, len).map(Self)
        })
    }
}

impl<'a, T: Arbitrary<'a>> Arbitrary<'a> for NonEmptyList<T> {
    /// One node, then arbitrary more, one level deeper.
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        level(u, |u| {
            let mut list = Self::new(T::arbitrary(u)?);
            let more = u.arbitrary_len::<T>()?;
            list.extend(elements(u, more)?);
            Ok(list)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recursive type, as xdrgen generates it for `struct tree { tree *kids<>; tree *left; }`.
    #[derive(Debug)]
    struct Tree {
        kids: VarArray<Option<Box<Tree>>, 3>,
        left: Option<Box<Tree>>,
    }

    impl<'a> Arbitrary<'a> for Tree {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            Ok(Tree {
                kids: u.arbitrary()?,
                left: arbitrary_nested(u)?,
            })
        }
    }

    fn depth(t: &Tree) -> u32 {
        let kids = t.kids.iter().flatten().map(|k| depth(k));
        1 + kids.chain(t.left.as_deref().map(depth)).max().unwrap_or(0)
    }

    /// Bytes that make every choice "more": all 0xff.
    fn greedy(n: usize) -> Vec<u8> {
        vec![0xff; n]
    }

    #[test]
    fn bounded_types_stay_within_their_maximum() {
        let data = greedy(4096);
        let mut u = Unstructured::new(&data);
        assert_eq!(XdrString::<5>::arbitrary(&mut u).unwrap().len(), 5);
        assert_eq!(Opaque::<7>::arbitrary(&mut u).unwrap().len(), 7);
        assert_eq!(VarArray::<u32, 2>::arbitrary(&mut u).unwrap().len(), 2);
        assert!(NonEmptyList::<u8>::arbitrary(&mut Unstructured::new(&[])).is_ok());
    }

    #[test]
    fn recursion_ends_at_the_depth_limit_and_the_counter_is_restored() {
        let data = greedy(1 << 16);
        let tree = Tree::arbitrary(&mut Unstructured::new(&data)).unwrap();
        let d = depth(&tree);
        // The greedy input reaches the limit; each level of the tree is
        // one or two levels of generation (the array, the box).
        assert!(d > ARBITRARY_MAX_DEPTH / 2, "depth {d}");
        assert!(d <= 2 * ARBITRARY_MAX_DEPTH, "depth {d}");
        assert_eq!(DEPTH.with(Cell::get), 0);
    }
}
