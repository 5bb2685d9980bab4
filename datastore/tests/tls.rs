//! RPC-over-TLS (RFC 9289) against a real `datastore-server` process:
//! an independent peer (`tests/tls/rpc_tls_peer.py`, Python's standard
//! `ssl` module) and our own client, with certificates made by `rcgen`
//! for each run.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rpc_runtime::message::AuthStat;
use rpc_runtime::tls::{load_certs, ClientTls};
use rpc_runtime::{Client, RpcError};

const PROG: u32 = 0x2000_DA7A;

/// A CA and a server certificate for `localhost` / 127.0.0.1 in PEM
/// files, and a second CA that signed nothing of the server's.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params("datastore test CA").self_signed(&ca_key).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        let server = params.signed_by(&server_key, &ca, &ca_key).unwrap();
        let other_key = KeyPair::generate().unwrap();
        let other = ca_params("unrelated CA").self_signed(&other_key).unwrap();
        let write = |name: &str, pem: String| std::fs::write(dir.path().join(name), pem).unwrap();
        write("ca.pem", ca.pem());
        write("server.pem", server.pem());
        write("server.key", server_key.serialize_pem());
        write("other-ca.pem", other.pem());
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params
}

/// A `datastore-server` on a free loopback TCP port, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(pki: &Pki, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_datastore-server"))
            .arg("--listen")
            .arg("tcp://127.0.0.1:0")
            .arg("--tls-cert")
            .arg(pki.path("server.pem"))
            .arg("--tls-key")
            .arg(pki.path("server.key"))
            .args(extra)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (tx, rx) = mpsc::channel();
        // Reads the log to its end, so the server never blocks on it.
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if let Some(rest) = line.split("endpoint=tcp://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("datastore-server logs its TCP listener")
            .parse()
            .unwrap();
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the Python peer; returns its output, asserting it succeeded.
fn python(mode: &str, server: &Server, tls: Option<(&Path, &str)>) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls/rpc_tls_peer.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script)
        .arg(mode)
        .arg(server.addr.ip().to_string())
        .arg(server.addr.port().to_string());
    if let Some((cafile, name)) = tls {
        cmd.arg(cafile).arg(name);
    }
    let out = cmd.output().expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "rpc_tls_peer.py {mode}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

async fn tls_client(pki: &Pki, server: &Server, name: &str) -> Result<Client, RpcError> {
    let tls = ClientTls::new(load_certs(pki.path("ca.pem")).unwrap(), name).unwrap();
    Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_tls(server.addr, PROG, 1, &tls)
        .await
}

#[tokio::test]
async fn python_ssl_peer_and_our_client_over_tls() {
    let pki = Pki::new();
    let server = Server::start(&pki, &[]);
    let ca = pki.path("ca.pem");

    let out = python("tls", &server, Some((&ca, "localhost")));
    assert!(out.contains("probe: STARTTLS verifier"), "{out}");
    assert!(out.contains("tls: TLSv1.3, ALPN sunrpc"), "{out}");
    assert!(out.contains("DS_GET: the same 100000 bytes, eof"), "{out}");
    // TLS is offered, not required: a plain peer is served.
    assert!(python("plain-ok", &server, None).contains("SUCCESS"));

    // Bad certificates: a CA that did not sign the server's, and a name
    // the certificate does not carry.
    let out = python(
        "bad-cert",
        &server,
        Some((&pki.path("other-ca.pem"), "localhost")),
    );
    assert!(out.contains("handshake refused"), "{out}");
    let out = python("bad-cert", &server, Some((&ca, "elsewhere.example")));
    assert!(out.contains("handshake refused"), "{out}");

    let client = tls_client(&pki, &server, "localhost").await.unwrap();
    let () = client.call(PROG, 1, 0, &()).await.unwrap();
    assert!(tls_client(&pki, &server, "elsewhere.example")
        .await
        .is_err());
}

#[tokio::test]
async fn tls_required_refuses_plain_calls() {
    let pki = Pki::new();
    let server = Server::start(&pki, &["--tls-required"]);

    let out = python("plain-refused", &server, None);
    assert!(out.contains("MSG_DENIED AUTH_ERROR AUTH_TOOWEAK"), "{out}");
    let plain = Client::connect_tcp(server.addr).await.unwrap();
    assert!(matches!(
        plain.call::<_, ()>(PROG, 1, 0, &()).await,
        Err(RpcError::AuthError(AuthStat::TooWeak))
    ));

    let out = python("tls", &server, Some((&pki.path("ca.pem"), "127.0.0.1")));
    assert!(out.contains("DS_PUT: 100000 bytes"), "{out}");
    let client = tls_client(&pki, &server, "localhost").await.unwrap();
    let () = client.call(PROG, 1, 0, &()).await.unwrap();
}

#[test]
fn silent_connection_closed_after_the_handshake_timeout() {
    use std::io::Read;
    let pki = Pki::new();
    let server = Server::start(&pki, &["--tls-required", "--tls-handshake-timeout", "0.5"]);
    let mut silent = std::net::TcpStream::connect(server.addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 1];
    // 0 bytes: closed by the server; an error would be the 30 s timeout.
    assert_eq!(silent.read(&mut buf).unwrap(), 0);
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[test]
fn tls_switches_are_checked_at_startup() {
    let pki = Pki::new();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_datastore-server"))
            .args(args)
            .output()
            .unwrap()
    };
    let cert = pki.path("server.pem");
    let key = pki.path("server.key");
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    // A UDP listener cannot carry TLS, so it cannot be required there.
    let out = run(&[
        "--listen",
        "udp://127.0.0.1:0",
        "--tls-cert",
        cert,
        "--tls-key",
        key,
        "--tls-required",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot carry TLS"));
    // A certificate without its key.
    assert!(!run(&["--tls-cert", cert]).status.success());
    // A key file that holds no key.
    let out = run(&["--tls-cert", cert, "--tls-key", cert]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no private key"));
}
