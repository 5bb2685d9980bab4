//! The values of the codec benchmark. `bench/c/codec_bench.c` builds the
//! same ones in C; the hashes of the two encodings are compared before any
//! timing is reported.

use xdr_codec::{Opaque, XdrString};

use crate::proto::{BenchKind, DirEntry, DirListing, OpaqueHolder, SmallRec};

/// Length of the opaque case's data: 1 MiB.
pub const OPAQUE_BYTES: usize = 1 << 20;

/// The small struct: ints, hypers, an 18-byte string, a 12-byte opaque, a
/// bool and an enum (72 bytes encoded).
pub fn small_rec() -> SmallRec {
    SmallRec {
        id: -123_456,
        flags: 0xdead_beef,
        offset: -1_099_511_627_769,
        size: 0x0123_4567_89ab_cdef,
        name: XdrString::from("bench-small-record"),
        tag: Opaque::from((1u8..=12).collect::<Vec<u8>>()),
        active: true,
        kind: BenchKind::KindDir,
    }
}

/// A READDIR-style listing of `n` entries: entry `i` has file id
/// `1000000 + 13 i`, name `entry-%06u.dat` and cookie `2 i + 1`; `eof` set.
pub fn dir_listing(n: u32) -> DirListing {
    DirListing {
        entries: (0..n)
            .map(|i| DirEntry {
                fileid: 1_000_000 + 13 * u64::from(i),
                name: XdrString::from(format!("entry-{i:06}.dat")),
                cookie: i.wrapping_mul(2).wrapping_add(1),
            })
            .collect(),
        eof: true,
    }
}

/// 1 MiB of opaque data, byte `i` = `(i * 131 + 7) mod 256`.
pub fn opaque_holder() -> OpaqueHolder {
    OpaqueHolder {
        data: Opaque::from(
            (0..OPAQUE_BYTES)
                .map(|i| (i.wrapping_mul(131).wrapping_add(7) & 0xff) as u8)
                .collect::<Vec<u8>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use xdr_codec::{XdrDecode, XdrEncode};

    use super::*;

    #[test]
    fn values_round_trip() -> Result<(), xdr_codec::Error> {
        let s = small_rec();
        let wire = s.to_xdr_bytes()?;
        assert_eq!(wire.len(), 72);
        assert_eq!(SmallRec::from_xdr_bytes(wire)?, s);
        let l = dir_listing(3);
        assert_eq!(DirListing::from_xdr_bytes(l.to_xdr_bytes()?)?, l);
        assert_eq!(opaque_holder().to_xdr_bytes()?.len(), OPAQUE_BYTES + 4);
        Ok(())
    }
}
