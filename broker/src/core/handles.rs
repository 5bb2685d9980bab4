//! Typed handles: which client connection, backend, backend connection,
//! route or call an input or output is about.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

/// A client connection, allocated by [`Core::add_client`](super::Core::add_client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub(crate) u64);

/// One connection to a backend, allocated by the core when it asks for a
/// connection ([`Event::Connect`](super::Event::Connect)). A new connection
/// to the same backend gets a new handle, so inputs about an old one are
/// recognised and ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub(crate) u64);

/// A call being forwarded (internal bookkeeping, shown in events).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub(crate) u64);

/// A write fanned out to the live replicas of its key (internal
/// bookkeeping of [`AllSync`](super::all_sync::AllSync)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct FanoutId(pub(crate) u64);

pub use crate::core::route::{BackendId, RouteId};

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client#{}", self.0)
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

impl ClientId {
    /// The handle's number, unique for the core's lifetime (for logs).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl ConnId {
    /// The handle's number, unique for the core's lifetime (for logs).
    pub fn get(self) -> u64 {
        self.0
    }
}

/// A fast, deterministic hasher for maps keyed by handles and other small
/// integers (one multiply per word, no SipHash rounds). Only for maps
/// whose keys a peer cannot insert at will: handles the core hands out in
/// sequence, program numbers of the configuration, metric series of
/// configured routes. Deterministic, so iteration order (where a map is
/// iterated) depends only on the sequence of inputs.
#[derive(Debug, Default, Clone, Copy)]
pub struct HandleHasher(u64);

/// Odd multiplier of the hash (from FxHash).
const SEED: u64 = 0x517c_c1b7_2722_0a95;

impl Hasher for HandleHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(SEED);
    }
}

/// A `HashMap` with [`HandleHasher`].
pub type HandleMap<K, V> = HashMap<K, V, BuildHasherDefault<HandleHasher>>;

/// A `HashSet` with [`HandleHasher`].
pub(crate) type HandleSet<K> = HashSet<K, BuildHasherDefault<HandleHasher>>;
