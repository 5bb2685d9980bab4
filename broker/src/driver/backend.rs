//! Backend connections for the driver: connect (TCP, Unix socket, or an
//! in-process server), then read replies and hand them to the core (the
//! replies go straight to the clients' sockets), and write the calls
//! queued for this connection, until the connection ends or the core
//! closes it.

use std::sync::Arc;

use bytes::Bytes;
use rpc_runtime::record::{RecordReader, Reservation};
use rpc_runtime::Endpoint;
use rpc_runtime::Server;

use crate::config::{BackendAddress, BackendGss};
use crate::core::ConnId;
use crate::driver::gss_backend::{self, BackendChannel};
use crate::driver::outbox::{Outbox, OutboxState};
use crate::driver::socket::{split_tcp, split_unix, ReadHalf, WriteHalf};
use crate::driver::tls::{self, BackendTlsState, Current};
use crate::driver::wire::record_codec;
use crate::driver::{Deliveries, Hub};

/// How to reach one backend, and whether to make RPCSEC_GSS on each
/// connection to it.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    reach: Reach,
    gss: Option<BackendGss>,
}

/// Where one backend is.
#[derive(Clone)]
enum Reach {
    /// A server at a TCP or Unix socket address.
    Remote(Endpoint),
    /// A server at a TCP address (`HOST:PORT`), over RPC-over-TLS with
    /// the settings in force in the slot.
    RemoteTls(String, Arc<Current<BackendTlsState>>),
    /// A server in this process, reached through a Unix socket pair.
    InProcess(Server),
}

impl std::fmt::Debug for Reach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reach::Remote(e) => write!(f, "{e}"),
            Reach::RemoteTls(a, _) => write!(f, "tcp://{a} (TLS)"),
            Reach::InProcess(_) => f.write_str("in-process"),
        }
    }
}

impl Target {
    /// How to reach a backend at `address`, over TLS with the settings
    /// in `tls` when there are some, with RPCSEC_GSS when `gss` is set.
    pub(crate) fn new(
        address: &BackendAddress,
        tls: Option<Arc<Current<BackendTlsState>>>,
        gss: Option<BackendGss>,
    ) -> Target {
        let reach = match (address, tls) {
            (BackendAddress::Endpoint(Endpoint::Tcp(a)), Some(tls)) => {
                Reach::RemoteTls(a.clone(), tls)
            }
            (BackendAddress::Endpoint(e), _) => Reach::Remote(e.clone()),
            (BackendAddress::Builtin(b), _) => Reach::InProcess(crate::builtin::server(*b)),
        };
        Target { reach, gss }
    }

    /// Whether connections to `other` are made the same way: both or
    /// neither over RPC-over-TLS, and the same RPCSEC_GSS settings (a
    /// reload keeps a backend's connections only then).
    pub(crate) fn same_security(&self, other: &Target) -> bool {
        let tls = |t: &Target| matches!(t.reach, Reach::RemoteTls(..));
        tls(self) == tls(other) && self.gss == other.gss
    }
}

/// Connects `conn` to `target` and serves it: tells the core it is
/// connected (or could not be), hands it every reply record, then tells
/// it the connection ended. Connection timeouts are the core's business
/// (it closes the connection by aborting this task).
pub(crate) async fn run(hub: Arc<Hub>, conn: ConnId, target: Target, name: Arc<str>) {
    let connected = match connect(target.reach).await {
        Ok(halves) => halves,
        Err(e) => {
            tracing::debug!(backend = %name, error = %e, "cannot connect to backend");
            tls::note_backend_failure(&hub.metrics, &name, &e);
            return failed(&hub, conn);
        }
    };
    let (mut read, write) = connected;
    let mut reader = RecordReader::new(record_codec(hub.max_record), Reservation::Trusted)
        .with_whole_fragment_reads();
    let channel = match &target.gss {
        None => None,
        Some(settings) => {
            match gss_backend::establish(
                &name,
                settings,
                &mut read,
                &write,
                &mut reader,
                &hub.metrics,
            )
            .await
            {
                Ok(channel) => Some(Arc::new(channel)),
                Err(e) => {
                    gss_backend::creation_failed(&hub.metrics, &name, &e);
                    return failed(&hub, conn);
                }
            }
        }
    };
    serve(&hub, conn, read, write, reader, channel).await;
}

/// Tells the core that `conn` could not be made.
fn failed(hub: &Arc<Hub>, conn: ConnId) {
    hub.step(&mut Deliveries::new(), |st, now| {
        st.tasks.remove(&conn);
        st.core.handle_backend_failed(now, conn);
    });
}

async fn connect(reach: Reach) -> std::io::Result<(ReadHalf, WriteHalf)> {
    match reach {
        Reach::Remote(Endpoint::Tcp(addr)) => {
            let s = tokio::net::TcpStream::connect(addr.as_str()).await?;
            let _ = s.set_nodelay(true);
            Ok(split_tcp(s))
        }
        Reach::RemoteTls(addr, settings) => {
            let s = tokio::net::TcpStream::connect(addr.as_str()).await?;
            let _ = s.set_nodelay(true);
            tls::connect(s, &settings.get()).await
        }
        Reach::Remote(Endpoint::Unix(path)) => {
            Ok(split_unix(tokio::net::UnixStream::connect(&path).await?))
        }
        Reach::InProcess(server) => {
            let (ours, theirs) = tokio::net::UnixStream::pair()?;
            tokio::spawn(async move {
                let peer = rpc_runtime::server::PeerAddr::Unknown;
                if let Err(e) = server.serve_connection(theirs, peer).await {
                    tracing::debug!(error = %e, "in-process backend connection ended");
                }
            });
            Ok(split_unix(ours))
        }
    }
}

async fn serve(
    hub: &Arc<Hub>,
    conn: ConnId,
    mut read: ReadHalf,
    write: WriteHalf,
    mut reader: RecordReader,
    channel: Option<Arc<BackendChannel>>,
) {
    let outbox = Arc::new(Outbox::backend(write));
    let mut out = Deliveries::new();
    hub.step(&mut out, |st, now| {
        st.conns.insert(conn, Arc::clone(&outbox));
        if let Some(c) = &channel {
            st.gss_backends.insert(conn, Arc::clone(c));
        }
        st.core.handle_backend_connected(now, conn);
    });
    let mut replies: Vec<Bytes> = Vec::new();
    'conn: loop {
        loop {
            match reader.next_record() {
                Ok(Some(r)) => match &channel {
                    None => replies.push(r),
                    Some(c) => match gss_backend::open_reply(c, r, &hub.metrics) {
                        Some(r) => replies.push(r),
                        None => break 'conn,
                    },
                },
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "backend connection failed");
                    break 'conn;
                }
            }
        }
        if !replies.is_empty() {
            hub.step(&mut out, |st, now| {
                for r in replies.drain(..) {
                    st.core.handle_backend_reply(now, conn, r);
                }
            });
        }
        let state = outbox.state();
        if state == OutboxState::Closed {
            break;
        }
        tokio::select! {
            biased;
            r = outbox.serve_writes(state) => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "writing to backend failed");
                    break;
                }
            }
            r = reader.fill(&mut read) => match r {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "backend connection failed");
                    break;
                }
            },
        }
    }
    outbox.close();
    hub.step(&mut out, |st, now| {
        if st.conns.get(&conn).is_some_and(|o| Arc::ptr_eq(o, &outbox)) {
            st.conns.remove(&conn);
            st.gss_backends.remove(&conn);
        }
        st.tasks.remove(&conn);
        st.core.handle_backend_closed(now, conn);
    });
}
