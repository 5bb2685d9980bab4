//! `include_xdr!` in use: the project's data-store spec expanded in place,
//! its types encoding, and its client talking to its server.

mod datastore {
    xdrgen_macros::include_xdr!("../datastore/specs/datastore.x");
}

mod lists {
    xdrgen_macros::include_xdr!("../xdrgen/tests/specs/lists.x", emit = "types");
}

use xdr_codec::{XdrDecode, XdrEncode};

#[test]
fn expanded_types_encode_and_decode() {
    let key = datastore::DsKey::from("k1");
    let bytes = key.to_xdr_bytes().expect("encode");
    assert_eq!(&bytes[..], b"\0\0\0\x02k1\0\0");
    assert_eq!(
        datastore::DsKey::from_xdr_bytes(bytes).expect("decode"),
        key
    );
}

#[test]
fn types_only_expansion_needs_no_runtime() {
    // `lists.x` expanded with `emit = "types"`: only xdr-codec items.
    let _ = std::mem::size_of::<lists::Chain>();
}

mod datastore_serde {
    xdrgen_macros::include_xdr!(
        "../datastore/specs/datastore.x",
        emit = "types",
        serde = true
    );
}

/// `serde = true`: the generated types go through a serde format (TOML
/// here) and come back equal, and encode to the same XDR.
#[test]
fn serde_derive_round_trips() {
    use datastore_serde::{DsPutArgs, DsPutRes, DsStatus};
    let args = DsPutArgs {
        key: "k1".into(),
        offset: 1 << 40,
        truncate: true,
        data: vec![0u8, 1, 0xff].into(),
    };
    let text = toml::to_string(&args).expect("to toml");
    let back: DsPutArgs = toml::from_str(&text).expect("from toml");
    assert_eq!(back, args);
    assert_eq!(back.to_xdr_bytes().ok(), args.to_xdr_bytes().ok());

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Wrap {
        res: DsPutRes,
        status: DsStatus,
    }
    let w = Wrap {
        res: DsPutRes::Default(DsStatus::DsNoent),
        status: DsStatus::DsOk,
    };
    let text = toml::to_string(&w).expect("to toml");
    assert_eq!(toml::from_str::<Wrap>(&text).expect("from toml"), w);
}

mod datastore_arbitrary {
    xdrgen_macros::include_xdr!(
        "../datastore/specs/datastore.x",
        emit = "types",
        arbitrary = true
    );
}

/// `arbitrary = true`: values made from fixed bytes encode and decode
/// back equal.
#[test]
fn arbitrary_values_round_trip() {
    use arbitrary::{Arbitrary, Unstructured};
    use datastore_arbitrary::DsListRes;
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut u = Unstructured::new(&bytes);
    let mut made = 0;
    while let Ok(v) = DsListRes::arbitrary(&mut u) {
        let wire = v.to_xdr_bytes().expect("an arbitrary value encodes");
        assert_eq!(DsListRes::from_xdr_bytes(wire).expect("and decodes"), v);
        made += 1;
        if u.is_empty() {
            break;
        }
    }
    assert!(made > 0);
}

/// A union's `Default` variant cannot carry a discriminant that a `case`
/// names: its bytes would decode as that case.
#[test]
fn default_arm_refuses_a_case_discriminant() {
    use datastore::{DsPutRes, DsStatus};
    let err = DsPutRes::Default(DsStatus::DsOk)
        .to_xdr_bytes()
        .expect_err("DS_OK names a case");
    assert_eq!(
        err.kind(),
        &xdr_codec::ErrorKind::DefaultArmDiscriminant {
            type_name: "ds_put_res",
            value: 0
        }
    );
    assert_eq!(err.path().collect::<Vec<_>>(), ["DsPutRes.status"]);
    let ok = DsPutRes::Default(DsStatus::DsIo)
        .to_xdr_bytes()
        .expect("encode");
    assert_eq!(&ok[..], &[0, 0, 0, 5]);
    assert_eq!(
        DsPutRes::from_xdr_bytes(ok).expect("decode"),
        DsPutRes::Default(DsStatus::DsIo)
    );
}
