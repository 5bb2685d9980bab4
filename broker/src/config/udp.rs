//! Table `[udp]`: the limits of the broker's UDP listeners
//! (`listen = ["udp://HOST:PORT"]`).

use serde::Deserialize;

/// Table `[udp]`; every key has a default.
///
/// ```toml
/// [udp]
/// max_datagram_bytes = 8800        # largest call or reply datagram
/// max_in_flight = 1024             # calls from UDP clients outstanding
/// reply_cache_entries = 1024       # replies kept for retransmissions
/// reply_cache_bytes = 4194304      # their total size
/// ```
///
/// A UDP client retransmits a call (same XID) when no reply comes in
/// time. A retransmission whose call is still being answered is dropped
/// (the reply will come); one whose call was answered recently gets the
/// reply again from the reply cache, without a second call to a backend
/// (a duplicate request cache, as NFS servers keep one).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UdpConfig {
    /// Largest datagram received or sent, in bytes (key
    /// `max_datagram_bytes`, default 8,800: libtirpc's `UDPMSGSIZE`, what
    /// its UDP clients read and its UDP servers send at most). Larger
    /// calls are dropped; a reply that does not fit is answered
    /// SYSTEM_ERR, as a libtirpc UDP server does.
    pub max_datagram_bytes: usize,
    /// Calls from UDP clients outstanding at once, over all UDP listeners
    /// of the broker (key `max_in_flight`, default 1,024, at most 2^20);
    /// the broker reads no further datagram until one is answered (they
    /// wait in, and are dropped by, the kernel's socket buffer). Each
    /// client (address and port) may also have at most
    /// `limits.max_in_flight_per_client` of them.
    pub max_in_flight: usize,
    /// Replies kept for retransmitted calls (key `reply_cache_entries`,
    /// default 1,024; 0 turns the cache off). The oldest go first.
    pub reply_cache_entries: usize,
    /// Total size of the replies kept, in bytes (key
    /// `reply_cache_bytes`, default 4 MiB).
    pub reply_cache_bytes: usize,
}

impl Default for UdpConfig {
    fn default() -> Self {
        UdpConfig {
            max_datagram_bytes: 8800,
            max_in_flight: 1024,
            reply_cache_entries: 1024,
            reply_cache_bytes: 4 * 1024 * 1024,
        }
    }
}

impl UdpConfig {
    /// The first key out of range and why, if any.
    pub(crate) fn check(&self) -> Option<(&'static str, &'static str)> {
        if !(64..=65_507).contains(&self.max_datagram_bytes) {
            return Some(("max_datagram_bytes", "must be from 64 to 65507"));
        }
        if self.max_in_flight == 0 || self.max_in_flight > 1 << 20 {
            return Some(("max_in_flight", "must be from 1 to 1048576"));
        }
        None
    }
}
