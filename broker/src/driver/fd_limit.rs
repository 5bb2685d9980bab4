//! File descriptors: the process's `RLIMIT_NOFILE` raised to its hard
//! limit at start-up, the share of it client connections may use, and a
//! spare descriptor for refusing connections when the process is out of
//! them anyway.
//!
//! Every client connection holds one descriptor. Client connections get
//! the soft limit less `limits.reserved_fds` (and at most
//! `limits.max_connections`), so that clients alone can never take the
//! descriptors the admin socket (`broker ctl`), `/metrics`, backend
//! reconnections and configuration reloads need, as HAProxy derives its
//! `maxconn` from the descriptor limit.
//!
//! Should the process run out all the same (descriptors used outside the
//! reserve's estimate, or `ENFILE`: the whole system is out), a listener
//! does what libuv does: it closes its spare descriptor, accepts and at
//! once closes the connections waiting in the backlog (their clients see
//! the connection closed instead of hanging), opens the spare again and
//! pauses accepting with exponential backoff.

use std::fs::File;
use std::io;
use std::sync::{Mutex, PoisonError};

use nix::sys::resource::{getrlimit, setrlimit, Resource, RLIM_INFINITY};

use crate::config::Config;

/// The soft limit tried when the hard limit is unlimited: Linux refuses
/// more than `fs.nr_open`, whose default is 2^20.
const UNLIMITED_FALLBACK: u64 = 1 << 20;

/// The descriptor limit of the process: before and after raising it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NofileLimit {
    /// The soft limit found at start-up.
    pub(crate) before: u64,
    /// The soft limit now in force.
    pub(crate) soft: u64,
    /// The hard limit (`u64::MAX`: unlimited).
    pub(crate) hard: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (to 2^20 when the
/// hard limit is unlimited and the system refuses that).
///
/// # Errors
///
/// The `getrlimit` error; a refused `setrlimit` is not an error (the
/// limit found is kept and returned).
pub(crate) fn raise_nofile_limit() -> io::Result<NofileLimit> {
    let (before, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(io::Error::from)?;
    let mut soft = before;
    let targets = if hard == RLIM_INFINITY {
        vec![hard, UNLIMITED_FALLBACK]
    } else {
        vec![hard]
    };
    for target in targets {
        if target <= soft {
            break;
        }
        if setrlimit(Resource::RLIMIT_NOFILE, target, hard).is_ok() {
            soft = target;
            break;
        }
    }
    Ok(NofileLimit { before, soft, hard })
}

/// Raises the descriptor limit, opens the spare descriptor, logs the
/// capacity, and returns how many client connections the broker takes at
/// once: `limits.max_connections`, lowered (with a
/// warning) to what the limit leaves after `limits.reserved_fds`.
pub(crate) fn connection_capacity(config: &Config) -> usize {
    let configured = config.limits.max_connections;
    let reserved = config.limits.reserved_fds;
    keep_spare();
    let limit = match raise_nofile_limit() {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the file descriptor limit");
            return configured;
        }
    };
    let capacity = client_capacity(limit.soft, reserved);
    let backend_connections: usize = config.backends.values().map(|b| b.connections).sum();
    tracing::info!(
        fd_limit = limit.soft,
        raised_from = limit.before,
        hard_limit = limit.hard,
        reserved_fds = reserved,
        client_capacity = capacity,
        "file descriptors"
    );
    if (reserved as usize) < backend_connections + 48 {
        tracing::warn!(
            reserved_fds = reserved,
            backend_connections,
            "limits.reserved_fds leaves little room beside the backend connections \
             (the admin socket and /metrics take up to 32): raise it"
        );
    }
    if configured > capacity {
        tracing::warn!(
            max_connections = configured,
            client_capacity = capacity,
            fd_limit = limit.soft,
            reserved_fds = reserved,
            "limits.max_connections does not fit in the file descriptor limit: \
             taking at most client_capacity client connections \
             (raise the limit: ulimit -n, or LimitNOFILE= in systemd)"
        );
        return capacity;
    }
    configured
}

/// How many client connections fit in `soft` descriptors with `reserved`
/// kept for everything else; at least 1.
pub(crate) fn client_capacity(soft: u64, reserved: u64) -> usize {
    usize::try_from(soft.saturating_sub(reserved))
        .unwrap_or(usize::MAX)
        .max(1)
}

/// The spare descriptor (`/dev/null`), opened at start-up.
static SPARE: Mutex<Option<File>> = Mutex::new(None);

/// Opens the spare descriptor if it is not open.
pub(crate) fn keep_spare() {
    let mut spare = SPARE.lock().unwrap_or_else(PoisonError::into_inner);
    if spare.is_none() {
        *spare = File::open("/dev/null").ok();
    }
}

/// Runs `f` with the spare descriptor closed (one descriptor free for
/// `f`), then opens it again.
pub(crate) fn with_spare_released<T>(f: impl FnOnce() -> T) -> T {
    let mut spare = SPARE.lock().unwrap_or_else(PoisonError::into_inner);
    drop(spare.take());
    let r = f();
    *spare = File::open("/dev/null").ok();
    r
}

/// True for the errors that mean "out of descriptors": `EMFILE` (this
/// process) and `ENFILE` (the system).
pub(crate) fn is_out_of_descriptors(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error().map(nix::errno::Errno::from_raw),
        Some(nix::errno::Errno::EMFILE | nix::errno::Errno::ENFILE)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_what_the_reserve_leaves_and_at_least_one() {
        assert_eq!(client_capacity(1024, 128), 896);
        assert_eq!(client_capacity(100, 128), 1);
        assert_eq!(client_capacity(u64::MAX, 0), usize::MAX);
    }

    #[test]
    fn raising_keeps_the_soft_limit_at_most_the_hard_one() {
        let l = raise_nofile_limit().unwrap();
        assert!(l.soft >= l.before);
        assert!(l.soft <= l.hard);
        assert_eq!(raise_nofile_limit().unwrap().soft, l.soft);
    }

    #[test]
    fn emfile_and_enfile_are_out_of_descriptors() {
        assert!(is_out_of_descriptors(&io::Error::from_raw_os_error(
            nix::libc::EMFILE
        )));
        assert!(is_out_of_descriptors(&io::Error::from_raw_os_error(
            nix::libc::ENFILE
        )));
        assert!(!is_out_of_descriptors(&io::Error::from_raw_os_error(
            nix::libc::ECONNABORTED
        )));
    }

    #[test]
    fn the_spare_is_closed_inside_and_open_again_after() {
        keep_spare();
        let inside = with_spare_released(|| File::open("/dev/null").is_ok());
        assert!(inside);
        assert!(SPARE.lock().unwrap().is_some());
    }
}
