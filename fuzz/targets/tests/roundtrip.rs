//! Round-trip property test of every type of every `.x` file of the
//! project, with the `Arbitrary` impls xdrgen generates (`build.rs`
//! compiles the files with `arbitrary(true)`).
//!
//! For each type, values are made from byte strings of a seeded
//! (deterministic) proptest runner: every value encodes (it is within
//! the spec's bounds), its encoding is as long as `encoded_len_hint`
//! says, and it decodes (with the default decoder limits) to the same
//! value, which encodes to the same bytes. A failure is shrunk to the
//! shortest byte string that shows it.

use std::cell::Cell;

use arbitrary::{Arbitrary, Unstructured};
use proptest::collection::vec;
use proptest::prelude::any;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use xdr_codec::{XdrDecode, XdrEncode};

/// Byte strings tried per type.
const CASES: u32 = 64;

/// The longest byte string a value is made from.
const MAX_INPUT_BYTES: usize = 768;

/// Checks one value made from `bytes`; `Ok(false)` when `bytes` make no
/// value (too few of them for the type).
fn round_trip<T>(bytes: &[u8]) -> Result<bool, TestCaseError>
where
    T: for<'a> Arbitrary<'a> + XdrEncode + XdrDecode + PartialEq + std::fmt::Debug,
{
    let Ok(value) = T::arbitrary(&mut Unstructured::new(bytes)) else {
        return Ok(false);
    };
    let wire = value
        .to_xdr_bytes()
        .map_err(|e| TestCaseError::fail(format!("{value:?} does not encode: {e}")))?;
    if wire.len() != value.encoded_len_hint() {
        return Err(TestCaseError::fail(format!(
            "{value:?}: {} bytes, encoded_len_hint {}",
            wire.len(),
            value.encoded_len_hint()
        )));
    }
    let back = T::from_xdr_bytes(wire.clone())
        .map_err(|e| TestCaseError::fail(format!("{value:?} does not decode: {e}")))?;
    // `f32`/`f64` NaN is not equal to itself; its Debug text is.
    if back != value && format!("{back:?}") != format!("{value:?}") {
        return Err(TestCaseError::fail(format!(
            "{value:?} decodes as {back:?}"
        )));
    }
    let again = back
        .to_xdr_bytes()
        .map_err(|e| TestCaseError::fail(format!("{back:?} does not encode: {e}")))?;
    if again != wire {
        return Err(TestCaseError::fail(format!(
            "{value:?} re-encodes differently"
        )));
    }
    Ok(true)
}

/// Runs [`round_trip`] over [`CASES`] seeded byte strings; returns how
/// many made a value.
fn check<T>() -> Result<u32, String>
where
    T: for<'a> Arbitrary<'a> + XdrEncode + XdrDecode + PartialEq + std::fmt::Debug,
{
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let made = Cell::new(0);
    runner
        .run(&vec(any::<u8>(), 0..=MAX_INPUT_BYTES), |bytes| {
            if round_trip::<T>(&bytes)? {
                made.set(made.get() + 1);
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    Ok(made.get())
}

macro_rules! specs {
    ($($path:literal => $module:ident ($file:literal) [$($ty:ident),* $(,)?]),* $(,)?) => {
        $(
            #[allow(dead_code, unreachable_pub, missing_docs, clippy::all)]
            mod $module {
                include!(concat!(env!("OUT_DIR"), "/", $file));
            }
        )*

        /// `(file, type, check)` for every type of every file.
        const CHECKS: &[(&str, &str, fn() -> Result<u32, String>)] = &[
            $($(($path, stringify!($ty), check::<$module::$ty>),)*)*
        ];
    };
}

include!(concat!(env!("OUT_DIR"), "/roundtrip_specs.rs"));

#[test]
fn every_type_round_trips() {
    let mut failures = Vec::new();
    let mut files: Vec<&str> = CHECKS.iter().map(|(f, _, _)| *f).collect();
    files.dedup();
    for (file, ty, check) in CHECKS {
        match check() {
            // Every type has values small enough to be made from most
            // byte strings of up to MAX_INPUT_BYTES.
            Ok(made) if made >= CASES / 2 => {}
            Ok(made) => failures.push(format!("{file} {ty}: only {made} of {CASES} values made")),
            Err(e) => failures.push(format!("{file} {ty}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The project's files and xdrgen's test specs.
    assert!(files.len() >= 13, "{files:?}");
    assert!(CHECKS.len() >= 250, "{} types", CHECKS.len());
}

/// Values made from `n` seeded byte strings (fewer when some make none).
fn values<T: for<'a> Arbitrary<'a>>(n: usize) -> Vec<T> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let strategy = vec(any::<u8>(), 0..=MAX_INPUT_BYTES);
    (0..n)
        .filter_map(|_| {
            let bytes = strategy.new_tree(&mut runner).ok()?.current();
            T::arbitrary(&mut Unstructured::new(&bytes)).ok()
        })
        .collect()
}

/// The bounds of `bounds.x` are reached, not only kept: every arm of its
/// unions is made (the `default` arms with the discriminants no case
/// names), and recursion goes more than one level deep.
#[test]
fn generated_values_reach_every_arm() {
    use bounds::{AllNamed, ButBlue, ByColor, ByNumber, Color, Flag, Tree};

    let by_number: Vec<ByNumber> = values(300);
    assert!(by_number.iter().any(|v| matches!(v, ByNumber::Ok(_))));
    assert!(by_number.iter().any(|v| matches!(v, ByNumber::Case2)));
    assert!(by_number.iter().any(
        |v| matches!(v, ByNumber::Default { discriminant, .. } if !matches!(discriminant, 1 | 2))
    ));

    let by_color: Vec<ByColor> = values(300);
    assert!(by_color.iter().any(|v| matches!(v, ByColor::Red(_))));
    assert!(by_color
        .iter()
        .any(|v| matches!(v, ByColor::Default(Color::Green))));
    assert!(by_color
        .iter()
        .any(|v| matches!(v, ByColor::Default(Color::Blue))));
    assert!(by_color
        .iter()
        .all(|v| !matches!(v, ByColor::Default(Color::Red))));

    let but_blue: Vec<ButBlue> = values(300);
    assert!(but_blue.iter().any(|v| matches!(v, ButBlue::Red)));
    assert!(but_blue.iter().any(|v| matches!(v, ButBlue::Green)));
    assert!(but_blue.iter().any(|v| matches!(
        v,
        ButBlue::Default {
            discriminant: Color::Blue,
            ..
        }
    )));
    assert!(but_blue.iter().all(|v| !matches!(
        v,
        ButBlue::Default {
            discriminant: Color::Red | Color::Green,
            ..
        }
    )));

    let all_named: Vec<AllNamed> = values(300);
    assert!(all_named.iter().all(|v| !matches!(v, AllNamed::Default(_))));

    let flags: Vec<Flag> = values(300);
    assert!(flags.iter().any(|v| matches!(v, Flag::Data(_))));
    assert!(flags.iter().any(|v| matches!(v, Flag::Default(false))));
    assert!(flags.iter().all(|v| !matches!(v, Flag::Default(true))));

    fn depth(t: &Tree) -> usize {
        let below = [t.left.as_deref(), t.right.as_deref()]
            .into_iter()
            .flatten()
            .chain(t.kids.iter())
            .map(depth)
            .max()
            .unwrap_or(0);
        1 + below
    }
    let trees: Vec<Tree> = values(300);
    let deepest = trees.iter().map(depth).max().unwrap_or(0);
    assert!(deepest >= 3, "deepest tree {deepest}");
    assert!(
        deepest <= 2 * xdr_codec::ARBITRARY_MAX_DEPTH as usize,
        "deepest tree {deepest}"
    );
}
