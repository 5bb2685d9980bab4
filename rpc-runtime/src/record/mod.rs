//! Record marking for stream transports (RFC 5531 section 11): a
//! [`tokio_util::codec`] [`Decoder`](tokio_util::codec::Decoder) and
//! [`Encoder`](tokio_util::codec::Encoder), [`RecordCodec`].
//!
//! On TCP and Unix stream sockets each RPC message is sent as one
//! *record*, cut into one or more *fragments*. Each fragment starts with
//! a 4-byte big-endian header: the high bit is the last-fragment bit, the
//! low 31 bits the fragment's length in bytes.
//!
//! ```text
//! one record of N + M bytes in two fragments:
//!
//! +-+----------------+------------+-+----------------+------------+
//! |0|     N (31)     |  N bytes   |1|     M (31)     |  M bytes   |
//! +-+----------------+------------+-+----------------+------------+
//!  ^ last-fragment bit clear       ^ last-fragment bit set
//! ```
//!
//! [`fragment_header`] builds every fragment header written (by the
//! codec, the client, the server and the broker alike),
//! [`parse_fragment_header`] reads them, and [`fragment_lengths`] cuts a
//! record into fragments.
//!
//! [`Outbox`] queues and writes records for every stream writer (the
//! client, the server and the broker): vectored writes, large payloads
//! by reference, and the byte and stall accounting their limits use.
//!
//! The decoder yields each reassembled record as [`bytes::Bytes`]. It
//! checks every fragment header against the record size limit before
//! buffering the fragment, so a peer cannot make it allocate more than
//! [`RecordCodecBuilder::max_record_bytes`] per connection.

mod codec;
mod error;
mod fragment;
mod outbox;
mod reader;

pub use codec::{
    RecordCodec, RecordCodecBuilder, DEFAULT_MAX_RECORD_BYTES, LAST_FRAGMENT_BIT,
    MAX_FRAGMENT_BYTES,
};
pub use error::RecordError;
pub use fragment::{fragment_header, fragment_lengths, parse_fragment_header};
pub use outbox::{Outbox, COPY_BELOW_BYTES};
pub use reader::{RecordReader, Reservation};
