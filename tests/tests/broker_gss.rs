//! RPCSEC_GSS (RFC 2203) ended by a real `broker` process (listener key
//! `gss`), with a real MIT Kerberos realm (`interop_tests::kdc`): our
//! client and libtirpc's through the broker to plain backends at each
//! service, multi-fragment arguments, and the refusals, counted in
//! `broker_gss_refusals_total`: no ticket, a service whose key the
//! broker lacks, a principal off `allow_principals`, a plain client where
//! RPCSEC_GSS is required. And RPCSEC_GSS made by the broker (backend
//! key `gss`) to a `datastore-server --gss-required`, and what that
//! server answers a broker without the key; and the RPCSEC_GSS_DESTROY
//! the broker sends before closing a backend connection.

mod broker_support;

use std::net::SocketAddr;
use std::time::Duration;

use broker_support::*;
use datastore::proto::DatastoreV1Client;
use interop_tests::c_peer::Endpoint;
use interop_tests::kdc::{
    run_c_client, Kdc, ECHO, ECHO_PROGRAM, ECHO_VERSION, OTHER_SERVICE, REALM, SERVICE, USER,
    WHOAMI,
};
use rpc_runtime::codegen::{handle, proc_unavail, BoxFuture};
use rpc_runtime::gss::{ClientGss, GssError, GssService};
use rpc_runtime::message::AuthStat;
use rpc_runtime::server::{CallContext, Dispatch, DispatchOutcome};
use rpc_runtime::{Client, RpcError, Server};
use xdr_codec::{Opaque, XdrString};

/// Time for anything that only has to happen eventually on a loaded
/// machine.
const EVENTUALLY: Duration = Duration::from_secs(60);

fn tcp_addr(e: &Endpoint) -> SocketAddr {
    match e {
        Endpoint::Tcp(a) => *a,
        Endpoint::Unix(p) => panic!("{} is not TCP", p.display()),
    }
}

fn principal() -> String {
    format!("{USER}@{REALM}")
}

/// The TCP listener's keys: RPCSEC_GSS ended with the realm's service
/// key, `extra` keys after it.
fn gss_listener(gss: &str, extra: &str) -> String {
    format!("gss = {{ service = \"{SERVICE}\"{gss} }}{extra}")
}

/// A datastore client through `addr` with a context at `service`.
async fn gss_datastore(addr: SocketAddr, service: GssService) -> DatastoreV1Client {
    let client = Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .max_fragment_bytes(64 * 1024)
        .connect_tcp(addr)
        .await
        .unwrap()
        .with_gss(&ClientGss::new(SERVICE).service(service))
        .unwrap();
    DatastoreV1Client::new(client)
}

/// The broker's `broker_gss_refusals_total{reason=REASON}` once it is at
/// least `at_least` (waiting for it).
fn refusals(broker: &BrokerProcess, reason: &str, at_least: f64) -> f64 {
    let series = format!("broker_gss_refusals_total{{reason=\"{reason}\"}}");
    sample_at_least(broker, &series, at_least, EVENTUALLY)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_through_the_broker_at_each_service() {
    Kdc::shared();
    let store = start_datastore_server();
    let listener = gss_listener("", &format!(", allow_principals = [\"{}\"]", principal()));
    let broker = start_tcp_keys_broker(&listener, &datastore_route(&store.endpoint));
    let addr = tcp_addr(&broker.tcp);
    // More than one 64 KiB fragment each way.
    let big: Vec<u8> = (0..(1u32 << 20) + 13).map(|i| (i % 251) as u8).collect();
    for service in [GssService::None, GssService::Integrity, GssService::Privacy] {
        let c = gss_datastore(addr, service).await;
        let key = service.krb5_name();
        ds_put_bytes(&c, key, &big).await;
        assert_eq!(ds_get_bytes(&c, key).await.unwrap().as_ref(), Some(&big));
        assert_eq!(ds_get_bytes(&c, "absent").await.unwrap(), None);
    }
    assert!(sample_at_least(&broker, "broker_gss_contexts_open", 3.0, EVENTUALLY) >= 3.0);
    // The backend saw plain calls: a plain client on the backend reads
    // what went through the broker.
    let direct = connect_datastore(&store.endpoint, CLIENT_TIMEOUT).await;
    assert_eq!(ds_get_bytes(&direct, "krb5p").await.unwrap(), Some(big));
    // A plain client has no principal: off the allow list.
    let plain = connect_datastore(&broker.tcp, CLIENT_TIMEOUT).await;
    assert!(matches!(
        ds_get_bytes(&plain, "krb5").await,
        Err(RpcError::AuthError(AuthStat::TooWeak))
    ));
    // A context for a service whose key the broker does not have.
    let other = Client::connect_tcp(addr)
        .await
        .unwrap()
        .with_gss(&ClientGss::new(OTHER_SERVICE))
        .unwrap();
    let err = other
        .call::<_, ()>(0x2000_DA7A, 1, 0, &())
        .await
        .unwrap_err();
    assert!(
        matches!(err, RpcError::Gss(GssError::Refused { major, .. }) if major != 0),
        "{err:?}"
    );
    assert_eq!(refusals(&broker, "creation_refused", 1.0), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn principals_off_the_allow_list_and_plain_clients_are_refused() {
    Kdc::shared();
    let store = start_datastore_server();
    let listener = gss_listener(
        ", required = true, min_service = \"krb5i\"",
        &format!(", allow_principals = [\"bob@{REALM}\"]"),
    );
    let broker = start_tcp_keys_broker(&listener, &datastore_route(&store.endpoint));
    let addr = tcp_addr(&broker.tcp);
    let alice = gss_datastore(addr, GssService::Integrity).await;
    assert!(
        matches!(
            ds_get_bytes(&alice, "k").await,
            Err(RpcError::AuthError(AuthStat::TooWeak))
        ),
        "a principal off allow_principals"
    );
    assert!(refusals(&broker, "principal_not_allowed", 1.0) >= 1.0);
    let plain = connect_datastore(&broker.tcp, CLIENT_TIMEOUT).await;
    assert!(
        matches!(
            ds_get_bytes(&plain, "k").await,
            Err(RpcError::AuthError(AuthStat::TooWeak))
        ),
        "a plain call where RPCSEC_GSS is required"
    );
    assert!(refusals(&broker, "other_flavor", 1.0) >= 1.0);
    let weak = gss_datastore(addr, GssService::None).await;
    assert!(
        matches!(
            ds_get_bytes(&weak, "k").await,
            Err(RpcError::AuthError(AuthStat::TooWeak))
        ),
        "krb5 below min_service krb5i"
    );
    assert!(refusals(&broker, "too_weak", 1.0) >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_principal_calling_a_program_off_the_list_is_not_counted_as_a_principal() {
    Kdc::shared();
    let store = start_datastore_server();
    let listener = gss_listener(
        "",
        &format!(", allow_principals = [\"{USER}@{REALM}\"], allow_programs = [{ECHO_PROGRAM}]"),
    );
    let broker = start_tcp_keys_broker(&listener, &datastore_route(&store.endpoint));
    let alice = gss_datastore(tcp_addr(&broker.tcp), GssService::Integrity).await;
    assert!(
        matches!(ds_get_bytes(&alice, "k").await, Err(RpcError::ProgUnavail)),
        "a program off allow_programs"
    );
    // Counted (if at all) before the refusal was sent.
    assert_eq!(refusals(&broker, "principal_not_allowed", 0.0), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_max_contexts_the_oldest_context_is_dropped_and_made_again() {
    Kdc::shared();
    let store = start_datastore_server();
    let listener = gss_listener(", max_contexts = 1", "");
    let broker = start_tcp_keys_broker(&listener, &datastore_route(&store.endpoint));
    let addr = tcp_addr(&broker.tcp);
    let first = gss_datastore(addr, GssService::Integrity).await;
    let second = gss_datastore(addr, GssService::Integrity).await;
    ds_put_bytes(&first, "k", b"one").await;
    // The second context pushes the first out of the table...
    ds_put_bytes(&second, "k", b"two").await;
    // ... whose client is answered CREDPROBLEM and makes a new one.
    assert_eq!(
        ds_get_bytes(&first, "k").await.unwrap().as_deref(),
        Some(&b"two"[..])
    );
    let evicted = "broker_gss_contexts_evicted_total";
    assert_eq!(sample_at_least(&broker, evicted, 2.0, EVENTUALLY), 2.0);
    assert_eq!(
        sample_at_least(&broker, "broker_gss_contexts_open", 1.0, EVENTUALLY),
        1.0
    );
    assert!(refusals(&broker, "credproblem", 1.0) >= 1.0);
}

/// The program `tests/c/gss_client.c` calls, served plain: a backend
/// knows no principal, so WHOAMI answers `backend` and service 0.
struct PlainEcho;

impl Dispatch for PlainEcho {
    fn program(&self) -> u32 {
        ECHO_PROGRAM
    }
    fn version(&self) -> u32 {
        ECHO_VERSION
    }
    fn dispatch(
        &self,
        ctx: CallContext,
        procedure: u32,
        args: xdr_codec::Decoder,
    ) -> BoxFuture<'static, DispatchOutcome> {
        match procedure {
            ECHO => handle(args, |data: Opaque<{ u32::MAX }>| async move { Ok(data) }),
            WHOAMI => handle(args, move |()| async move {
                let who = ctx.gss().map_or("backend", |c| c.principal()).to_owned();
                Ok((XdrString::<{ u32::MAX }>::from_bytes(who), 0u32))
            }),
            _ => proc_unavail(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_libtirpc_client_through_the_broker_at_each_service() {
    let kdc = Kdc::shared();
    let backend = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backend_addr = backend.local_addr().unwrap();
    let server = Server::builder().register(PlainEcho).build();
    tokio::spawn(async move { server.serve_tcp(backend).await });
    let route = format!(
        "[backends.echo]\naddress = \"tcp://{backend_addr}\"\n\n\
         [[routes]]\nprogram = {ECHO_PROGRAM:#x}\nversions = [1]\nbackend = \"echo\"\n"
    );
    let broker = start_tcp_keys_broker(&gss_listener(", required = true", ""), &route);
    let addr = tcp_addr(&broker.tcp);
    // Several 64 KiB fragments, within libtirpc's 256 KiB buffer.
    const BYTES: usize = 200_000;
    for service in [GssService::None, GssService::Integrity, GssService::Privacy] {
        let (code, out) =
            tokio::task::spawn_blocking(move || run_c_client(addr, SERVICE, service, BYTES, None))
                .await
                .unwrap();
        assert_eq!(code, 0, "{service}: {out}");
        assert!(out.contains("whoami backend 0"), "{service}: {out}");
        assert!(
            out.contains(&format!("echo {BYTES} ok")),
            "{service}: {out}"
        );
    }
    // Without a ticket there is no context.
    let empty = kdc.empty_cache();
    let (code, out) = tokio::task::spawn_blocking(move || {
        run_c_client(addr, SERVICE, GssService::Integrity, 10, Some(&empty))
    })
    .await
    .unwrap();
    assert_eq!(code, 3, "{out}");
}

/// `datastore-server --gss-service SERVICE --gss-required EXTRA...` on a
/// Unix socket (keytab from `KRB5_KTNAME`); killed on drop.
struct GssStore {
    _process: interop_tests::c_peer::CServer,
    endpoint: Endpoint,
    _dir: tempfile::TempDir,
}

fn start_gss_datastore_server(extra: &[&str]) -> GssStore {
    Kdc::shared();
    let dir = tempfile::Builder::new()
        .prefix("ds-gss-")
        .tempdir()
        .expect("tempdir");
    let endpoint = Endpoint::Unix(dir.path().join("ds.sock"));
    let mut cmd = std::process::Command::new(&bins().datastore_server);
    cmd.arg("--listen")
        .arg(url(&endpoint))
        .args(["--gss-service", SERVICE, "--gss-required"])
        .args(extra);
    let process = interop_tests::c_peer::CServer::spawn(cmd, endpoint.clone())
        .expect("start datastore-server");
    GssStore {
        _process: process,
        endpoint,
        _dir: dir,
    }
}

/// The datastore route to `store`, with `gss` as the backend's extra keys.
fn gss_backend_route(store: &Endpoint, gss: &str) -> String {
    format!(
        "[backends.store]\naddress = \"{}\"\n{gss}\n\n\
         [[routes]]\nprogram = 0x2000DA7A\nversions = [1]\nbackend = \"store\"\n",
        url(store)
    )
}

/// A plain datastore client of `addr` whose calls span 64 KiB fragments.
async fn plain_datastore(addr: SocketAddr) -> DatastoreV1Client {
    let client = Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .max_fragment_bytes(64 * 1024)
        .connect_tcp(addr)
        .await
        .unwrap();
    DatastoreV1Client::new(client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_speaks_rpcsec_gss_to_a_backend_that_requires_it() {
    let store = start_gss_datastore_server(&[]);
    // More than one 64 KiB fragment each way.
    let big: Vec<u8> = (0..(1u32 << 20) + 13).map(|i| (i % 241) as u8).collect();
    for level in ["krb5i", "krb5p"] {
        let gss = format!("gss = {{ service = \"{SERVICE}\", service_level = \"{level}\" }}");
        let broker = start_broker(&gss_backend_route(&store.endpoint, &gss));
        let c = plain_datastore(tcp_addr(&broker.tcp)).await;
        ds_put_bytes(&c, level, &big).await;
        assert_eq!(ds_get_bytes(&c, level).await.unwrap().as_ref(), Some(&big));
        assert_eq!(ds_get_bytes(&c, "absent").await.unwrap(), None);
        let made = "broker_gss_backend_contexts_total";
        assert!(sample_at_least(&broker, made, 1.0, EVENTUALLY) >= 1.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_requiring_rpcsec_gss_refuses_a_broker_without_it() {
    let store = start_gss_datastore_server(&[]);
    let broker = start_broker(&gss_backend_route(&store.endpoint, ""));
    let c = plain_datastore(tcp_addr(&broker.tcp)).await;
    let answer = tokio::time::timeout(EVENTUALLY, ds_get_bytes(&c, "k"))
        .await
        .expect("an answer, not a hang");
    assert!(
        matches!(answer, Err(RpcError::AuthError(AuthStat::TooWeak))),
        "{answer:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_context_that_cannot_be_made_counts_as_a_failed_connect() {
    let store = start_gss_datastore_server(&[]);
    // The backend has no key for this service: it refuses the context.
    let gss = format!("gss = {{ service = \"{OTHER_SERVICE}\" }}");
    let broker = start_broker(&gss_backend_route(&store.endpoint, &gss));
    let c = plain_datastore(tcp_addr(&broker.tcp)).await;
    let answer = tokio::time::timeout(EVENTUALLY, ds_get_bytes(&c, "k"))
        .await
        .expect("an answer, not a hang");
    assert!(answer.is_err(), "{answer:?}");
    let failed = "broker_gss_backend_context_failures_total{reason=\"refused\"}";
    assert!(sample_at_least(&broker, failed, 1.0, EVENTUALLY) >= 1.0);
    let made = "broker_gss_backend_contexts_total";
    assert_eq!(sample(&http_get(broker.metrics, "/metrics").1, made), 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_that_loses_the_context_gets_a_new_one() {
    // The backend holds one context: another client's pushes the broker's out.
    let store = start_gss_datastore_server(&["--gss-max-contexts", "1"]);
    let gss = format!("gss = {{ service = \"{SERVICE}\" }}");
    let broker = start_broker(&gss_backend_route(&store.endpoint, &gss));
    let c = plain_datastore(tcp_addr(&broker.tcp)).await;
    ds_put_bytes(&c, "k", b"one").await;
    let Endpoint::Unix(path) = &store.endpoint else {
        unreachable!("a Unix socket")
    };
    let other = Client::connect_unix(path)
        .await
        .unwrap()
        .with_gss(&ClientGss::new(SERVICE))
        .unwrap();
    let other = DatastoreV1Client::new(other);
    assert_eq!(
        ds_get_bytes(&other, "k").await.unwrap().as_deref(),
        Some(&b"one"[..])
    );
    // The broker's next call is answered RPCSEC_GSS_CREDPROBLEM: it
    // closes the connection and makes a new one with a new context.
    let started = std::time::Instant::now();
    loop {
        match ds_get_bytes(&c, "k").await {
            Ok(v) => {
                assert_eq!(v.as_deref(), Some(&b"one"[..]));
                break;
            }
            Err(e) => assert!(started.elapsed() < EVENTUALLY, "{e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let lost = "broker_gss_backend_context_failures_total{reason=\"context_lost\"}";
    assert!(sample_at_least(&broker, lost, 1.0, EVENTUALLY) >= 1.0);
    let made = "broker_gss_backend_contexts_total";
    assert!(sample_at_least(&broker, made, 2.0, EVENTUALLY) >= 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_connection_the_broker_closes_destroys_its_context() {
    // The backend is a second broker ending RPCSEC_GSS on its listener,
    // whose metrics count the contexts it holds.
    Kdc::shared();
    let store = start_datastore_server();
    let inner = start_tcp_keys_broker(&gss_listener("", ""), &datastore_route(&store.endpoint));
    let gss = format!("gss = {{ service = \"{SERVICE}\", service_level = \"krb5i\" }}");
    let outer = start_broker(&gss_backend_route(&inner.tcp, &gss));
    let c = plain_datastore(tcp_addr(&outer.tcp)).await;
    ds_put_bytes(&c, "k", b"through two brokers").await;
    let open = "broker_gss_contexts_open";
    assert_eq!(sample_at_least(&inner, open, 1.0, EVENTUALLY), 1.0);
    // A reload that routes the program straight to the store closes the
    // connection to the inner broker: its context goes with it.
    let direct = format!(
        "[backends.direct]\naddress = \"{}\"\n\n\
         [[routes]]\nprogram = 0x2000DA7A\nversions = [1]\nbackend = \"direct\"\n",
        url(&store.endpoint)
    );
    std::fs::write(&outer.config, outer.config_text(&direct)).unwrap();
    ctl_ok(&outer, &["reload"]);
    let deadline = std::time::Instant::now() + EVENTUALLY;
    while sample(&http_get(inner.metrics, "/metrics").1, open) > 0.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the inner broker still holds the context"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        ds_get_bytes(&c, "k").await.unwrap().as_deref(),
        Some(&b"through two brokers"[..])
    );
}
