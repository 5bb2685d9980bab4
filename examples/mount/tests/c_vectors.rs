//! Byte-for-byte agreement with C: the XDR routines C `rpcgen` generates
//! from the same `mount.x` (compiled with libtirpc at test time) encode
//! values; our generated types must produce the same bytes, and decode the
//! C bytes back to the same values.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use mount_example::{Exportnode, Exports, Fhstatus, Groupnode, Mountbody, Mountlist};
use xdr_codec::{XdrDecode, XdrEncode};

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Builds and runs tests/c/mount_vectors.c; returns name -> bytes.
fn c_vectors() -> HashMap<String, Vec<u8>> {
    let dir = std::env::temp_dir().join(format!("mount-vectors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let x = "/usr/include/rpcsvc/mount.x";
    // rpcgen refuses to overwrite its outputs.
    let _ = std::fs::remove_file(dir.join("mount_xdr.c"));
    let _ = std::fs::remove_file(dir.join("mount.h"));
    run(Command::new("rpcgen")
        .args(["-c", "-o"])
        .arg(dir.join("mount_xdr.c"))
        .arg(x));
    run(Command::new("rpcgen")
        .args(["-h", "-o"])
        .arg(dir.join("mount.h"))
        .arg(x));
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/mount_vectors.c");
    run(Command::new("gcc")
        .arg("-I/usr/include/tirpc")
        .arg("-I")
        .arg(&dir)
        .arg("-o")
        .arg(dir.join("vectors"))
        .arg(src)
        .arg(dir.join("mount_xdr.c"))
        .arg("-ltirpc"));
    let out = run(&mut Command::new(dir.join("vectors")));
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8_lossy(&out)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(name, hex)| {
            let bytes = (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
                .collect();
            (name.to_owned(), bytes)
        })
        .collect()
}

fn check<T: XdrEncode + XdrDecode + PartialEq + std::fmt::Debug>(
    c: &HashMap<String, Vec<u8>>,
    name: &str,
    ours: &T,
) {
    let theirs = c.get(name).unwrap_or_else(|| panic!("no C vector {name}"));
    assert_eq!(
        &ours.to_xdr_bytes().expect("encode")[..],
        &theirs[..],
        "{name}: encoding"
    );
    let decoded = T::from_xdr_bytes(theirs.clone()).expect("decode C bytes");
    assert_eq!(&decoded, ours, "{name}: decoding");
}

#[test]
fn generated_types_match_rpcgen_byte_for_byte() {
    let c = c_vectors();
    let exports: Exports = vec![
        Exportnode {
            ex_dir: "/a".into(),
            ex_groups: vec![
                Groupnode {
                    gr_name: "g1".into(),
                },
                Groupnode {
                    gr_name: "g2".into(),
                },
            ]
            .into(),
        },
        Exportnode {
            ex_dir: "/bb".into(),
            ex_groups: Default::default(),
        },
    ]
    .into();
    check(&c, "exports", &exports);
    check(&c, "fhstatus_ok", &Fhstatus::FhsFhandle([7; 32]));
    check(&c, "fhstatus_err", &Fhstatus::Default(13));
    let mounts: Mountlist = vec![
        Mountbody {
            ml_hostname: "host1".into(),
            ml_directory: "/dir".into(),
        },
        Mountbody {
            ml_hostname: "h2".into(),
            ml_directory: "/d2".into(),
        },
    ]
    .into();
    check(&c, "mountlist", &mounts);
}
