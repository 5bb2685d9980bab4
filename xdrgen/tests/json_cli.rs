//! `xdrgen decode`, `encode` and `decode-rpc` as a user runs them: error
//! messages (offset and field path) snapshot-tested, hex and raw input,
//! and an RPC stream of calls and replies in one and in many fragments.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

const MOUNT3: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../nfs3/specs/mount3.x");

fn xdrgen(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xdrgen"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run xdrgen");
    // xdrgen may exit before reading: ignore EPIPE.
    let _ = child.stdin.take().expect("stdin").write_all(stdin);
    child.wait_with_output().expect("wait")
}

/// Big-endian XDR words, strings and opaque data for hand-built inputs.
#[derive(Default)]
struct Xdr(Vec<u8>);

impl Xdr {
    fn u32(mut self, w: u32) -> Self {
        self.0.extend_from_slice(&w.to_be_bytes());
        self
    }
    fn bytes(mut self, b: &[u8]) -> Self {
        self = self.u32(b.len() as u32);
        self.0.extend_from_slice(b);
        self.0.resize(self.0.len().next_multiple_of(4), 0);
        self
    }
    fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Runs `decode` with hex input; the status and standard error.
fn decode_err(spec: &str, ty: &str, input: &Xdr, extra: &[&str]) -> String {
    let mut args = vec!["decode", spec, ty, "--hex"];
    args.extend_from_slice(extra);
    let o = xdrgen(&args, input.hex().as_bytes());
    assert!(
        !o.status.success(),
        "decoded: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(o.stdout.is_empty());
    format!(
        "{} {} => {}",
        ty,
        input.hex(),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn encode_err(ty: &str, json: &str) -> String {
    let o = xdrgen(&["encode", MOUNT3, ty, "--hex"], json.as_bytes());
    assert!(
        !o.status.success(),
        "encoded: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    format!("{ty} {json} => {}", String::from_utf8_lossy(&o.stderr))
}

#[test]
fn malformed_bytes_give_the_offset_and_the_field_path() {
    let exports = Xdr::default()
        .u32(1)
        .bytes(b"/a")
        .u32(1)
        .bytes(b"x")
        .u32(1)
        .u32(300); // gr_name longer than MNTNAMLEN
    let ok = Xdr::default().u32(0).bytes(&[1, 2]).u32(1).u32(1);
    let mut short = Xdr(ok.0.clone());
    short.0.truncate(ok.0.len() - 2);
    let mut bad_padding = Xdr(ok.0.clone());
    bad_padding.0[10] = 0xff;
    let report = [
        decode_err(MOUNT3, "mountres3", &Xdr::default().u32(3), &[]),
        decode_err(MOUNT3, "exports", &exports, &[]),
        decode_err(MOUNT3, "mountres3", &short, &[]),
        decode_err(MOUNT3, "mountres3", &bad_padding, &[]),
        decode_err(MOUNT3, "mountres3", &Xdr(ok.0.clone()).u32(0), &[]),
        decode_err(MOUNT3, "mountres4", &ok, &[]),
        decode_err(MOUNT3, "exports", &Xdr::default().u32(1).u32(u32::MAX), &[]),
    ]
    .join("");
    insta::assert_snapshot!("decode_errors", report);
}

#[test]
fn trailing_bytes_are_allowed_on_request() {
    let ok = Xdr::default().u32(2).u32(0xdead);
    let o = xdrgen(
        &[
            "decode",
            MOUNT3,
            "mountres3",
            "--hex",
            "--allow-trailing",
            "--compact",
        ],
        ok.hex().as_bytes(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "{\"fhs_status\":\"MNT3ERR_NOENT\"}\n"
    );
}

#[test]
fn deep_recursion_is_refused_not_overflowed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("tree.x");
    std::fs::write(&spec, "struct tree { tree *left; tree *right; int v; };\n").expect("spec");
    let spec = spec.to_str().expect("utf-8 path");
    // 100,000 left children: far past the depth limit.
    let mut deep = Xdr::default();
    for _ in 0..100_000 {
        deep = deep.u32(1);
    }
    let err = decode_err(spec, "tree", &deep, &[]);
    let (_, message) = err.split_once(" => ").expect("message");
    assert!(
        message.starts_with("error: at byte 400, tree.left.left."),
        "{message}"
    );
    assert!(
        message.contains("nesting deeper than 100 levels"),
        "{message}"
    );
}

#[test]
fn json_that_does_not_fit_the_type_is_refused_precisely() {
    let report = [
        encode_err("mountres3", r#"{"fhs_status": "MNT3_FINE"}"#),
        encode_err("mountres3", r#"{"fhs_status": "MNT3_OK"}"#),
        encode_err(
            "mountres3",
            r#"{"fhs_status": "MNT3_OK", "mountinfo": {"fhandle": "zz", "auth_flavors": []}}"#,
        ),
        encode_err(
            "mountres3",
            &format!(
                r#"{{"fhs_status": "MNT3_OK", "mountinfo": {{"fhandle": "{}", "auth_flavors": []}}}}"#,
                "ab".repeat(65)
            ),
        ),
        encode_err(
            "mountres3",
            r#"{"fhs_status": "MNT3_OK", "mountinfo": {"fhandle": "", "auth_flavors": [4294967296]}}"#,
        ),
        encode_err("mountres3", r#"{"fhs_status": "MNT3ERR_IO", "mountinfo": {}}"#),
        encode_err("exports", r#"[{"ex_dir": "/a", "ex_groups": [{"gr_name": 7}]}]"#),
        encode_err("exports", r#"[{"ex_dir": "/a", "ex_groups": [], "ex_next": null}]"#),
        encode_err("exports", "[{"),
    ]
    .join("");
    insta::assert_snapshot!("encode_errors", report);
}

#[test]
fn raw_and_hex_bytes_round_trip_through_json() {
    let v = json!({
        "fhs_status": "MNT3_OK",
        "mountinfo": {"fhandle": "00112233445566", "auth_flavors": [1, 390003, -7]}
    });
    let raw = xdrgen(&["encode", MOUNT3, "mountres3"], v.to_string().as_bytes());
    assert!(
        raw.status.success(),
        "{}",
        String::from_utf8_lossy(&raw.stderr)
    );
    let wire = Xdr::default()
        .u32(0)
        .bytes(&[0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66])
        .u32(3)
        .u32(1)
        .u32(390003)
        .u32(-7i32 as u32);
    assert_eq!(raw.stdout, wire.0);
    let hex = xdrgen(
        &["encode", MOUNT3, "mountres3", "--hex"],
        v.to_string().as_bytes(),
    );
    assert_eq!(
        String::from_utf8_lossy(&hex.stdout),
        format!("{}\n", wire.hex())
    );
    let back = xdrgen(&["decode", MOUNT3, "mountres3"], &raw.stdout);
    assert!(
        back.status.success(),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    let back: Value = serde_json::from_slice(&back.stdout).expect("JSON");
    assert_eq!(back, v);
}

/// Record marking: `record` as fragments of at most `size` bytes.
fn fragments(record: &[u8], size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let chunks: Vec<&[u8]> = record.chunks(size).collect();
    for (i, c) in chunks.iter().enumerate() {
        let last = if i + 1 == chunks.len() {
            0x8000_0000
        } else {
            0
        };
        out.extend_from_slice(&(last | c.len() as u32).to_be_bytes());
        out.extend_from_slice(c);
    }
    out
}

fn messages(stdout: &[u8]) -> Vec<Value> {
    serde_json::Deserializer::from_slice(stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .expect("JSON messages")
}

#[test]
fn decode_rpc_prints_calls_and_replies_matched_by_xid() {
    let auth_sys = Xdr::default()
        .u32(7)
        .bytes(b"client")
        .u32(1000)
        .u32(100)
        .u32(2)
        .u32(100)
        .u32(4);
    let mnt_call = Xdr::default()
        .u32(0x1234)
        .u32(0) // CALL
        .u32(2)
        .u32(100_005)
        .u32(3)
        .u32(1) // MOUNTPROC3_MNT
        .u32(1) // AUTH_SYS
        .bytes(&auth_sys.0)
        .u32(0)
        .u32(0) // AUTH_NONE verifier
        .bytes(b"/export");
    let other_call = Xdr::default()
        .u32(0x99)
        .u32(0)
        .u32(2)
        .u32(100_005)
        .u32(3)
        .u32(0) // MOUNTPROC3_NULL
        .u32(0)
        .u32(0)
        .u32(0)
        .u32(0);
    let mnt_reply = Xdr::default()
        .u32(0x1234)
        .u32(1) // REPLY
        .u32(0) // MSG_ACCEPTED
        .u32(0)
        .u32(0)
        .u32(0) // SUCCESS
        .u32(0) // MNT3_OK
        .bytes(&[0xab, 0xcd])
        .u32(1)
        .u32(1);
    let denied = Xdr::default()
        .u32(0x5555)
        .u32(1)
        .u32(1) // MSG_DENIED
        .u32(1) // AUTH_ERROR
        .u32(5); // AUTH_TOOWEAK
    let records = [&mnt_call, &other_call, &mnt_reply, &denied];
    let expected = [
        json!({
            "xid": 0x1234, "message": "CALL",
            "program": "MOUNT_PROGRAM", "version": "MOUNT_V3", "procedure": "MOUNTPROC3_MNT",
            "credential": {
                "flavor": "AUTH_SYS", "stamp": 7, "machinename": "client",
                "uid": 1000, "gid": 100, "gids": [100, 4]
            },
            "verifier": {"flavor": "AUTH_NONE"},
            "arguments": ["/export"]
        }),
        json!({
            "xid": 0x99, "message": "CALL",
            "program": "MOUNT_PROGRAM", "version": "MOUNT_V3", "procedure": "MOUNTPROC3_NULL",
            "credential": {"flavor": "AUTH_NONE"}, "verifier": {"flavor": "AUTH_NONE"},
            "arguments": []
        }),
        json!({
            "xid": 0x1234, "message": "REPLY",
            "program": "MOUNT_PROGRAM", "version": "MOUNT_V3", "procedure": "MOUNTPROC3_MNT",
            "reply_stat": "MSG_ACCEPTED", "verifier": {"flavor": "AUTH_NONE"},
            "accept_stat": "SUCCESS",
            "result": {"fhs_status": "MNT3_OK", "mountinfo": {"fhandle": "abcd", "auth_flavors": [1]}}
        }),
        json!({
            "xid": 0x5555, "message": "REPLY", "call": null,
            "reply_stat": "MSG_DENIED", "reject_stat": "AUTH_ERROR", "auth_stat": "AUTH_TOOWEAK"
        }),
    ];
    // Each record in one fragment, and in fragments of 5 bytes.
    for size in [usize::MAX, 5] {
        let stream: Vec<u8> = records
            .iter()
            .flat_map(|r| fragments(&r.0, size.min(r.0.len())))
            .collect();
        let o = xdrgen(&["decode-rpc", MOUNT3], &stream);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(messages(&o.stdout), expected, "fragments of {size} bytes");
    }

    // Arguments that do not decode, a program the spec does not define.
    let bad_args = Xdr::default()
        .u32(0x77)
        .u32(0)
        .u32(2)
        .u32(100_005)
        .u32(3)
        .u32(3) // MOUNTPROC3_UMNT
        .u32(0)
        .u32(0)
        .u32(0)
        .u32(0)
        .u32(2000); // dirpath longer than MNTPATHLEN
    let unknown = Xdr::default()
        .u32(0x78)
        .u32(0)
        .u32(2)
        .u32(100_003)
        .u32(3)
        .u32(1)
        .u32(0)
        .u32(0)
        .u32(0)
        .u32(0)
        .u32(0xabcd);
    let stream: Vec<u8> = [&bad_args, &unknown]
        .iter()
        .flat_map(|r| fragments(&r.0, r.0.len()))
        .collect();
    let o = xdrgen(&["decode-rpc", MOUNT3], &stream);
    assert!(!o.status.success());
    let got = messages(&o.stdout);
    assert_eq!(got[0]["procedure"], "MOUNTPROC3_UMNT");
    assert_eq!(
        got[0]["error"],
        "argument 0: at byte 40, MOUNTPROC3_UMNT: length 2000 exceeds the maximum 1024"
    );
    assert_eq!(got[1]["program"], 100_003);
    assert_eq!(got[1]["procedure"], 1);
    assert_eq!(got[1]["arguments_hex"], "0000abcd");
    assert!(got[1].get("error").is_none());

    // A cut-off stream: the messages before the break, then the error.
    let mut cut = fragments(&mnt_call.0, 8);
    cut.extend_from_slice(&fragments(&mnt_reply.0, 1000)[..10]);
    let o = xdrgen(&["decode-rpc", MOUNT3, "--compact"], &cut);
    assert!(!o.status.success());
    assert_eq!(messages(&o.stdout), expected[..1]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("fragment of 44 bytes, only 6 left in the stream"),
        "{err}"
    );
}

#[test]
fn help_lists_the_subcommands_and_files_named_like_them_still_compile() {
    let help = xdrgen(&["--help"], b"");
    let help = String::from_utf8_lossy(&help.stdout);
    for sub in ["decode ", "encode ", "decode-rpc "] {
        assert!(
            help.contains(&format!("\n  {sub}")),
            "{sub} missing from:\n{help}"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(MOUNT3, dir.path().join("decode")).expect("copy");
    let o = Command::new(env!("CARGO_BIN_EXE_xdrgen"))
        .current_dir(dir.path())
        .args(["./decode", "--emit", "types"])
        .output()
        .expect("run xdrgen");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("pub enum Mountstat3"));
    // After a first input, `decode` is another input file.
    let o = Command::new(env!("CARGO_BIN_EXE_xdrgen"))
        .current_dir(dir.path())
        .args([MOUNT3, "decode", "--emit", "types"])
        .output()
        .expect("run xdrgen");
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("defined more than once"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
