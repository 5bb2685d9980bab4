//! [`StoreLimits`]: the bounds a [`Store`](crate::Store) enforces.

use crate::proto::{DS_MAXDATA, DS_MAXKEY};

/// The bounds a [`Store`](crate::Store) enforces. Every field has a
/// documented default ([`StoreLimits::default`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreLimits {
    /// Longest key accepted, in bytes. Default and protocol maximum:
    /// [`DS_MAXKEY`] (1024).
    pub max_key_bytes: usize,
    /// Largest object, in bytes. Default 64 MiB.
    pub max_object_bytes: u64,
    /// Most bytes held in all objects together. Default 1 GiB.
    pub max_total_bytes: u64,
    /// Most objects held. Default 1,000,000.
    pub max_objects: usize,
    /// Most bytes one read returns. Default and protocol maximum:
    /// [`DS_MAXDATA`] (4 MiB).
    pub max_read_bytes: usize,
    /// Most entries one listing returns. Default 1,000 (C `rpcgen`
    /// clients decode lists recursively, so long lists cost them stack).
    pub max_list_entries: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            max_key_bytes: DS_MAXKEY as usize,
            max_object_bytes: 64 * 1024 * 1024,
            max_total_bytes: 1024 * 1024 * 1024,
            max_objects: 1_000_000,
            max_read_bytes: DS_MAXDATA as usize,
            max_list_entries: 1_000,
        }
    }
}
