//! RPC-over-TLS (RFC 9289) through a real `broker` process: clients on a
//! TLS listener, the broker to a TLS-only `datastore-server`, plain and
//! badly certified clients refused (and counted in
//! `broker_tls_refusals_total`), and certificates swapped by SIGHUP
//! without dropping a connected client. Certificates are made by `rcgen`
//! for each run.

mod broker_support;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use broker_support::*;
use datastore::proto::DatastoreV1Client;
use interop_tests::c_peer::{free_tcp_port, CServer, Endpoint};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rpc_runtime::message::AuthStat;
use rpc_runtime::tls::{load_certs, load_private_key, ClientTls};
use rpc_runtime::{Client, RpcError};

const PROG: u32 = 0x2000_DA7A;

/// Time for anything that only has to happen eventually on a loaded
/// machine.
const EVENTUALLY: Duration = Duration::from_secs(60);

/// A certification authority that issues certificates into PEM files.
struct Ca {
    issuer: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str, dir: &Path) -> Ca {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let issuer = params.self_signed(&key).unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), issuer.pem()).unwrap();
        Ca { issuer, key }
    }

    /// A certificate for `localhost` and 127.0.0.1 (common name `cn`),
    /// written to `NAME.pem` and `NAME.key` in `dir`.
    fn issue(&self, cn: &str, dir: &Path, name: &str) {
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer, &self.key).unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    }
}

fn path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

/// A client that trusts the CA in `ca` (a PEM file) and presents the
/// certificate `NAME.pem` / `NAME.key` from `dir` if `cert` names one.
fn client_tls(dir: &Path, ca: &str, cert: Option<&str>) -> ClientTls {
    let roots = load_certs(path(dir, ca)).unwrap();
    match cert {
        None => ClientTls::new(roots, "localhost").unwrap(),
        Some(name) => ClientTls::with_client_auth(
            roots,
            "localhost",
            load_certs(path(dir, &format!("{name}.pem"))).unwrap(),
            load_private_key(path(dir, &format!("{name}.key"))).unwrap(),
        )
        .unwrap(),
    }
}

fn tcp_addr(e: &Endpoint) -> SocketAddr {
    match e {
        Endpoint::Tcp(a) => *a,
        Endpoint::Unix(p) => panic!("{} is not TCP", p.display()),
    }
}

async fn connect_tls(addr: SocketAddr, tls: &ClientTls) -> Result<DatastoreV1Client, RpcError> {
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_tls(addr, PROG, 1, tls)
        .await?;
    Ok(DatastoreV1Client::new(client))
}

/// Whether the broker refuses a client with `tls`: the handshake fails,
/// or (TLS 1.3 sends the client's certificate after the client has
/// finished) its first call finds the connection closed.
async fn refused(addr: SocketAddr, tls: &ClientTls) -> bool {
    match connect_tls(addr, tls).await {
        Err(_) => true,
        Ok(c) => ds_get_bytes(&c, "k").await.is_err(),
    }
}

/// The broker's `broker_tls_refusals_total{reason=REASON}` once it is at
/// least `at_least` (waiting for it: the broker counts after the client
/// has seen the refusal).
fn refusals(broker: &BrokerProcess, reason: &str, at_least: f64) -> f64 {
    let series = format!("broker_tls_refusals_total{{reason=\"{reason}\"}}");
    sample_at_least(broker, &series, at_least, EVENTUALLY)
}

/// Sends the AUTH_TLS probe (RFC 9289 section 4.1) on a new connection to
/// `addr`, checks the STARTTLS verifier in the reply, then sends nothing
/// until the server closes the connection.
async fn stall_after_probe(addr: SocketAddr) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    // xid, CALL, rpcvers 2, program, version 1, NULL, cred AUTH_TLS
    // (7) with an empty body, verf AUTH_NONE.
    let words = [1u32, 0, 2, PROG, 1, 0, 7, 0, 0, 0];
    let mut record = (0x8000_0000u32 | 40).to_be_bytes().to_vec();
    record.extend(words.iter().flat_map(|w| w.to_be_bytes()));
    s.write_all(&record).await.unwrap();
    let mut reply = [0u8; 36];
    s.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply[24..32], b"STARTTLS", "probe reply {reply:?}");
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(EVENTUALLY, s.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the broker keeps a stalled handshake open");
}

/// A `datastore-server` on a free loopback port that requires
/// RPC-over-TLS with the certificate `NAME.pem` / `NAME.key` in `dir`.
fn start_tls_datastore(dir: &Path, name: &str) -> CServer {
    let port = free_tcp_port().unwrap();
    let endpoint = Endpoint::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    let mut cmd = Command::new(&bins().datastore_server);
    cmd.arg("--listen")
        .arg(url(&endpoint))
        .arg("--tls-cert")
        .arg(path(dir, &format!("{name}.pem")))
        .arg("--tls-key")
        .arg(path(dir, &format!("{name}.key")))
        .arg("--tls-required");
    CServer::spawn(cmd, endpoint).expect("start datastore-server --tls-required")
}

/// The route to one TLS backend at `backend`, trusting `ca.pem`.
fn tls_route(backend: &Endpoint, dir: &Path) -> String {
    format!(
        "[backends.store]\naddress = \"{}\"\ntls = {{ ca = \"{}\", server_name = \"localhost\" }}\n\n\
         [[routes]]\nprogram = 0x2000DA7A\nversions = [1]\nbackend = \"store\"\n",
        url(backend),
        path(dir, "ca.pem").display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_clients_through_the_broker_to_a_tls_backend() {
    let pki = tempfile::tempdir().unwrap();
    let dir = pki.path();
    let ca = Ca::new("ca", dir);
    ca.issue("broker", dir, "broker");
    ca.issue("store", dir, "store");
    ca.issue("client-one", dir, "client");
    Ca::new("other", dir).issue("intruder", dir, "intruder");
    let store = start_tls_datastore(dir, "store");
    let listener_tls = format!(
        "{{ cert = \"{}\", key = \"{}\", client_ca = \"{}\", required = true, \
         handshake_timeout_ms = 3000 }}",
        path(dir, "broker.pem").display(),
        path(dir, "broker.key").display(),
        path(dir, "ca.pem").display()
    );
    let broker = start_tls_broker(&listener_tls, &tls_route(store.endpoint(), dir));
    let addr = tcp_addr(&broker.tcp);

    // Mutual TLS to the broker, TLS from the broker to the backend (which
    // refuses anything else); a record of more than one TLS record each
    // way.
    let good = client_tls(dir, "ca.pem", Some("client"));
    let c = connect_tls(addr, &good)
        .await
        .expect("TLS through the broker");
    let big: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 251) as u8).collect();
    ds_put_bytes(&c, "big", &big).await;
    assert_eq!(ds_get_bytes(&c, "big").await.unwrap(), Some(big));
    ds_put_bytes(&c, "k", b"v").await;
    assert_eq!(
        ds_get_bytes(&c, "k").await.unwrap().as_deref(),
        Some(&b"v"[..])
    );

    // A plain client gets the RFC's answer to every call, on a
    // connection that stays open.
    let plain = DatastoreV1Client::new(Client::connect_tcp(addr).await.unwrap());
    for _ in 0..2 {
        assert!(
            matches!(
                ds_get_bytes(&plain, "k").await,
                Err(RpcError::AuthError(AuthStat::TooWeak))
            ),
            "plain call on a TLS-required listener"
        );
    }
    assert!(refusals(&broker, "plain_call", 2.0) >= 2.0);

    // Bad certificates: none, one from another CA, and the client not
    // trusting the broker's.
    assert!(refused(addr, &client_tls(dir, "ca.pem", None)).await);
    assert!(refused(addr, &client_tls(dir, "ca.pem", Some("intruder"))).await);
    assert!(refused(addr, &client_tls(dir, "other.pem", Some("client"))).await);
    assert_eq!(refusals(&broker, "certificate", 3.0), 3.0);

    // A client that probes and then stalls in the handshake is closed
    // at handshake_timeout_ms, and counted.
    let started = Instant::now();
    stall_after_probe(addr).await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "closed too early"
    );
    assert!(refusals(&broker, "handshake", 1.0) >= 1.0);

    // The good client is still served.
    assert_eq!(
        ds_get_bytes(&c, "k").await.unwrap().as_deref(),
        Some(&b"v"[..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_swaps_the_certificate_without_dropping_a_client() {
    let pki = tempfile::tempdir().unwrap();
    let dir = pki.path();
    let first = Ca::new("ca", dir);
    let second = Ca::new("second", dir);
    first.issue("broker", dir, "broker");
    let store = start_datastore_server();
    let listener_tls = format!(
        "{{ cert = \"{}\", key = \"{}\" }}",
        path(dir, "broker.pem").display(),
        path(dir, "broker.key").display()
    );
    let broker = start_tls_broker(&listener_tls, &datastore_route(&store.endpoint));
    let addr = tcp_addr(&broker.tcp);
    let trusts_first = client_tls(dir, "ca.pem", None);
    let trusts_second = client_tls(dir, "second.pem", None);

    let connected = connect_tls(addr, &trusts_first).await.unwrap();
    ds_put_bytes(&connected, "k", b"before").await;
    assert!(refused(addr, &trusts_second).await);
    // TLS is offered, not required: a client that does not probe is
    // served plain on the same listener.
    let plain = DatastoreV1Client::new(Client::connect_tcp(addr).await.unwrap());
    assert_eq!(
        ds_get_bytes(&plain, "k").await.unwrap().as_deref(),
        Some(&b"before"[..])
    );

    // The files get a certificate from the second CA; SIGHUP.
    second.issue("broker renewed", dir, "broker");
    signal(broker.process.pid(), "-HUP");
    let deadline = Instant::now() + EVENTUALLY;
    let renewed = loop {
        match connect_tls(addr, &trusts_second).await {
            Ok(c) => match ds_get_bytes(&c, "k").await {
                Ok(v) => break (c, v),
                Err(e) => assert!(Instant::now() < deadline, "after SIGHUP: {e}"),
            },
            Err(e) => assert!(Instant::now() < deadline, "after SIGHUP: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(renewed.1.as_deref(), Some(&b"before"[..]));
    // New connections see only the new certificate...
    assert!(refused(addr, &trusts_first).await);
    // ... and the client connected before keeps its session.
    ds_put_bytes(&connected, "k", b"after").await;
    assert_eq!(
        ds_get_bytes(&renewed.0, "k").await.unwrap().as_deref(),
        Some(&b"after"[..])
    );

    // A reload with a certificate file that does not parse keeps the one
    // in force, and says so.
    std::fs::write(path(dir, "broker.pem"), "not a certificate\n").unwrap();
    let out = ctl_ok(&broker, &["reload"]);
    assert!(
        out.contains("listen[0].tls") && out.contains("previous certificate stays"),
        "{out}"
    );
    let c = connect_tls(addr, &trusts_second).await.unwrap();
    assert_eq!(
        ds_get_bytes(&c, "k").await.unwrap().as_deref(),
        Some(&b"after"[..])
    );
    assert_eq!(
        ds_get_bytes(&connected, "k").await.unwrap().as_deref(),
        Some(&b"after"[..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_whose_certificate_does_not_verify_is_not_used() {
    let pki = tempfile::tempdir().unwrap();
    let dir = pki.path();
    Ca::new("ca", dir);
    // The backend's certificate comes from a CA the broker does not trust.
    Ca::new("other", dir).issue("store", dir, "store");
    let store = start_tls_datastore(dir, "store");
    let rest = format!(
        "[limits]\ncall_timeout_ms = 3000\n\n{}",
        tls_route(store.endpoint(), dir)
    );
    let broker = start_broker(&rest);
    let c = connect_datastore(&broker.tcp, Duration::from_secs(30)).await;
    // The call is answered by the broker (no backend up), never sent in
    // the clear.
    assert!(matches!(
        ds_get_bytes(&c, "k").await,
        Err(RpcError::SystemErr)
    ));
    // Its connections fail (counted as failures) and none comes up.
    let deadline = Instant::now() + EVENTUALLY;
    loop {
        let status = ctl_ok(&broker, &["status"]);
        let line = status
            .lines()
            .find(|l| l.trim_start().starts_with("store "))
            .unwrap_or_default()
            .to_owned();
        assert!(
            !line.contains("healthy") && line.contains("connections 0/1"),
            "{status}"
        );
        if !line.contains(" 0 failure(s)") {
            break;
        }
        assert!(Instant::now() < deadline, "no failed connection: {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Counted by reason, not only as reconnects.
    let series = "broker_backend_tls_failures_total{backend=\"store\",reason=\"certificate\"}";
    assert!(sample_at_least(&broker, series, 1.0, EVENTUALLY) >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_that_does_not_offer_tls_is_counted() {
    let pki = tempfile::tempdir().unwrap();
    let dir = pki.path();
    Ca::new("ca", dir);
    // A plain datastore-server on TCP: it answers the AUTH_TLS probe
    // without the STARTTLS verifier.
    let port = free_tcp_port().unwrap();
    let endpoint = Endpoint::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    let mut cmd = Command::new(&bins().datastore_server);
    cmd.arg("--listen").arg(url(&endpoint));
    let store = CServer::spawn(cmd, endpoint).expect("start datastore-server");
    let broker = start_broker(&tls_route(store.endpoint(), dir));
    let series = "broker_backend_tls_failures_total{backend=\"store\",reason=\"not_offered\"}";
    assert!(sample_at_least(&broker, series, 1.0, EVENTUALLY) >= 1.0);
    let (_, page) = http_get(broker.metrics, "/metrics");
    let certificate = "broker_backend_tls_failures_total{backend=\"store\",reason=\"certificate\"}";
    assert_eq!(sample(&page, certificate), 0.0, "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_tls_names_admits_only_the_listed_client_certificates() {
    let pki = tempfile::tempdir().unwrap();
    let dir = pki.path();
    let ca = Ca::new("ca", dir);
    ca.issue("broker", dir, "broker");
    ca.issue("client-one", dir, "one");
    ca.issue("client-two", dir, "two");
    let store = start_datastore_server();
    let keys = format!(
        "tls = {{ cert = \"{}\", key = \"{}\", client_ca = \"{}\", required = true }}, \
         allow_tls_names = [\"client-one\"]",
        path(dir, "broker.pem").display(),
        path(dir, "broker.key").display(),
        path(dir, "ca.pem").display()
    );
    let broker = start_tcp_keys_broker(&keys, &datastore_route(&store.endpoint));
    let addr = tcp_addr(&broker.tcp);
    // The certificate's common name is on the list.
    let one = connect_tls(addr, &client_tls(dir, "ca.pem", Some("one")))
        .await
        .unwrap();
    ds_put_bytes(&one, "k", b"v").await;
    assert_eq!(
        ds_get_bytes(&one, "k").await.unwrap().as_deref(),
        Some(&b"v"[..])
    );
    // Signed by the same CA, but named otherwise: refused call by call.
    let two = connect_tls(addr, &client_tls(dir, "ca.pem", Some("two")))
        .await
        .unwrap();
    for _ in 0..2 {
        assert!(
            matches!(
                ds_get_bytes(&two, "k").await,
                Err(RpcError::AuthError(AuthStat::TooWeak))
            ),
            "a certificate off allow_tls_names"
        );
    }
    let (_, page) = http_get(broker.metrics, "/metrics");
    let refused = "broker_calls_total{program=\"unrouted\",backend=\"none\",status=\"auth_error\"}";
    assert_eq!(sample(&page, refused), 2.0, "{page}");
}
