//! Generated linked lists (also the chain of a node used by value) are
//! iterative: 10 million entries encode, decode, clone, compare and drop
//! on a 2 MiB thread stack (rpcgen's
//! recursive routines overflow an 8 MiB stack at about 100,000). Non-list
//! recursion is bounded by the decoder's depth limit instead of the stack.
//!
//! `generated/lists.rs` is xdrgen's output for `specs/lists.x`, checked in
//! so this test compiles it; `generated_code_is_current` keeps it in step
//! with the generator.

#[allow(dead_code, unreachable_pub)]
mod generated {
    include!("generated/lists.rs");
}

use generated::{Chain, Entry, Holder, Intnode, Listing, Namenode, OptionT, TypedefU};
use xdr_codec::{ErrorKind, List, NonEmptyList, XdrDecode, XdrEncode};

const STACK: usize = 2 * 1024 * 1024;

fn on_small_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the test thread must not overflow its stack")
}

#[test]
fn generated_code_is_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let opts = xdrgen::Options {
        emit: xdrgen::EmitOptions {
            types: true,
            client: false,
            server: false,
            source_name: None,
            serde: false,
            arbitrary: false,
        },
        ..Default::default()
    };
    let fresh = xdrgen::generate(&dir.join("specs/lists.x"), &opts).expect("generate");
    let checked_in = std::fs::read_to_string(dir.join("generated/lists.rs")).expect("read");
    assert_eq!(
        fresh.code, checked_in,
        "regenerate with: xdrgen xdrgen/tests/specs/lists.x --emit types -o xdrgen/tests/generated/lists.rs"
    );
}

#[test]
fn ten_million_entries_on_a_2_mib_stack() {
    on_small_stack(|| {
        const N: usize = 10_000_000;
        let list: List<Intnode> = (0..N)
            .map(|i| Intnode {
                value: i32::try_from(i).unwrap_or(i32::MAX),
            })
            .collect();
        let holder = Holder {
            ints: list,
            names: vec![Namenode { name: "a".into() }, Namenode { name: "b".into() }].into(),
        };
        let wire = holder.to_xdr_bytes().expect("encode");
        // Per entry: TRUE + int; then FALSE; then the names list.
        assert_eq!(wire.len(), N * 8 + 4 + (2 * 12 + 4));
        let decoded = Holder::from_xdr_bytes(wire.clone()).expect("decode");
        let copy = decoded.clone();
        assert!(copy == holder);
        assert_eq!(copy.ints.len(), N);
        assert_eq!(copy.ints[N - 1].value, i32::try_from(N - 1).unwrap_or(0));
        drop(decoded);
        drop(holder);
        assert_eq!(copy.to_xdr_bytes().expect("re-encode"), wire);
    });
}

#[test]
fn a_node_used_by_value_reads_its_chain_iteratively() {
    on_small_stack(|| {
        // `struct listing { entry first; }`: a million entries from `first`.
        const N: u32 = 1_000_000;
        let mut first = NonEmptyList::new(Entry { id: 0 });
        first.extend((1..N).map(|id| Entry { id }));
        let listing = Listing { first };
        let wire = listing.to_xdr_bytes().expect("encode");
        // The first entry bare, TRUE + entry for the others, then FALSE.
        assert_eq!(wire.len(), N as usize * 8);
        assert_eq!(&wire[..12], &[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
        let decoded = Listing::from_xdr_bytes(wire).expect("decode");
        assert_eq!(decoded.first.len(), N as usize);
        assert_eq!(decoded.first.last().map(|e| e.id), Some(N - 1));
        assert!(decoded == listing);
    });
}

#[test]
fn list_encoding_matches_the_optional_data_chain() {
    // intnode *: TRUE 7 TRUE 8 FALSE, as rpcgen's xdr_pointer recursion.
    let l: List<Intnode> = vec![Intnode { value: 7 }, Intnode { value: 8 }].into();
    let wire = l.to_xdr_bytes().expect("encode");
    assert_eq!(
        &wire[..],
        &[0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0]
    );
}

#[test]
fn deep_non_list_recursion_is_refused_not_overflowed() {
    on_small_stack(|| {
        // chain { chain *next; int value; } nested 1,000,000 deep.
        let depth = 1_000_000;
        let mut wire = Vec::with_capacity(depth * 4 + 8);
        for _ in 0..depth {
            wire.extend_from_slice(&1u32.to_be_bytes());
        }
        wire.extend_from_slice(&0u32.to_be_bytes());
        for _ in 0..depth {
            wire.extend_from_slice(&5i32.to_be_bytes());
        }
        let err = Chain::from_xdr_bytes(wire).expect_err("too deep");
        assert!(
            matches!(err.kind(), ErrorKind::DepthLimitExceeded { .. }),
            "{err}"
        );
    });
}

#[test]
fn shallow_chains_round_trip() {
    let c = Chain {
        next: Some(Box::new(Chain {
            next: None,
            value: 2,
        })),
        value: 1,
    };
    let wire = c.to_xdr_bytes().expect("encode");
    assert_eq!(&wire[..], &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1]);
    assert_eq!(Chain::from_xdr_bytes(wire).expect("decode"), c);
}

#[test]
fn errors_name_the_field_path() {
    // A name longer than string name<16>.
    let mut wire = Vec::new();
    wire.extend_from_slice(&0u32.to_be_bytes()); // ints: empty
    wire.extend_from_slice(&1u32.to_be_bytes()); // names: one entry
    wire.extend_from_slice(&17u32.to_be_bytes()); // 17 bytes > 16
    wire.extend_from_slice(&[b'x'; 20]);
    let err = Holder::from_xdr_bytes(wire).expect_err("too long");
    let path: Vec<&str> = err.path().collect();
    assert_eq!(path, ["Holder.names", "[0]", "Namenode.name"]);
}

#[test]
fn boxed_recursion_round_trips() {
    // typedef_u { 1: option_t { typedef_u { 1: option_t { typedef_u { 0 }, 2 } }, 1 } }
    let leaf = TypedefU::Case0;
    let inner = OptionT {
        value_type: leaf,
        depth: 2,
    };
    let outer = OptionT {
        value_type: TypedefU::Opt(Box::new(inner)),
        depth: 1,
    };
    let value = TypedefU::Opt(Box::new(outer));
    let wire = value.to_xdr_bytes().expect("encode");
    assert_eq!(
        &wire[..],
        &[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1]
    );
    assert_eq!(TypedefU::from_xdr_bytes(wire).expect("decode"), value);
}
