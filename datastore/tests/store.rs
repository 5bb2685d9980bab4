//! Behaviour of the in-memory [`Store`]: PUT/GET/DELETE/LIST semantics of
//! `specs/datastore.x` and the limits.

use bytes::Bytes;
use datastore::{Store, StoreError, StoreLimits};

fn store() -> Store {
    Store::new(StoreLimits::default())
}

fn b(s: &[u8]) -> Bytes {
    Bytes::copy_from_slice(s)
}

#[test]
fn put_then_get_whole_object() {
    let s = store();
    assert_eq!(s.put(b"k", 0, b(b"hello"), false), Ok(5));
    let r = s.get(b"k", 0, 100).unwrap();
    assert_eq!(&r.data[..], b"hello");
    assert!(r.eof);
}

#[test]
fn get_is_bounded_by_count_and_reports_eof() {
    let s = store();
    s.put(b"k", 0, b(b"0123456789"), false).unwrap();
    let r = s.get(b"k", 2, 3).unwrap();
    assert_eq!((&r.data[..], r.eof), (&b"234"[..], false));
    let r = s.get(b"k", 7, 3).unwrap();
    assert_eq!((&r.data[..], r.eof), (&b"789"[..], true));
    let r = s.get(b"k", 10, 3).unwrap();
    assert_eq!((&r.data[..], r.eof), (&b""[..], true));
    let r = s.get(b"k", u64::MAX, u32::MAX).unwrap();
    assert_eq!((&r.data[..], r.eof), (&b""[..], true));
}

#[test]
fn partial_write_overwrites_and_extends() {
    let s = store();
    s.put(b"k", 0, b(b"aaaaaa"), false).unwrap();
    assert_eq!(s.put(b"k", 4, b(b"bbbb"), false), Ok(8));
    assert_eq!(&s.get(b"k", 0, 100).unwrap().data[..], b"aaaabbbb");
    // Writing inside without truncate keeps the tail.
    assert_eq!(s.put(b"k", 1, b(b"c"), false), Ok(8));
    assert_eq!(&s.get(b"k", 0, 100).unwrap().data[..], b"acaabbbb");
}

#[test]
fn write_past_end_fills_gap_with_zeros() {
    let s = store();
    assert_eq!(s.put(b"k", 3, b(b"x"), false), Ok(4));
    assert_eq!(&s.get(b"k", 0, 100).unwrap().data[..], b"\0\0\0x");
}

#[test]
fn truncate_cuts_after_written_bytes() {
    let s = store();
    s.put(b"k", 0, b(b"0123456789"), false).unwrap();
    assert_eq!(s.put(b"k", 2, b(b"ab"), true), Ok(4));
    assert_eq!(&s.get(b"k", 0, 100).unwrap().data[..], b"01ab");
    assert_eq!(s.put(b"k", 0, b(b""), true), Ok(0));
    assert_eq!(s.total_bytes(), 0);
}

#[test]
fn a_read_slice_survives_later_writes() {
    let s = store();
    s.put(b"k", 0, b(b"before"), false).unwrap();
    let r = s.get(b"k", 0, 100).unwrap();
    s.put(b"k", 0, b(b"AFTER!"), false).unwrap();
    s.put(b"k", 2, b(b"zz"), false).unwrap();
    assert_eq!(&r.data[..], b"before");
    assert_eq!(&s.get(b"k", 0, 100).unwrap().data[..], b"AFzzR!");
}

#[test]
fn delete_removes_and_missing_is_noent() {
    let s = store();
    s.put(b"k", 0, b(b"v"), false).unwrap();
    assert_eq!(s.delete(b"k"), Ok(()));
    assert_eq!(s.get(b"k", 0, 1), Err(StoreError::NoEntry));
    assert_eq!(s.delete(b"k"), Err(StoreError::NoEntry));
    assert_eq!(s.object_count(), 0);
    assert_eq!(s.total_bytes(), 0);
}

#[test]
fn keys_are_checked() {
    let s = store();
    assert_eq!(s.put(b"", 0, b(b"v"), false), Err(StoreError::Invalid));
    let long = vec![b'k'; 1025];
    assert_eq!(
        s.put(&long, 0, b(b"v"), false),
        Err(StoreError::NameTooLong)
    );
    assert_eq!(s.get(&long, 0, 1), Err(StoreError::NameTooLong));
    let max = vec![b'k'; 1024];
    assert_eq!(s.put(&max, 0, b(b"v"), false), Ok(1));
}

#[test]
fn object_size_limit_is_enforced_before_allocating() {
    let s = Store::new(StoreLimits {
        max_object_bytes: 10,
        ..StoreLimits::default()
    });
    assert_eq!(s.put(b"k", 8, b(b"abc"), false), Err(StoreError::TooBig));
    assert_eq!(
        s.put(b"k", u64::MAX, b(b"a"), false),
        Err(StoreError::TooBig)
    );
    assert_eq!(s.put(b"k", 7, b(b"abc"), false), Ok(10));
}

#[test]
fn total_and_count_limits_give_nospace_and_leave_store_unchanged() {
    let s = Store::new(StoreLimits {
        max_total_bytes: 8,
        max_objects: 2,
        ..StoreLimits::default()
    });
    s.put(b"a", 0, b(b"1234"), false).unwrap();
    s.put(b"b", 0, b(b"1234"), false).unwrap();
    assert_eq!(s.put(b"a", 4, b(b"5"), false), Err(StoreError::NoSpace));
    assert_eq!(s.put(b"c", 0, b(b""), false), Err(StoreError::NoSpace));
    assert_eq!(&s.get(b"a", 0, 100).unwrap().data[..], b"1234");
    // Shrinking one object makes room in another.
    s.put(b"b", 0, b(b"1"), true).unwrap();
    assert_eq!(s.put(b"a", 4, b(b"567"), false), Ok(7));
    assert_eq!(s.total_bytes(), 8);
}

#[test]
fn read_size_is_capped() {
    let s = Store::new(StoreLimits {
        max_read_bytes: 4,
        ..StoreLimits::default()
    });
    s.put(b"k", 0, b(b"0123456789"), false).unwrap();
    let r = s.get(b"k", 0, 100).unwrap();
    assert_eq!((&r.data[..], r.eof), (&b"0123"[..], false));
}

#[test]
fn generation_counts_puts() {
    let s = store();
    s.put(b"k", 0, b(b"a"), false).unwrap();
    s.put(b"k", 1, b(b"b"), false).unwrap();
    let page = s.list(b"", b"", 0).unwrap();
    assert_eq!(page.entries.len(), 1);
    assert_eq!((page.entries[0].size, page.entries[0].generation), (2, 2));
    s.delete(b"k").unwrap();
    s.put(b"k", 0, b(b"a"), false).unwrap();
    assert_eq!(s.list(b"", b"", 0).unwrap().entries[0].generation, 1);
}

#[test]
fn list_filters_by_prefix_in_byte_order_and_pages() {
    let s = store();
    for k in ["b/2", "a/1", "b/1", "b/3", "c", "b"] {
        s.put(k.as_bytes(), 0, b(k.as_bytes()), false).unwrap();
    }
    let names = |page: &datastore::ListPage| -> Vec<String> {
        page.entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.name).into_owned())
            .collect()
    };
    let all = s.list(b"b", b"", 0).unwrap();
    assert_eq!(names(&all), ["b", "b/1", "b/2", "b/3"]);
    assert!(all.eof);

    let p1 = s.list(b"b/", b"", 2).unwrap();
    assert_eq!(
        (names(&p1), p1.eof),
        (vec!["b/1".into(), "b/2".into()], false)
    );
    let p2 = s.list(b"b/", b"b/2", 2).unwrap();
    assert_eq!((names(&p2), p2.eof), (vec!["b/3".to_string()], true));
    // Exactly filling a page: eof is still known.
    let p = s.list(b"b/", b"b/1", 2).unwrap();
    assert_eq!((names(&p), p.eof), (vec!["b/2".into(), "b/3".into()], true));
    // `after` before the prefix starts at the prefix; after it, nothing.
    assert_eq!(
        names(&s.list(b"b/", b"a", 0).unwrap()),
        ["b/1", "b/2", "b/3"]
    );
    assert!(s.list(b"b/", b"z", 0).unwrap().entries.is_empty());
    assert_eq!(s.list(b"", b"", 0).unwrap().entries.len(), 6);
}

#[test]
fn list_is_capped_by_the_server_limit() {
    let s = Store::new(StoreLimits {
        max_list_entries: 3,
        ..StoreLimits::default()
    });
    for i in 0..5 {
        s.put(format!("k{i}").as_bytes(), 0, b(b""), false).unwrap();
    }
    let p = s.list(b"", b"", 100).unwrap();
    assert_eq!((p.entries.len(), p.eof), (3, false));
}

#[test]
fn concurrent_writers_to_distinct_keys() {
    let s = std::sync::Arc::new(store());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..100u64 {
                    s.put(format!("t{t}").as_bytes(), i, b(&[t as u8]), false)
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    for t in 0..4u8 {
        let r = s.get(format!("t{t}").as_bytes(), 0, 1000).unwrap();
        assert_eq!(r.data.len(), 100);
        assert!(r.data.iter().all(|&x| x == t));
    }
    assert_eq!(s.total_bytes(), 400);
}

#[test]
fn errno_values_match_the_spec() {
    let spec =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/specs/datastore.x")).unwrap();
    for (name, e) in [
        ("DS_NOENT", StoreError::NoEntry),
        ("DS_INVAL", StoreError::Invalid),
        ("DS_FBIG", StoreError::TooBig),
        ("DS_NOSPC", StoreError::NoSpace),
        ("DS_NAMETOOLONG", StoreError::NameTooLong),
    ] {
        let needle = format!("{name} = {}", e.errno());
        assert!(spec.contains(&needle), "spec lacks `{needle}`");
    }
}
