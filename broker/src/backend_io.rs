//! Backend connections for the driver: connect (TCP, Unix socket, or an
//! in-process server), then read replies and write calls until the
//! connection ends or the core closes it.

use std::sync::Arc;

use datastore::Endpoint;
use futures::StreamExt;
use rpc_runtime::record::RecordCodecBuilder;
use rpc_runtime::Server;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;

use crate::config::BackendAddress;
use crate::core::{ConnId, Transmit};
use crate::driver::Input;
use crate::wire::write_transmit;

/// Buffer size of the in-memory pipe to a builtin backend, in bytes.
const BUILTIN_PIPE_BYTES: usize = 256 * 1024;

/// How to reach one backend.
#[derive(Clone)]
pub(crate) enum Target {
    /// A server at a TCP or Unix socket address.
    Remote(Endpoint),
    /// A server in this process, reached through an in-memory pipe.
    InProcess(Server),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Remote(e) => write!(f, "{e}"),
            Target::InProcess(_) => f.write_str("in-process"),
        }
    }
}

impl Target {
    pub(crate) fn new(address: &BackendAddress) -> Target {
        match address {
            BackendAddress::Endpoint(e) => Target::Remote(e.clone()),
            BackendAddress::Builtin(b) => Target::InProcess(crate::builtin::server(*b)),
        }
    }
}

/// Connects `conn` to `target` and serves it: reports
/// [`Input::BackendConnected`] or [`Input::BackendFailed`], then every
/// reply record, then [`Input::BackendClosed`]. Connection timeouts are
/// the core's business (it closes the connection by aborting this task).
pub(crate) async fn run(
    conn: ConnId,
    target: Target,
    codec: RecordCodecBuilder,
    inbox: mpsc::UnboundedSender<Input>,
    name: Arc<str>,
) {
    match target {
        Target::Remote(Endpoint::Tcp(addr)) => {
            match tokio::net::TcpStream::connect(addr.as_str()).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    serve(conn, s, codec, inbox).await;
                }
                Err(e) => failed(conn, &inbox, &name, &e),
            }
        }
        Target::Remote(Endpoint::Unix(path)) => {
            match tokio::net::UnixStream::connect(&path).await {
                Ok(s) => serve(conn, s, codec, inbox).await,
                Err(e) => failed(conn, &inbox, &name, &e),
            }
        }
        Target::InProcess(server) => {
            let (ours, theirs) = tokio::io::duplex(BUILTIN_PIPE_BYTES);
            tokio::spawn(async move {
                let peer = rpc_runtime::server::PeerAddr::Unknown;
                if let Err(e) = server.serve_connection(theirs, peer).await {
                    tracing::debug!(error = %e, "in-process backend connection ended");
                }
            });
            serve(conn, ours, codec, inbox).await;
        }
    }
}

fn failed(conn: ConnId, inbox: &mpsc::UnboundedSender<Input>, name: &str, e: &std::io::Error) {
    tracing::debug!(backend = name, error = %e, "cannot connect to backend");
    let _ = inbox.send(Input::BackendFailed(conn));
}

async fn serve<IO>(
    conn: ConnId,
    io: IO,
    codec: RecordCodecBuilder,
    inbox: mpsc::UnboundedSender<Input>,
) where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let (read, write) = tokio::io::split(io);
    let (tx, mut rx) = mpsc::unbounded_channel::<Transmit>();
    if inbox.send(Input::BackendConnected(conn, tx)).is_err() {
        return;
    }
    let mut records = FramedRead::new(read, codec.new_codec());
    let mut writer = BufWriter::new(write);
    let writing = async {
        while let Some(t) = rx.recv().await {
            write_transmit(&mut writer, &t).await?;
            while let Ok(t) = rx.try_recv() {
                write_transmit(&mut writer, &t).await?;
            }
            writer.flush().await?;
        }
        Ok::<(), std::io::Error>(())
    };
    let reading = async {
        while let Some(r) = records.next().await {
            match r {
                Ok(record) => {
                    if inbox.send(Input::BackendReply(conn, record)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, "backend connection failed");
                    return;
                }
            }
        }
    };
    tokio::select! {
        r = writing => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "writing to backend failed");
            }
        }
        () = reading => {}
    }
    let _ = inbox.send(Input::BackendClosed(conn));
}
