//! Our client against our server, over RPC-over-TLS and plain TCP, with
//! certificates made by `rcgen` for each test.

use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use xdr_codec::{Opaque, XdrString};

use super::{ClientTls, ServerTls, TlsError};
use crate::codegen::{handle, proc_unavail, BoxFuture};
use crate::message::AuthStat;
use crate::server::{CallContext, Dispatch, DispatchOutcome, PeerAddr, SubjectAltName};
use crate::{Client, RpcError, Server};

const PROG: u32 = 0x2000_0777;

/// Procedure 1 tells who called: "plain", "tls" or "tls CN=... SAN=...".
/// Procedure 2 echoes its opaque argument.
struct WhoAmI;

fn describe(peer: &PeerAddr) -> String {
    match peer {
        PeerAddr::Tls(tls) => match &tls.certificate {
            None => "tls".to_owned(),
            Some(cert) => {
                let dns: Vec<&str> = cert
                    .subject_alt_names
                    .iter()
                    .filter_map(|n| match n {
                        SubjectAltName::Dns(d) => Some(d.as_str()),
                        _ => None,
                    })
                    .collect();
                format!(
                    "tls CN={} SAN={}",
                    cert.common_name.as_deref().unwrap_or("-"),
                    dns.join(",")
                )
            }
        },
        _ => "plain".to_owned(),
    }
}

impl Dispatch for WhoAmI {
    fn program(&self) -> u32 {
        PROG
    }
    fn version(&self) -> u32 {
        1
    }
    fn dispatch(
        &self,
        ctx: CallContext,
        procedure: u32,
        args: xdr_codec::Decoder,
    ) -> BoxFuture<'static, DispatchOutcome> {
        match procedure {
            1 => handle(args, move |()| async move {
                Ok(XdrString::<{ u32::MAX }>::from(describe(ctx.peer())))
            }),
            2 => handle(args, |data: Opaque| async move { Ok(data) }),
            _ => proc_unavail(),
        }
    }
}

struct Issued {
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

struct Ca {
    issuer: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let issuer = params.self_signed(&key).unwrap();
        Ca { issuer, key }
    }

    fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    fn issue(&self, common_name: &str, sans: &[&str]) -> Issued {
        let mut params =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer, &self.key).unwrap();
        Issued {
            cert: cert.der().clone(),
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }
}

async fn start(server_tls: Option<ServerTls>) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = Server::builder().register(WhoAmI).build();
    tokio::spawn(async move {
        match server_tls {
            Some(tls) => server.serve_tcp_tls(listener, tls).await,
            None => server.serve_tcp(listener).await,
        }
    });
    addr
}

async fn connect(addr: std::net::SocketAddr, tls: &ClientTls) -> Result<Client, RpcError> {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_tls(addr, PROG, 1, tls)
        .await
}

/// Whether the server ends the connection: with TLS 1.3 the client may
/// learn that only at its first read, after the handshake.
async fn refused(addr: std::net::SocketAddr, tls: &ClientTls) -> bool {
    match connect(addr, tls).await {
        Err(_) => true,
        Ok(client) => who(&client).await.is_err(),
    }
}

/// A client trusting `ca` for the server's certificate, presenting `cert`.
fn with_cert(ca: &Ca, cert: Issued) -> ClientTls {
    ClientTls::with_client_auth(vec![ca.der()], "localhost", vec![cert.cert], cert.key).unwrap()
}

async fn who(client: &Client) -> Result<String, RpcError> {
    let s: XdrString = client.call(PROG, 1, 1, &()).await?;
    Ok(s.as_str().unwrap_or("(not UTF-8)").to_owned())
}

/// Waits (up to 10 s) until `count` reads `want`: the server counts a
/// refusal after the client has seen it.
async fn counted(count: impl Fn() -> u64, want: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while count() != want && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(count(), want);
}

/// The error of type `E` inside a transport error.
fn inner<E: std::error::Error + 'static>(e: &RpcError) -> Option<&E> {
    match e {
        RpcError::Transport(io) => io.get_ref()?.downcast_ref::<E>(),
        _ => None,
    }
}

#[tokio::test]
async fn tls_and_plain_on_one_listener() {
    let ca = Ca::new("test CA");
    let server = ca.issue("localhost", &["localhost"]);
    let addr = start(Some(ServerTls::new(vec![server.cert], server.key).unwrap())).await;

    let tls = ClientTls::new(vec![ca.der()], "localhost").unwrap();
    let client = connect(addr, &tls).await.unwrap();
    let () = client.call(PROG, 1, 0, &()).await.unwrap();
    assert_eq!(who(&client).await.unwrap(), "tls");
    // A record larger than one TLS record (16 KiB) and than one read.
    let big = bytes::Bytes::from(vec![0xA5u8; 1 << 20]);
    let back: Opaque = client
        .call(PROG, 1, 2, &Opaque::<{ u32::MAX }>::new(big.clone()))
        .await
        .unwrap();
    assert_eq!(back.into_bytes(), big);

    // The same listener serves a client that does not probe.
    let plain = Client::connect_tcp(addr).await.unwrap();
    assert_eq!(who(&plain).await.unwrap(), "plain");

    // The IP address SAN verifies too.
    let by_ip = ClientTls::new(vec![ca.der()], "127.0.0.1").unwrap();
    let client = connect(addr, &by_ip).await.unwrap();
    assert_eq!(who(&client).await.unwrap(), "tls");
}

#[tokio::test]
async fn required_tls_refuses_plain_calls_with_auth_tooweak() {
    let ca = Ca::new("test CA");
    let server = ca.issue("localhost", &["localhost"]);
    let tls = ServerTls::new(vec![server.cert], server.key)
        .unwrap()
        .required(true);
    let stats = std::sync::Arc::clone(tls.stats());
    let addr = start(Some(tls)).await;

    let plain = Client::connect_tcp(addr).await.unwrap();
    for _ in 0..3 {
        assert!(matches!(
            who(&plain).await,
            Err(RpcError::AuthError(AuthStat::TooWeak))
        ));
    }
    assert!(matches!(
        plain.call::<_, ()>(PROG, 1, 0, &()).await,
        Err(RpcError::AuthError(AuthStat::TooWeak))
    ));
    assert_eq!(stats.plain_calls_refused(), 4);

    let client = connect(addr, &ClientTls::new(vec![ca.der()], "localhost").unwrap())
        .await
        .unwrap();
    assert_eq!(who(&client).await.unwrap(), "tls");
    assert_eq!(stats.handshakes_failed() + stats.certificates_refused(), 0);
}

#[tokio::test]
async fn mutual_tls_identity_reaches_the_handler() {
    let ca = Ca::new("test CA");
    let server = ca.issue("localhost", &["localhost"]);
    let client_cert = ca.issue("client-one", &["client-one.example"]);
    let tls =
        ServerTls::with_client_auth(vec![server.cert], server.key, vec![ca.der()], true).unwrap();
    let stats = std::sync::Arc::clone(tls.stats());
    let addr = start(Some(tls)).await;

    let mutual = with_cert(&ca, client_cert);
    let client = connect(addr, &mutual).await.unwrap();
    assert_eq!(
        who(&client).await.unwrap(),
        "tls CN=client-one SAN=client-one.example"
    );

    // Without a client certificate, or with one from another CA, the
    // server ends the handshake.
    let anonymous = ClientTls::new(vec![ca.der()], "localhost").unwrap();
    assert!(refused(addr, &anonymous).await);
    let intruder = Ca::new("other CA").issue("intruder", &["intruder.example"]);
    assert!(refused(addr, &with_cert(&ca, intruder)).await);
    counted(|| stats.certificates_refused(), 2).await;
    assert_eq!(stats.handshakes_failed(), 0);
}

#[tokio::test]
async fn optional_client_certificate() {
    let ca = Ca::new("test CA");
    let server = ca.issue("localhost", &["localhost"]);
    let client_cert = ca.issue("client-two", &["client-two.example"]);
    let tls =
        ServerTls::with_client_auth(vec![server.cert], server.key, vec![ca.der()], false).unwrap();
    let addr = start(Some(tls)).await;
    let anonymous = ClientTls::new(vec![ca.der()], "localhost").unwrap();
    let client = connect(addr, &anonymous).await.unwrap();
    assert_eq!(who(&client).await.unwrap(), "tls");
    let mutual = with_cert(&ca, client_cert);
    let client = connect(addr, &mutual).await.unwrap();
    assert_eq!(
        who(&client).await.unwrap(),
        "tls CN=client-two SAN=client-two.example"
    );
}

#[tokio::test]
async fn server_certificate_checks() {
    let ca = Ca::new("test CA");
    let server = ca.issue("localhost", &["localhost"]);
    let tls = ServerTls::new(vec![server.cert], server.key).unwrap();
    let stats = std::sync::Arc::clone(tls.stats());
    let addr = start(Some(tls)).await;

    // Trusting another CA: the handshake fails.
    let wrong_ca = ClientTls::new(vec![Ca::new("other CA").der()], "localhost").unwrap();
    let e = connect(addr, &wrong_ca).await.unwrap_err();
    assert!(
        matches!(
            inner::<rustls::Error>(&e),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
        ),
        "{e}"
    );

    // The right CA, a name the certificate does not carry.
    let wrong_name = ClientTls::new(vec![ca.der()], "elsewhere.example").unwrap();
    let e = connect(addr, &wrong_name).await.unwrap_err();
    assert!(
        matches!(
            inner::<rustls::Error>(&e),
            Some(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. }
            ))
        ),
        "{e}"
    );
    // The server learns it from the client's alerts.
    counted(|| stats.certificates_refused(), 2).await;
}

#[tokio::test]
async fn tls_client_against_a_plain_server() {
    let ca = Ca::new("test CA");
    let addr = start(None).await;
    let tls = ClientTls::new(vec![ca.der()], "localhost").unwrap();
    let e = connect(addr, &tls).await.unwrap_err();
    assert!(
        matches!(inner::<TlsError>(&e), Some(TlsError::NotOffered)),
        "{e}"
    );
}

#[tokio::test]
async fn silent_peer_is_dropped_after_the_handshake_timeout() {
    let ca = Ca::new("test CA");
    let server = ca.issue("localhost", &["localhost"]);
    let tls = ServerTls::new(vec![server.cert], server.key)
        .unwrap()
        .required(true)
        .handshake_timeout(Duration::from_millis(300));
    let stats = std::sync::Arc::clone(tls.stats());
    let addr = start(Some(tls)).await;
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::io::AsyncReadExt::read(&mut idle, &mut buf),
    )
    .await
    .expect("the server closes the connection")
    .unwrap_or(0);
    assert_eq!(n, 0);
    // No probe, so no handshake: nothing refused.
    assert_eq!(stats.handshakes_failed() + stats.plain_calls_refused(), 0);
}

#[tokio::test]
async fn a_stalled_handshake_counts_as_failed() {
    let ca = Ca::new("test CA");
    let server = ca.issue("localhost", &["localhost"]);
    let first = ServerTls::new(vec![server.cert], server.key).unwrap();
    let stats = std::sync::Arc::clone(first.stats());
    // A configuration built later (renewed certificates) counts in the
    // counters it is given.
    let renewed = ca.issue("localhost", &["localhost"]);
    let tls = ServerTls::new(vec![renewed.cert], renewed.key)
        .unwrap()
        .with_stats(std::sync::Arc::clone(&stats))
        .handshake_timeout(Duration::from_millis(300));
    let addr = start(Some(tls)).await;
    // The probe, then silence where the ClientHello should come.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let probe = super::probe::probe_call(1, PROG, 1);
    super::probe::write_record(&mut stream, &probe)
        .await
        .unwrap();
    counted(|| stats.handshakes_failed(), 1).await;
    assert_eq!(stats.certificates_refused(), 0);
}
