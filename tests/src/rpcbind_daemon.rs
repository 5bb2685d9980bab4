//! [`RpcbindDaemon`]: Debian's real `rpcbind` for a test, started in the
//! foreground (`rpcbind -f`) and stopped at the end, or the one already
//! running on the machine.
//!
//! rpcbind is a machine-wide singleton (port 111, `/run/rpcbind.sock`),
//! and so is every program registered with it: every test of a process
//! that uses it holds one lock ([`RpcbindDaemon::start`] takes it) for as
//! long as it runs. Needs root (port 111) and the `rpcbind` package.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rpc_runtime::rpcbind::RPCBIND_SOCKET_PATH;

/// One test at a time uses rpcbind, in one test process.
static RPCBIND_LOCK: Mutex<()> = Mutex::new(());

/// How long rpcbind gets to accept connections after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running rpcbind and the lock on it; an rpcbind this started is
/// killed (and its socket removed) on drop, one found running is left.
#[derive(Debug)]
pub struct RpcbindDaemon {
    child: Option<Child>,
    _lock: MutexGuard<'static, ()>,
}

impl RpcbindDaemon {
    /// Takes the lock, then uses the rpcbind that runs or starts one.
    ///
    /// # Panics
    ///
    /// When rpcbind cannot be started (not installed, not root) or does
    /// not accept connections within 10 s; the message says why.
    pub fn start() -> RpcbindDaemon {
        let lock = RPCBIND_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        if TcpStream::connect_timeout(&tcp_address(), Duration::from_millis(200)).is_ok() {
            assert!(
                UnixStream::connect(RPCBIND_SOCKET_PATH).is_ok(),
                "something listens on port 111 but {RPCBIND_SOCKET_PATH} does not accept: \
                 not rpcbind?"
            );
            eprintln!("using the rpcbind already running on this machine");
            return RpcbindDaemon {
                child: None,
                _lock: lock,
            };
        }
        let _ = std::fs::remove_file(RPCBIND_SOCKET_PATH);
        let spawn = |program: &str| {
            Command::new(program)
                .arg("-f")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
        };
        let child = spawn("rpcbind")
            .or_else(|_| spawn("/usr/sbin/rpcbind"))
            .expect("start rpcbind (Debian: apt-get install rpcbind; tests run as root)");
        let mut daemon = RpcbindDaemon {
            child: Some(child),
            _lock: lock,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(Ok(Some(status))) = daemon.child.as_mut().map(Child::try_wait) {
                panic!("rpcbind exited at start: {status} (run the tests as root)");
            }
            if TcpStream::connect_timeout(&tcp_address(), Duration::from_millis(200)).is_ok()
                && UnixStream::connect(RPCBIND_SOCKET_PATH).is_ok()
            {
                return daemon;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting until rpcbind accepts connections"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl RpcbindDaemon {
    /// Takes the lock without starting or looking for rpcbind: for a test
    /// of what a program does when rpcbind is absent, run where no other
    /// test of the process can start one meanwhile.
    pub fn lock_only() -> RpcbindDaemon {
        RpcbindDaemon {
            child: None,
            _lock: RPCBIND_LOCK.lock().unwrap_or_else(|p| p.into_inner()),
        }
    }
}

impl Drop for RpcbindDaemon {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(RPCBIND_SOCKET_PATH);
        }
    }
}

/// rpcbind's TCP address on this machine: 127.0.0.1 port 111.
pub fn tcp_address() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 111))
}
