//! The interop matrix: the Rust client against the C `rpcgen` + libtirpc
//! server, and the C client against the Rust server, over TCP, UDP and
//! Unix stream sockets, with AUTH_NONE and AUTH_SYS.
//!
//! Over TCP and Unix sockets each pairing also moves 1 MiB records split
//! into 64 KiB fragments in both directions (libtirpc's fragment size;
//! the Rust side is configured to the same), so fragment reassembly is
//! exercised on both sides. Over UDP (one datagram per message, 64 KiB
//! buffers on the C side) the payloads stay small.
//!
//! AUTH_SYS is checked, not just sent: in AUTH_SYS mode the C server
//! (`interop_server -a`) answers AUTH_ERROR unless a call carries uid 1234
//! and gid 5678, and the Rust server answers SYSTEM_ERR unless the call's
//! decoded credentials are exactly those the C client sends (`-a`).

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use interop_tests::c_peer::{run_with_timeout, CServer};
use interop_tests::interop::compute;
use interop_tests::interop::peers::{
    calls_reported, interop_client, interop_server, CALLS_PER_ROUND, CLIENT_TIMEOUT,
};
use interop_tests::interop::proto::{Blob, FillArgs, InteropProgV1Client, InteropProgV1Server};
use interop_tests::interop::random::Rng;
use interop_tests::interop::server::InteropService;
use rpc_runtime::codegen::BoxFuture;
use rpc_runtime::message::{AuthStat, AuthSysParams, Credentials};
use rpc_runtime::server::{CallContext, Dispatch, DispatchOutcome};
use rpc_runtime::{Client, RpcError, Server};

/// libtirpc's default fragment size on streams, used by the Rust side too.
const FRAGMENT_BYTES: usize = 64 * 1024;

/// The payload that needs many fragments: 1 MiB.
const LARGE_BYTES: u32 = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    Tcp,
    Udp,
    Unix,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    None,
    Sys,
}

/// The credentials the C client sends with `-a` (tests/c/interop_client.c),
/// and the Rust client sends in AUTH_SYS mode.
fn c_client_credentials() -> AuthSysParams {
    AuthSysParams {
        stamp: 0,
        machine_name: "interop-client".into(),
        uid: 1234,
        gid: 5678,
        gids: vec![5678, 24, 27],
    }
}

/// Kills a child process when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running C interop server.
enum CPeer {
    Stream(CServer),
    Udp {
        /// Killed when the peer is dropped.
        _process: KillOnDrop,
        addr: SocketAddr,
    },
}

fn free_udp_port() -> u16 {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("find a free UDP port")
}

/// Starts the C server on `transport`, requiring AUTH_SYS with `Auth::Sys`.
fn start_c_server(transport: Transport, auth: Auth) -> CPeer {
    let bin = interop_server().expect("build the C interop server");
    let flags: Vec<&str> = match auth {
        Auth::None => vec![],
        Auth::Sys => vec!["-a"],
    };
    match transport {
        Transport::Tcp => CPeer::Stream(CServer::start_tcp(&bin, flags).expect("C server")),
        Transport::Unix => CPeer::Stream(CServer::start_unix(&bin, flags).expect("C server")),
        Transport::Udp => {
            let port = free_udp_port();
            let child = Command::new(bin)
                .args(flags)
                .arg("udp")
                .arg(port.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start the C UDP server");
            CPeer::Udp {
                _process: KillOnDrop(child),
                addr: (Ipv4Addr::LOCALHOST, port).into(),
            }
        }
    }
}

/// A Rust client of the C server, with the matrix's credentials.
async fn rust_client(peer: &CPeer, auth: Auth) -> Client {
    let builder = Client::builder()
        .timeout(Duration::from_secs(30))
        .max_fragment_bytes(FRAGMENT_BYTES);
    let builder = match auth {
        Auth::None => builder,
        Auth::Sys => builder.credentials(Credentials::Sys(c_client_credentials())),
    };
    match peer {
        CPeer::Stream(s) => match (s.tcp_addr(), s.unix_path()) {
            (Some(a), _) => builder.connect_tcp(a).await.expect("connect"),
            (None, Some(p)) => builder.connect_unix(p).await.expect("connect"),
            (None, None) => panic!("C server without an endpoint"),
        },
        CPeer::Udp { addr, .. } => {
            let client = builder.connect_udp(*addr).await.expect("udp client");
            // The server may still be starting: NULL until it answers.
            let deadline = Instant::now() + Duration::from_secs(10);
            let probe = client.with_timeout(Duration::from_millis(300));
            while probe.call::<_, ()>(0x2000_f00d, 1, 0, &()).await.is_err() {
                assert!(Instant::now() < deadline, "the C UDP server did not answer");
            }
            client
        }
    }
}

/// Calls the C server with varied arguments and checks every result
/// against the Rust recomputation.
async fn exercise_c_server(transport: Transport, auth: Auth) {
    let peer = start_c_server(transport, auth);
    let client = rust_client(&peer, auth).await;
    let api = InteropProgV1Client::new(client.clone());
    let mut rng = Rng::new(0x5eed ^ transport as u64 ^ (auth as u64) << 8);
    assert_eq!(api.add(&40, &2).await.unwrap(), 42);
    for _ in 0..20 {
        let r = rng.record();
        assert_eq!(api.echo_record(&r).await.unwrap(), r);
        assert_eq!(api.summarize(&r).await.unwrap(), compute::summarize(&r));
        let s = rng.shape();
        assert_eq!(api.classify(&s).await.unwrap(), compute::classify(&s));
    }
    let size = match transport {
        Transport::Udp => 4000,
        Transport::Tcp | Transport::Unix => LARGE_BYTES,
    };
    // A call record of `size` bytes: 16 fragments from the Rust client.
    let blob = Blob::from(rng.bytes(size as usize));
    assert_eq!(
        api.checksum(&blob).await.unwrap(),
        compute::checksum(blob.as_ref())
    );
    // A reply of `size` bytes: libtirpc sends it in 64 KiB fragments.
    let args = FillArgs {
        size,
        seed: rng.next_u32(),
    };
    assert_eq!(api.fill(&args).await.unwrap(), compute::fill(&args));

    if auth == Auth::Sys {
        // The server really checks: AUTH_NONE and a wrong uid are refused.
        let anonymous = client.with_credentials(&Credentials::None).unwrap();
        let wrong = client
            .with_credentials(&Credentials::Sys(AuthSysParams {
                uid: 1,
                ..c_client_credentials()
            }))
            .unwrap();
        for c in [anonymous, wrong] {
            match InteropProgV1Client::new(c).add(&1, &1).await {
                Err(RpcError::AuthError(AuthStat::TooWeak)) => {}
                other => panic!("{transport:?}: want AUTH_TOOWEAK, got {other:?}"),
            }
        }
    }
}

/// Wraps a dispatcher: every call must carry exactly the C client's
/// AUTH_SYS credentials, else SYSTEM_ERR (which fails the C client).
struct RequireCClientCredentials<D>(D);

impl<D: Dispatch> Dispatch for RequireCClientCredentials<D> {
    fn program(&self) -> u32 {
        self.0.program()
    }

    fn version(&self) -> u32 {
        self.0.version()
    }

    fn dispatch(
        &self,
        ctx: CallContext,
        procedure: u32,
        args: xdr_codec::Decoder,
    ) -> BoxFuture<'static, DispatchOutcome> {
        let want = c_client_credentials();
        match ctx.auth_sys() {
            Some(p)
                if p.uid == want.uid
                    && p.gid == want.gid
                    && p.gids == want.gids
                    && p.machine_name == want.machine_name =>
            {
                self.0.dispatch(ctx, procedure, args)
            }
            other => {
                let why = format!("unexpected credentials {other:?}");
                Box::pin(std::future::ready(DispatchOutcome::SystemErr(why)))
            }
        }
    }
}

/// Serves the Rust interop server on `transport` and runs the C client
/// against it; checks the client's verdict and call count.
async fn exercise_rust_server(transport: Transport, auth: Auth) {
    let service = InteropService::new();
    let dispatcher = InteropProgV1Server::new(service.clone());
    let builder = Server::builder().max_fragment_bytes(FRAGMENT_BYTES);
    let server = match auth {
        Auth::None => builder.register(dispatcher),
        Auth::Sys => builder.register(RequireCClientCredentials(dispatcher)),
    }
    .build();
    let dir = tempfile::tempdir().unwrap();
    let rounds: u32 = 3;
    let mut args: Vec<String> = vec!["-r".into(), rounds.to_string(), "-s".into(), "7".into()];
    if auth == Auth::Sys {
        args.push("-a".into());
    }
    let serve = match transport {
        Transport::Tcp => {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = l.local_addr().unwrap().port().to_string();
            args.extend(["tcp".into(), "127.0.0.1".into(), port]);
            let s = server.clone();
            tokio::spawn(async move { s.serve_tcp(l).await })
        }
        Transport::Udp => {
            let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let port = sock.local_addr().unwrap().port().to_string();
            args.extend(["udp".into(), "127.0.0.1".into(), port]);
            let s = server.clone();
            tokio::spawn(async move { s.serve_udp(sock).await })
        }
        Transport::Unix => {
            let path: PathBuf = dir.path().join("rust.sock");
            let l = tokio::net::UnixListener::bind(&path).unwrap();
            args.extend(["unix".into(), path.display().to_string()]);
            let s = server.clone();
            tokio::spawn(async move { s.serve_unix(l).await })
        }
    };
    let bin = interop_client().expect("build the C interop client");
    let out = tokio::task::spawn_blocking(move || {
        run_with_timeout(Command::new(bin).args(&args), CLIENT_TIMEOUT)
    })
    .await
    .unwrap()
    .expect("run the C client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{transport:?} {auth:?}: C client failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let want = u64::from(rounds) * CALLS_PER_ROUND;
    assert_eq!(calls_reported(&out), Some(want), "{stdout}");
    // Over UDP a retransmitted call may run twice; never fewer.
    assert!(
        service.calls() >= want,
        "{transport:?}: {} calls served",
        service.calls()
    );
    if transport != Transport::Udp {
        assert_eq!(service.calls(), want);
    }
    serve.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_c_server_tcp() {
    exercise_c_server(Transport::Tcp, Auth::None).await;
    exercise_c_server(Transport::Tcp, Auth::Sys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_c_server_udp() {
    exercise_c_server(Transport::Udp, Auth::None).await;
    exercise_c_server(Transport::Udp, Auth::Sys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_client_c_server_unix() {
    exercise_c_server(Transport::Unix, Auth::None).await;
    exercise_c_server(Transport::Unix, Auth::Sys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_client_rust_server_tcp() {
    exercise_rust_server(Transport::Tcp, Auth::None).await;
    exercise_rust_server(Transport::Tcp, Auth::Sys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_client_rust_server_udp() {
    exercise_rust_server(Transport::Udp, Auth::None).await;
    exercise_rust_server(Transport::Udp, Auth::Sys).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_client_rust_server_unix() {
    exercise_rust_server(Transport::Unix, Auth::None).await;
    exercise_rust_server(Transport::Unix, Auth::Sys).await;
}
