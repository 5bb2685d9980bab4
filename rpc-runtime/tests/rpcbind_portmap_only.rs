//! [`Registration`] against a binder that has only the portmapper
//! (program 100000 version 2, an old `portmap` daemon): TCP and UDP
//! endpoints are registered with PMAPPROC_SET, Unix sockets (which
//! version 2 cannot name) are left out, and [`Registration::update`]
//! and [`Registration::unregister`] remove them with PMAPPROC_UNSET.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rpc_runtime::codegen::{handle, proc_unavail, BoxFuture};
use rpc_runtime::rpcbind::proto::portmap::Mapping;
use rpc_runtime::rpcbind::{self, Endpoint, Registration, RPCBIND_PROGRAM};
use rpc_runtime::server::{CallContext, Dispatch, DispatchOutcome};
use rpc_runtime::{Client, Server};

/// Registrations as `(program, version, protocol, port)`.
type Table = Arc<Mutex<Vec<(u32, u32, u32, u32)>>>;

/// A portmapper version 2 (RFC 1833 section 3.2): SET, UNSET, GETPORT.
/// Versions 3 and 4 are answered PROG_MISMATCH by the server.
struct Portmap(Table);

impl Dispatch for Portmap {
    fn program(&self) -> u32 {
        RPCBIND_PROGRAM
    }
    fn version(&self) -> u32 {
        2
    }
    fn dispatch(
        &self,
        _ctx: CallContext,
        procedure: u32,
        args: xdr_codec::Decoder,
    ) -> BoxFuture<'static, DispatchOutcome> {
        let table = Arc::clone(&self.0);
        let key = |m: &Mapping| (m.prog, m.vers, m.prot);
        match procedure {
            1 => handle(args, move |m: Mapping| async move {
                let mut t = table.lock().unwrap();
                if t.iter().any(|e| (e.0, e.1, e.2) == key(&m)) {
                    return Ok(false);
                }
                t.push((m.prog, m.vers, m.prot, m.port));
                Ok(true)
            }),
            2 => handle(args, move |m: Mapping| async move {
                let mut t = table.lock().unwrap();
                let before = t.len();
                t.retain(|e| (e.0, e.1) != (m.prog, m.vers));
                Ok(t.len() != before)
            }),
            3 => handle(args, move |m: Mapping| async move {
                let t = table.lock().unwrap();
                Ok(t.iter()
                    .find(|e| (e.0, e.1, e.2) == key(&m))
                    .map_or(0, |e| e.3))
            }),
            _ => proc_unavail(),
        }
    }
}

#[tokio::test]
async fn a_portmapper_only_binder_gets_pmapproc_set_for_tcp_and_udp() {
    let table = Table::default();
    let server = Server::builder()
        .register(Portmap(Arc::clone(&table)))
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { server.serve_tcp(listener).await });
    let client = rpcbind::Client::from_client(Client::connect_tcp(addr).await.unwrap());

    let tcp: SocketAddr = "127.0.0.1:7100".parse().unwrap();
    let udp: SocketAddr = "127.0.0.1:7101".parse().unwrap();
    let endpoints = [
        Endpoint::Tcp(tcp),
        Endpoint::Udp(udp),
        Endpoint::Unix("/run/x.sock".into()),
    ];
    let mut reg = Registration::register(client, &[(400_100, 1), (400_100, 2)], &endpoints)
        .await
        .unwrap();
    let mut got = table.lock().unwrap().clone();
    got.sort_unstable();
    assert_eq!(
        got,
        [
            (400_100, 1, 6, 7100),
            (400_100, 1, 17, 7101),
            (400_100, 2, 6, 7100),
            (400_100, 2, 17, 7101)
        ]
    );
    assert_eq!(reg.entries().len(), 4, "no Unix socket entries");

    // Version 2 goes: both its protocols are removed, version 1 stays.
    reg.update(&[(400_100, 1)]).await.unwrap();
    let mut got = table.lock().unwrap().clone();
    got.sort_unstable();
    assert_eq!(got, [(400_100, 1, 6, 7100), (400_100, 1, 17, 7101)]);

    reg.unregister().await.unwrap();
    assert!(table.lock().unwrap().is_empty());
}
