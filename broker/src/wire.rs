//! Writing [`Transmit`]s as records (RFC 5531 section 11 record marking)
//! without copying their payload.

use std::io;

use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::core::Transmit;

/// The last-fragment bit of a fragment header.
const LAST_FRAGMENT: u32 = 0x8000_0000;

/// Largest fragment, bytes (31 bits of length).
const MAX_FRAGMENT_BYTES: usize = 0x7fff_ffff;

/// Writes `t` as one record: the XID then the rest, in fragments of at
/// most 2^31 - 1 bytes (one fragment in practice). Does not flush.
///
/// ```text
/// +--------------------------+-----------+------------------+
/// | 1 | length (31 bits)     | XID (4)   | rest             |
/// +--------------------------+-----------+------------------+
/// ```
///
/// # Errors
///
/// The write error.
pub(crate) async fn write_transmit<W: AsyncWrite + Unpin>(
    w: &mut W,
    t: &Transmit,
) -> io::Result<()> {
    let total = t.len();
    if total <= MAX_FRAGMENT_BYTES {
        let header = LAST_FRAGMENT | total as u32;
        w.write_all(&header.to_be_bytes()).await?;
        w.write_all(&t.xid.to_be_bytes()).await?;
        return w.write_all(&t.rest).await;
    }
    // Beyond one fragment: split (records this large are refused by the
    // configuration's limit, but stay correct anyway).
    let record = t.to_record();
    let mut chunks = record.chunks(MAX_FRAGMENT_BYTES).peekable();
    while let Some(chunk) = chunks.next() {
        let last = if chunks.peek().is_none() {
            LAST_FRAGMENT
        } else {
            0
        };
        w.write_all(&(last | chunk.len() as u32).to_be_bytes())
            .await?;
        w.write_all(chunk).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Destination, Transmit};
    use bytes::Bytes;

    #[tokio::test]
    async fn one_fragment_with_the_xid_first() {
        let t = Transmit {
            destination: Destination::Backend(crate::core::ConnId(0)),
            xid: 0x0102_0304,
            rest: Bytes::from_static(b"\x00\x00\x00\x01abcd"),
        };
        let mut out = Vec::new();
        write_transmit(&mut out, &t).await.unwrap();
        assert_eq!(
            out,
            b"\x80\x00\x00\x0c\x01\x02\x03\x04\x00\x00\x00\x01abcd".to_vec()
        );
    }
}
