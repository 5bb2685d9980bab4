//! What a daemon built on the runtime needs around its servers: a tokio
//! runtime sized for the CPUs the process may use, and the shutdown
//! signal.

use std::io;

/// Builds a tokio runtime (I/O and time enabled) sized for the CPUs this
/// process may run on ([`std::thread::available_parallelism`], which
/// honours CPU affinity such as `taskset` and cgroup quotas): a
/// current-thread runtime when that is one CPU, a multi-threaded one
/// with one worker per CPU otherwise.
///
/// On one CPU a multi-threaded runtime only adds cross-thread hand-offs
/// and a second parking path; servers, clients and daemons pinned to a
/// single core (a common deployment for latency) do better without them.
/// Blocking work still goes to tokio's blocking pool either way.
///
/// # Errors
///
/// The I/O error from [`tokio::runtime::Builder::build`] (for example
/// when the process may not create the epoll instance or a thread).
pub fn for_available_cpus() -> io::Result<tokio::runtime::Runtime> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut builder = if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    builder.enable_all().build()
}

/// Completes when the process receives SIGINT or SIGTERM: the usual
/// trigger for a daemon's graceful shutdown (pass it to
/// [`Server::serve_tcp_with_shutdown`](crate::Server::serve_tcp_with_shutdown)
/// and its kin). If the SIGTERM handler cannot be installed, only SIGINT
/// (Ctrl-C) completes it.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
