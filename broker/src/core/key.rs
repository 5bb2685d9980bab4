//! Reading the routing key out of a call record without decoding it.

/// Largest credential or verifier body, bytes (RFC 5531 section 8.2).
const MAX_AUTH_BODY_BYTES: usize = 400;

fn word(record: &[u8], at: usize) -> Option<(u32, usize)> {
    let end = at.checked_add(4)?;
    let b: [u8; 4] = record.get(at..end)?.try_into().ok()?;
    Some((u32::from_be_bytes(b), end))
}

fn padded(len: usize) -> Option<usize> {
    len.checked_add(3).map(|n| n & !3)
}

/// Skips one `opaque_auth` (flavor, length, body padded to 4 bytes) at
/// `at`, returning the offset after it.
fn skip_auth(record: &[u8], at: usize) -> Option<usize> {
    let (_flavor, at) = word(record, at)?;
    let (len, at) = word(record, at)?;
    let len = usize::try_from(len).ok()?;
    if len > MAX_AUTH_BODY_BYTES {
        return None;
    }
    let end = at.checked_add(padded(len)?)?;
    (end <= record.len()).then_some(end)
}

/// The first argument of a CALL record read as an XDR variable-length
/// opaque or string (`opaque<>`, `string<>`: a 4-byte length, then the
/// bytes): a slice of `record`, not a copy. The call header (24 bytes),
/// credential and verifier are skipped without being checked.
///
/// Returns `None` when the record is too short, an auth body is over 400
/// bytes, or the length is over `max_key_bytes`.
pub fn first_opaque_arg(record: &[u8], max_key_bytes: usize) -> Option<&[u8]> {
    let at = skip_auth(record, 24)?;
    let at = skip_auth(record, at)?;
    let (len, at) = word(record, at)?;
    let len = usize::try_from(len).ok()?;
    if len > max_key_bytes {
        return None;
    }
    record.get(at..at.checked_add(len)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(cred_len: u32, key: &[u8]) -> Vec<u8> {
        let mut r = Vec::new();
        for w in [7u32, 0, 2, 100, 1, 2, 1, cred_len] {
            r.extend_from_slice(&w.to_be_bytes());
        }
        r.extend(std::iter::repeat_n(0xAB, ((cred_len + 3) & !3) as usize));
        for w in [0u32, 0, key.len() as u32] {
            r.extend_from_slice(&w.to_be_bytes());
        }
        r.extend_from_slice(key);
        r.extend(std::iter::repeat_n(0, (4 - key.len() % 4) % 4));
        r.extend_from_slice(&9u64.to_be_bytes());
        r
    }

    #[test]
    fn finds_the_key_after_any_credential() {
        for cred in [0u32, 1, 5, 20, 400] {
            let r = call(cred, b"user/42");
            assert_eq!(first_opaque_arg(&r, 1024), Some(&b"user/42"[..]), "{cred}");
        }
        assert_eq!(first_opaque_arg(&call(0, b""), 1024), Some(&b""[..]));
    }

    #[test]
    fn refuses_truncated_and_oversized() {
        let r = call(8, b"abcdef");
        for n in 0..r.len() - 8 - 2 {
            let got = first_opaque_arg(&r[..n], 1024);
            assert!(got.is_none(), "{n}: {got:?}");
        }
        assert_eq!(first_opaque_arg(&r, 5), None);
        assert_eq!(first_opaque_arg(&call(401, b"k"), 1024), None);
        let mut huge = call(0, b"k");
        huge[40..44].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(first_opaque_arg(&huge, usize::MAX), None);
    }
}
