//! A blocking client, for programs without an async runtime of their own.
//!
//! [`Client`] owns a small tokio runtime (one worker thread) that runs the
//! connection; its methods block the calling thread until the call ends.
//! Clones share the connection and the runtime, and may be used from many
//! threads at once: their calls are multiplexed on the one connection.
//!
//! Generated clients are async; use them through
//! [`Client::block_on`]: wrap [`Client::inner`] in the generated client
//! and block on each call.
//!
//! ```no_run
//! # mod nfs { pub struct NfsV3Client(rpc_runtime::Client);
//! #   impl NfsV3Client { pub fn new(c: rpc_runtime::Client) -> Self { Self(c) }
//! #   pub async fn null(&self) -> Result<(), rpc_runtime::RpcError> { self.0.call(100003, 3, 0, &()).await } } }
//! use rpc_runtime::blocking;
//! use std::time::Duration;
//!
//! // With the default settings:
//! let client = blocking::Client::connect_tcp("127.0.0.1:2049")?;
//! let () = client.call(100003, 3, 0, &())?;
//!
//! // With settings from the builder:
//! let client = blocking::Client::connect(|| {
//!     rpc_runtime::Client::builder()
//!         .timeout(Duration::from_secs(5))
//!         .connect_udp("127.0.0.1:2049")
//! })?;
//!
//! // Through a generated client (`xdrgen` output for NFS version 3):
//! let nfs = nfs::NfsV3Client::new(client.inner().clone());
//! client.block_on(nfs.null())?;
//! # Ok::<(), rpc_runtime::RpcError>(())
//! ```

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use tokio::net::ToSocketAddrs;
use tokio::runtime::Runtime;
use xdr_codec::{XdrDecode, XdrEncode};

use crate::RpcError;

/// A blocking handle on one multiplexed connection, with the runtime that
/// drives it. Cheap to clone; the runtime shuts down when the last clone
/// is dropped.
///
/// # Panics
///
/// Every blocking method panics when called from inside an async runtime
/// (tokio forbids blocking a runtime thread); use
/// [`crate::Client`] there. Dropping the last clone inside an async
/// context panics for the same reason.
#[derive(Debug, Clone)]
pub struct Client {
    client: crate::Client,
    // Declared after `client` so the connection is dropped first.
    runtime: Arc<Runtime>,
}

impl Client {
    /// Starts a runtime and runs `connect` on it, for example
    /// `|| rpc_runtime::Client::builder().timeout(t).connect_tcp(addr)`.
    ///
    /// # Errors
    ///
    /// [`RpcError::Transport`] if the runtime cannot start; otherwise what
    /// `connect` returns.
    pub fn connect<F, Fut>(connect: F) -> Result<Client, RpcError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<crate::Client, RpcError>>,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("rpc-client")
            .enable_all()
            .build()
            .map_err(RpcError::Transport)?;
        // Inside `block_on` the connection task is spawned on this runtime.
        let client = runtime.block_on(connect())?;
        Ok(Client {
            client,
            runtime: Arc::new(runtime),
        })
    }

    /// Connects over TCP with the default settings.
    ///
    /// # Errors
    ///
    /// As [`crate::Client::connect_tcp`].
    pub fn connect_tcp(addr: impl ToSocketAddrs) -> Result<Client, RpcError> {
        Self::connect(|| crate::Client::connect_tcp(addr))
    }

    /// Creates a UDP client with the default settings.
    ///
    /// # Errors
    ///
    /// As [`crate::Client::connect_udp`].
    pub fn connect_udp(addr: impl ToSocketAddrs) -> Result<Client, RpcError> {
        Self::connect(|| crate::Client::connect_udp(addr))
    }

    /// Connects to a Unix stream socket with the default settings.
    ///
    /// # Errors
    ///
    /// As [`crate::Client::connect_unix`].
    pub fn connect_unix(path: impl AsRef<Path>) -> Result<Client, RpcError> {
        Self::connect(|| crate::Client::connect_unix(path))
    }

    /// Makes one call and blocks until its reply or timeout; see
    /// [`crate::Client::call`].
    ///
    /// # Errors
    ///
    /// As [`crate::Client::call`].
    pub fn call<A, R>(
        &self,
        program: u32,
        version: u32,
        procedure: u32,
        args: &A,
    ) -> Result<R, RpcError>
    where
        A: XdrEncode + ?Sized,
        R: XdrDecode,
    {
        self.block_on(self.client.call(program, version, procedure, args))
    }

    /// Runs `future` on this client's runtime and blocks until it is done:
    /// the way to call a generated client built on [`Client::inner`].
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The async client (for generated clients, `with_timeout`, counters).
    /// Its calls must run on this runtime: through [`Client::block_on`].
    pub fn inner(&self) -> &crate::Client {
        &self.client
    }

    /// A handle whose calls time out after `timeout`; see
    /// [`crate::Client::with_timeout`].
    pub fn with_timeout(&self, timeout: std::time::Duration) -> Client {
        Client {
            client: self.client.with_timeout(timeout),
            runtime: Arc::clone(&self.runtime),
        }
    }
}
