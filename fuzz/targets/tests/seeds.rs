//! The seed corpora in `fuzz/corpus/NAME/`: real encodings, made by the
//! project's encoders or written word by word after the `.x` files and
//! checked with the generated decoders. The seeds are committed; this
//! test checks that they are what the code below makes, and rewrites them
//! with `FUZZ_WRITE_SEEDS=1 cargo test -p fuzz-targets --test seeds`.

use std::path::Path;

use bytes::{BufMut, Bytes, BytesMut};
use fuzz_targets::spec_types::SPECS;
use rpc_runtime::message::{
    AcceptStat, AuthStat, AuthSysParams, CallHeader, Credentials, OpaqueAuth, RejectStat,
    ReplyHeader,
};
use rpc_runtime::record::RecordCodec;
use tokio_util::codec::Encoder;
use xdr_codec::{XdrDecode, XdrEncode};

#[test]
fn committed_seeds_are_the_generated_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    let write = std::env::var_os("FUZZ_WRITE_SEEDS").is_some();
    for (target, seeds) in [
        ("record_marking", record_marking()),
        ("rpc_message", rpc_message()),
        ("spec_types", spec_types()),
        ("xdr_compiler", xdr_compiler()),
        ("broker_core", broker_core()),
    ] {
        let dir = root.join(target);
        for (name, bytes) in seeds {
            let path = dir.join(format!("seed-{name}"));
            if write {
                std::fs::create_dir_all(&dir).expect("corpus folder");
                std::fs::write(&path, &bytes).expect("seed written");
            }
            let committed = std::fs::read(&path).unwrap_or_else(|e| {
                panic!("{}: {e} (FUZZ_WRITE_SEEDS=1 writes it)", path.display())
            });
            assert_eq!(committed, bytes, "{} is stale", path.display());
        }
    }
}

type Seeds = Vec<(&'static str, Vec<u8>)>;

fn call(xid: u32, program: u32, procedure: u32, sys: bool, args: &[u8]) -> Vec<u8> {
    let credentials = if sys {
        Credentials::Sys(AuthSysParams {
            stamp: 0x5f5e_1000,
            machine_name: "client1".into(),
            uid: 1000,
            gid: 100,
            gids: vec![100, 27],
        })
        .to_opaque_auth()
        .expect("AUTH_SYS encodes")
    } else {
        OpaqueAuth::none()
    };
    let header = CallHeader::new(xid, program, 1, procedure, credentials);
    let mut out = header.to_xdr_bytes().expect("header encodes").to_vec();
    out.extend_from_slice(args);
    out
}

fn reply(header: ReplyHeader, results: &[u8]) -> Vec<u8> {
    let mut out = header.to_xdr_bytes().expect("header encodes").to_vec();
    out.extend_from_slice(results);
    out
}

/// XDR written word by word (RFC 4506).
#[derive(Default)]
struct Xdr(BytesMut);

impl Xdr {
    fn u32(mut self, v: u32) -> Self {
        self.0.put_u32(v);
        self
    }
    fn u64(mut self, v: u64) -> Self {
        self.0.put_u64(v);
        self
    }
    fn opaque(mut self, v: &[u8]) -> Self {
        self.0.put_u32(v.len() as u32);
        self.fixed(v)
    }
    fn fixed(mut self, v: &[u8]) -> Self {
        self.0.put_slice(v);
        self.0.put_bytes(0, xdr_codec::padding(v.len()));
        self
    }
    fn done(self) -> Vec<u8> {
        self.0.to_vec()
    }
}

fn put_args() -> Vec<u8> {
    Xdr::default()
        .opaque(b"alpha")
        .u64(0)
        .u32(1)
        .opaque(b"hello, world")
        .done()
}

fn record_marking() -> Seeds {
    let put = call(1, 0x2000_DA7A, 1, true, &put_args());
    let null = call(2, 0x2000_DA7A, 0, false, &[]);
    let mut seeds = Vec::new();
    // [limit selector, fragment size, chunking seed, stream]: the default
    // 4096-byte limit, then the 16-byte one that the call exceeds.
    for (name, limit, fragment, records) in [
        ("one-fragment", 3u8, 255usize, vec![&put]),
        ("small-fragments", 3, 7, vec![&put, &null]),
        ("empty-fragment", 3, 0, vec![&null]),
        ("over-limit", 1, 255, vec![&put]),
    ] {
        let mut codec = RecordCodec::builder()
            .max_fragment_bytes(fragment.max(1))
            .new_codec();
        let mut wire = BytesMut::from(&[limit, fragment as u8, 0x12, 0x34, 0x56, 0x78][..]);
        for r in records {
            codec
                .encode(Bytes::copy_from_slice(r), &mut wire)
                .expect("record encodes");
        }
        if name == "empty-fragment" {
            // A record split as an empty non-last fragment, then the rest.
            let mut w = BytesMut::from(&wire[..6]);
            w.put_u32(0);
            w.put_u32(0x8000_0000 | null.len() as u32);
            w.put_slice(&null);
            w.put_u32(0x8000_0000); // an empty record
            w.put_slice(&[0x80, 0]); // and a header cut short
            wire = w;
        }
        seeds.push((name, wire.to_vec()));
    }
    seeds
}

fn rpc_message() -> Seeds {
    vec![
        ("call-auth-sys", call(7, 0x2000_DA7A, 1, true, &put_args())),
        ("call-auth-none", call(8, 100_003, 0, false, &[])),
        (
            "reply-success",
            reply(ReplyHeader::accepted(7, AcceptStat::Success), &[0, 0, 0, 0]),
        ),
        (
            "reply-prog-mismatch",
            reply(
                ReplyHeader::accepted(9, AcceptStat::ProgMismatch { low: 1, high: 3 }),
                &[],
            ),
        ),
        (
            "reply-rpc-mismatch",
            reply(
                ReplyHeader::denied(10, RejectStat::RpcMismatch { low: 2, high: 2 }),
                &[],
            ),
        ),
        (
            "reply-auth-error",
            reply(
                ReplyHeader::denied(11, RejectStat::AuthError(AuthStat::TooWeak)),
                &[],
            ),
        ),
    ]
}

/// A seed for `spec_types`: the selector of type `name` and an encoding
/// of it, checked to decode to its end and re-encode the same.
fn typed<T: XdrDecode + XdrEncode>(name: &str, encoding: Vec<u8>) -> Vec<u8> {
    let selector = SPECS
        .iter()
        .flat_map(|(_, types)| types.iter())
        .position(|t| *t == name)
        .unwrap_or_else(|| panic!("{name} is not a fuzzed type"));
    let value = T::from_xdr_slice(&encoding).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        value.to_xdr_bytes().expect("encodes")[..],
        encoding[..],
        "{name}"
    );
    let mut seed = vec![u8::try_from(selector).expect("fewer than 256 types")];
    seed.extend(encoding);
    seed
}

fn spec_types() -> Seeds {
    use datastore::proto as ds;
    use nfs3::{mount, nfs};
    use rpc_runtime::message::wire;
    use rpc_runtime::rpcbind::proto::portmap;
    let entry =
        |x: Xdr, name: &[u8], more: bool| x.opaque(name).u64(42).u64(3).u32(u32::from(more));
    let list = entry(
        entry(Xdr::default().u32(0).u32(1), b"a/1", true),
        b"a/2",
        false,
    )
    .u32(1)
    .done();
    let readdir = Xdr::default()
        .u32(0) // NFS3_OK
        .u32(0) // no directory attributes
        .fixed(&[7; 8]) // cookieverf3
        .u32(1)
        .u64(3)
        .opaque(b"file.txt")
        .u64(1)
        .u32(1)
        .u64(4)
        .opaque(b"dir")
        .u64(2)
        .u32(0)
        .u32(1) // eof
        .done();
    let lookup = Xdr::default()
        .opaque(&[1, 2, 3, 4, 5, 6, 7, 8])
        .opaque(b"name")
        .done();
    let exports = Xdr::default()
        .u32(1)
        .opaque(b"/export")
        .u32(1)
        .opaque(b"clients")
        .u32(0)
        .u32(0)
        .done();
    let pmaplist = Xdr::default()
        .u32(1)
        .u32(100_000)
        .u32(2)
        .u32(6)
        .u32(111)
        .u32(0)
        .done();
    vec![
        (
            "ds-put-args",
            typed::<ds::DsPutArgs>("DsPutArgs", put_args()),
        ),
        ("ds-list-res", typed::<ds::DsListRes>("DsListRes", list)),
        (
            "nfs-readdir3res",
            typed::<nfs::Readdir3res>("Readdir3res", readdir),
        ),
        (
            "nfs-diropargs3",
            typed::<nfs::Diropargs3>("Diropargs3", lookup),
        ),
        ("mount-exports", typed::<mount::Exports>("Exports", exports)),
        (
            "portmap-pmaplist",
            typed::<portmap::Pmaplist>("Pmaplist", pmaplist),
        ),
        (
            "rpc-msg-call",
            typed::<wire::RpcMsg>("RpcMsg", call(5, 100_005, 1, true, &[])),
        ),
    ]
}

fn xdr_compiler() -> Seeds {
    let mount =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nfs3/specs/mount3.x"))
            .expect("mount3.x");
    let features = b"#define N 4\n#ifdef N\nconst MAX = N * 2;\n#endif\n\
typedef opaque handle[8];\nenum color { RED = 1, GREEN = 2 };\n\
struct item { string name<MAX>; int values<>; item *next; };\n\
union pick switch (color c) { case RED: hyper h; case GREEN: void; default: bool b; };\n\
program P { version V { pick GET(item) = 1; } = 1; } = 0x20000001;\n"
        .to_vec();
    let broken =
        b"struct s { int a; unknown_type b; };\nenum e { A = 1, A = 2 };\nconst C = 1 << 70;\n"
            .to_vec();
    vec![
        ("mount3", mount),
        ("features", features),
        ("errors", broken),
    ]
}

fn broker_core() -> Seeds {
    // Operations (see the target): [0] a client connects; [1, client,
    // shape, n, n bytes] a call; [2, connection, shape, status, n, n bytes]
    // a backend reply; [3, connection] close it; [4, connection] it fails;
    // [5, client] the client closes; [6 or 7, t] 4t ms pass.
    let key = [0, 0, 0, 4, b'k', b'e', b'y', b'1'];
    let mut calls = vec![0];
    // A keyed write (XID 0) and read (XID 1) on program 100, a NULL call
    // (XID 2) to program 200.
    calls.extend([1, 0, 0x10, 8]);
    calls.extend(key);
    calls.extend([1, 0, 0x21, 8]);
    calls.extend(key);
    calls.extend([1, 0, 0x06, 0]);
    // Each connection answers its newest call with SUCCESS, then time passes.
    for conn in 0..4 {
        calls.extend([2, conn, 0, 0, 0]);
    }
    calls.extend([6, 100, 6, 255]);
    let mut churn = vec![0, 0];
    churn.extend([1, 0, 0x10, 8]);
    churn.extend(key);
    churn.extend([1, 1, 0x21, 8]);
    churn.extend(key);
    // A connection closes, another fails, a NOENT reply, a client leaves.
    churn.extend([
        3, 0, 4, 1, 2, 2, 0, 2, 0, 5, 0, 7, 255, 1, 0, 0x80, 4, 1, 2, 3, 4,
    ]);
    vec![("calls", calls), ("churn", churn)]
}
