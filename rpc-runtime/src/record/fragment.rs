//! Fragment headers (RFC 5531 section 11): the one place they are built
//! and read, and how a record is cut into fragments.

use super::codec::{LAST_FRAGMENT_BIT, MAX_FRAGMENT_BYTES};

/// The 4-byte header of a fragment of `len` bytes: big-endian, the
/// last-fragment bit set when `last`, the length in the low 31 bits.
/// Lengths over [`MAX_FRAGMENT_BYTES`] (2^31 - 1) cannot be described and
/// are clamped to it; [`fragment_lengths`] cuts records so that they never
/// are.
///
/// ```
/// use rpc_runtime::record::fragment_header;
///
/// assert_eq!(fragment_header(12, true), [0x80, 0, 0, 12]);
/// assert_eq!(fragment_header(0x0102_0304, false), [0x01, 0x02, 0x03, 0x04]);
/// ```
pub fn fragment_header(len: usize, last: bool) -> [u8; 4] {
    // Clamped to 31 bits, so the cast keeps every bit.
    let len = len.min(MAX_FRAGMENT_BYTES) as u32;
    let bit = if last { LAST_FRAGMENT_BIT } else { 0 };
    (bit | len).to_be_bytes()
}

/// Reads a fragment header: the fragment's length in bytes and whether it
/// is the record's last.
///
/// ```
/// use rpc_runtime::record::parse_fragment_header;
///
/// assert_eq!(parse_fragment_header([0x80, 0, 0, 12]), (12, true));
/// ```
pub fn parse_fragment_header(header: [u8; 4]) -> (usize, bool) {
    let word = u32::from_be_bytes(header);
    (
        (word & !LAST_FRAGMENT_BIT) as usize,
        word & LAST_FRAGMENT_BIT != 0,
    )
}

/// How a record of `len` bytes is cut into fragments of at most
/// `max_fragment_bytes` (taken as 1 to [`MAX_FRAGMENT_BYTES`]): the length
/// of each fragment and whether it is the last, in order. An empty record
/// is one empty last fragment.
///
/// ```
/// use rpc_runtime::record::fragment_lengths;
///
/// let cut: Vec<_> = fragment_lengths(10, 4).collect();
/// assert_eq!(cut, [(4, false), (4, false), (2, true)]);
/// assert_eq!(fragment_lengths(0, 4).collect::<Vec<_>>(), [(0, true)]);
/// ```
pub fn fragment_lengths(
    len: usize,
    max_fragment_bytes: usize,
) -> impl Iterator<Item = (usize, bool)> {
    let max = max_fragment_bytes.clamp(1, MAX_FRAGMENT_BYTES);
    let mut left = Some(len);
    std::iter::from_fn(move || {
        let l = left?;
        let n = l.min(max);
        let last = n == l;
        left = (!last).then_some(l - n);
        Some((n, last))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_read_back() {
        for (len, last) in [
            (0, true),
            (1, false),
            (MAX_FRAGMENT_BYTES, true),
            (4096, false),
        ] {
            assert_eq!(
                parse_fragment_header(fragment_header(len, last)),
                (len, last)
            );
        }
    }

    #[test]
    fn fragments_add_up_to_the_record() {
        for len in [0, 1, 3, 4, 5, 8, 1000] {
            for max in [1, 3, 4, 1024] {
                let cut: Vec<_> = fragment_lengths(len, max).collect();
                assert_eq!(cut.iter().map(|f| f.0).sum::<usize>(), len);
                assert!(cut.iter().all(|f| f.0 <= max));
                assert_eq!(cut.iter().filter(|f| f.1).count(), 1);
                assert!(cut.last().is_some_and(|f| f.1));
            }
        }
    }
}
