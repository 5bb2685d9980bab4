//! [`Kdc`]: a throwaway MIT Kerberos realm for RPCSEC_GSS tests, in a
//! temporary directory on 127.0.0.1: a KDC (`krb5kdc` in the
//! foreground), a user principal with a ticket in a private cache, and
//! service principals with a keytab.
//!
//! The realm is selected through the standard MIT environment variables
//! (`KRB5_CONFIG`, `KRB5_KDC_PROFILE`, `KRB5CCNAME`, `KRB5_KTNAME`),
//! which are process-wide: [`Kdc::shared`] starts one realm per test
//! process, sets them once, and every test of that process uses it. Child
//! processes get the same variables ([`Kdc::env`]). Needs the Debian
//! packages `krb5-kdc`, `krb5-admin-server` and `krb5-user`.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The realm's name.
pub const REALM: &str = "ONCRPC.TEST";
/// The user whose ticket is in the cache.
pub const USER: &str = "alice";
/// The host-based service name whose key is in the keytab.
pub const SERVICE: &str = "datastore@localhost";
/// A service the KDC knows but whose key is not in the keytab.
pub const OTHER_SERVICE: &str = "other@localhost";

/// The program of the C RPCSEC_GSS peers (`tests/c/gss_peer.h`: the
/// client of [`run_c_client`] and `gss_server.c`).
pub const ECHO_PROGRAM: u32 = 0x2000_0077;
/// Its version.
pub const ECHO_VERSION: u32 = 1;
/// echo(opaque<>) -> opaque<>
pub const ECHO: u32 = 1;
/// whoami(void) -> (string principal, unsigned service)
pub const WHOAMI: u32 = 2;

/// How long the KDC gets to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running realm; the KDC is stopped when the process ends (the shared
/// realm is never dropped; see [`Kdc::shared`]).
#[derive(Debug)]
pub struct Kdc {
    dir: tempfile::TempDir,
    child: Child,
    port: u16,
}

impl Drop for Kdc {
    fn drop(&mut self) {
        // Closing the shell's stdin stops the KDC.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

static SHARED: OnceLock<Kdc> = OnceLock::new();

impl Kdc {
    /// The realm of this test process, started on first use, with the
    /// MIT environment variables set for this process.
    ///
    /// # Panics
    ///
    /// When a Kerberos tool fails or the KDC does not start; the message
    /// says which and its output.
    pub fn shared() -> &'static Kdc {
        SHARED.get_or_init(|| {
            let kdc = Kdc::start();
            for (key, value) in kdc.env() {
                std::env::set_var(key, value);
            }
            kdc
        })
    }

    fn start() -> Kdc {
        let dir = tempfile::tempdir().expect("temporary directory");
        let port = free_port();
        let d = dir.path();
        let krb5_conf = format!(
            "[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n \
             dns_lookup_realm = false\n rdns = false\n dns_canonicalize_hostname = false\n \
             udp_preference_limit = 1\n ticket_lifetime = 10h\n\n\
             [realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{port}\n }}\n\n\
             [domain_realm]\n localhost = {REALM}\n"
        );
        let kdc_conf = format!(
            "[kdcdefaults]\n kdc_ports = {port}\n kdc_tcp_ports = {port}\n\n\
             [realms]\n {REALM} = {{\n  database_name = {db}\n  key_stash_file = {stash}\n  \
             acl_file = {acl}\n  kdc_listen = 127.0.0.1:{port}\n  kdc_tcp_listen = 127.0.0.1:{port}\n }}\n\n\
             [logging]\n kdc = FILE:{log}\n",
            db = d.join("principal").display(),
            stash = d.join("stash").display(),
            acl = d.join("kadm5.acl").display(),
            log = d.join("kdc.log").display(),
        );
        std::fs::write(d.join("krb5.conf"), krb5_conf).expect("write krb5.conf");
        std::fs::write(d.join("kdc.conf"), kdc_conf).expect("write kdc.conf");
        std::fs::write(d.join("kadm5.acl"), "").expect("write kadm5.acl");
        let env = env_of(d);
        let run = |program: &str, args: &[&str]| {
            let out = Command::new(program)
                .args(args)
                .envs(env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .output()
                .unwrap_or_else(|e| panic!("{program}: {e} (is krb5-kdc installed?)"));
            assert!(
                out.status.success(),
                "{program} {args:?} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(
            "kdb5_util",
            &["create", "-s", "-r", REALM, "-P", "master-password"],
        );
        let keytab = d.join("service.keytab");
        let user_keytab = d.join("user.keytab");
        let (kt, ukt) = (
            keytab.display().to_string(),
            user_keytab.display().to_string(),
        );
        for query in [
            format!("addprinc -randkey {USER}"),
            "addprinc -randkey datastore/localhost".to_owned(),
            "addprinc -randkey other/localhost".to_owned(),
            format!("ktadd -k {kt} datastore/localhost"),
            format!("ktadd -k {ukt} {USER}"),
        ] {
            run("kadmin.local", &["-r", REALM, "-q", &query]);
        }
        // The shared realm lives in a static, which is never dropped: the
        // KDC runs under a shell that kills it when this process's end of
        // its stdin closes, that is when this process exits.
        let child = Command::new("sh")
            .args([
                "-c",
                "krb5kdc -n -r \"$1\" & kdc=$!; read _; kill $kdc; wait",
                "sh",
                REALM,
            ])
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start krb5kdc");
        let kdc = Kdc { dir, child, port };
        kdc.wait_until_listening();
        run("kinit", &["-k", "-t", &ukt, USER]);
        kdc
    }

    fn wait_until_listening(&self) {
        let started = Instant::now();
        while TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_err() {
            assert!(
                started.elapsed() < START_TIMEOUT,
                "krb5kdc did not listen on port {} within {START_TIMEOUT:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The MIT environment variables that select this realm, its user's
    /// ticket cache and the service keytab.
    pub fn env(&self) -> Vec<(String, String)> {
        env_of(self.dir.path())
    }

    /// The directory holding the realm's files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A ticket cache path that does not exist (a client without a
    /// ticket), as a `KRB5CCNAME` value.
    pub fn empty_cache(&self) -> String {
        format!("FILE:{}", self.dir.path().join("no-such-cache").display())
    }

    /// The service keytab's path.
    pub fn keytab(&self) -> PathBuf {
        self.dir.path().join("service.keytab")
    }
}

fn env_of(d: &Path) -> Vec<(String, String)> {
    vec![
        (
            "KRB5_CONFIG".into(),
            d.join("krb5.conf").display().to_string(),
        ),
        (
            "KRB5_KDC_PROFILE".into(),
            d.join("kdc.conf").display().to_string(),
        ),
        (
            "KRB5CCNAME".into(),
            format!("FILE:{}", d.join("ccache").display()),
        ),
        (
            "KRB5_KTNAME".into(),
            format!("FILE:{}", d.join("service.keytab").display()),
        ),
    ]
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// libtirpc's RPCSEC_GSS client (`tests/c/gss_client.c`, through
/// `authgss_create_default`), built once.
fn c_client() -> PathBuf {
    crate::c_peer::CProgram::new("gss_client")
        .source(crate::c_peer::c_source("gss_client.c"))
        .input(crate::c_peer::c_source("gss_peer.h"))
        .lib("gssapi_krb5")
        .build()
        .unwrap()
}

/// Runs libtirpc's RPCSEC_GSS client against `addr` for the host-based
/// service `target` at `service`: WHOAMI, then ECHO of `bytes` bytes;
/// with `ccache`, with that ticket cache. Its exit status (0; 2: a call
/// failed; 3: no context) and its output.
///
/// # Panics
///
/// When the client cannot be built or does not end within a minute.
pub fn run_c_client(
    addr: std::net::SocketAddr,
    target: &str,
    service: rpc_runtime::gss::GssService,
    bytes: usize,
    ccache: Option<&str>,
) -> (i32, String) {
    let mut cmd = Command::new(c_client());
    cmd.args([
        addr.ip().to_string(),
        addr.port().to_string(),
        target.to_owned(),
        service.krb5_name().to_owned(),
        bytes.to_string(),
    ]);
    if let Some(cache) = ccache {
        cmd.env("KRB5CCNAME", cache);
    }
    let out = crate::c_peer::run_with_timeout(&mut cmd, Duration::from_secs(60)).unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}
