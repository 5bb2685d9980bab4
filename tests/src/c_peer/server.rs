//! A C server process: started on a loopback TCP port or a Unix socket,
//! waited for until it accepts connections, killed on drop.

use std::ffi::OsStr;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::error::{CPeerError, Result};
use super::process::{describe, joined_output, spawn, Capture, POLL_INTERVAL};

/// How long a C server may take to start accepting connections.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many free ports [`CServer::start_tcp`] tries when the server exits
/// at once (another process took the port between our probe and its bind).
const TCP_ATTEMPTS: usize = 3;

/// Where a server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A TCP address (the harness uses `127.0.0.1:PORT`).
    Tcp(SocketAddr),
    /// A Unix stream socket path.
    Unix(PathBuf),
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(a) => write!(f, "tcp {a}"),
            Endpoint::Unix(p) => write!(f, "unix {}", p.display()),
        }
    }
}

/// A loopback TCP port that was free a moment ago (bound to port 0, then
/// released). Another process may take it before it is used; callers that
/// care retry, as [`CServer::start_tcp`] does.
///
/// # Errors
///
/// [`CPeerError::Io`] if no loopback socket can be bound.
pub fn free_tcp_port() -> Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| CPeerError::io("cannot bind a loopback port", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| CPeerError::io("cannot read a bound port", e))
}

/// A running C server. Dropping it kills the process; what the server
/// printed is then written to stderr (shown by the test harness when a test
/// fails).
///
/// The convenience constructors follow one argv convention, which the C
/// servers in `tests/c/` implement: `PROGRAM [ARGS...] tcp PORT` (listen on
/// `127.0.0.1:PORT`) or `PROGRAM [ARGS...] unix PATH`. For another
/// convention build the [`Command`] yourself and use [`CServer::spawn`].
pub struct CServer {
    child: Child,
    program: PathBuf,
    endpoint: Endpoint,
    stdout: Option<Capture>,
    stderr: Option<Capture>,
    /// Holds the Unix socket's directory until the server is gone.
    _socket_dir: Option<tempfile::TempDir>,
}

impl fmt::Debug for CServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CServer")
            .field("pid", &self.child.id())
            .field("program", &self.program)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl CServer {
    /// Starts `program args... tcp PORT` on a free loopback port and waits
    /// until `127.0.0.1:PORT` accepts connections.
    ///
    /// # Errors
    ///
    /// [`CPeerError::ServerExited`] (with its output) if the server exits
    /// before accepting, [`CPeerError::NotReady`] after [`READY_TIMEOUT`],
    /// [`CPeerError::ToolMissing`]/[`CPeerError::Io`] if it cannot start.
    pub fn start_tcp<I, S>(program: &Path, args: I) -> Result<CServer>
    where
        I: IntoIterator<Item = S> + Clone,
        S: AsRef<OsStr>,
    {
        let mut last = None;
        for _ in 0..TCP_ATTEMPTS {
            let port = free_tcp_port()?;
            let mut cmd = Command::new(program);
            cmd.args(args.clone()).arg("tcp").arg(port.to_string());
            let endpoint = Endpoint::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
            match CServer::spawn(cmd, endpoint) {
                Err(e @ CPeerError::ServerExited { .. }) => last = Some(e),
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| {
            CPeerError::io(
                "starting a TCP server",
                std::io::Error::other("no attempt made"),
            )
        }))
    }

    /// Starts `program args... unix PATH` with `PATH` in a fresh temporary
    /// directory (removed when the server is dropped) and waits until the
    /// socket accepts connections.
    ///
    /// # Errors
    ///
    /// As [`CServer::start_tcp`].
    pub fn start_unix<I, S>(program: &Path, args: I) -> Result<CServer>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let dir = tempfile::Builder::new()
            .prefix("c-peer-")
            .tempdir()
            .map_err(|e| CPeerError::io("cannot create a socket directory", e))?;
        let path = dir.path().join("server.sock");
        let mut cmd = Command::new(program);
        cmd.args(args).arg("unix").arg(&path);
        let mut server = CServer::spawn(cmd, Endpoint::Unix(path))?;
        server._socket_dir = Some(dir);
        Ok(server)
    }

    /// Starts `cmd` (stdin closed, output captured) and waits until
    /// `endpoint` accepts a connection, for servers with their own argv
    /// convention.
    ///
    /// # Errors
    ///
    /// As [`CServer::start_tcp`].
    pub fn spawn(mut cmd: Command, endpoint: Endpoint) -> Result<CServer> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = spawn(&mut cmd)?;
        let stdout = Some(Capture::start(child.stdout.take()));
        let stderr = Some(Capture::start(child.stderr.take()));
        let mut server = CServer {
            child,
            program: PathBuf::from(cmd.get_program()),
            endpoint,
            stdout,
            stderr,
            _socket_dir: None,
        };
        server.wait_ready(&describe(&cmd))?;
        Ok(server)
    }

    /// Polls until the endpoint accepts a connection or the child exits.
    fn wait_ready(&mut self, command: &str) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            self.check_running()?;
            let connected = match &self.endpoint {
                Endpoint::Tcp(a) => {
                    TcpStream::connect_timeout(a, Duration::from_millis(200)).is_ok()
                }
                Endpoint::Unix(p) => UnixStream::connect(p).is_ok(),
            };
            if connected {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(CPeerError::NotReady {
                    program: PathBuf::from(command),
                    endpoint: self.endpoint.to_string(),
                    timeout: READY_TIMEOUT,
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Where the server listens.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The TCP address, if it listens on TCP.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        match &self.endpoint {
            Endpoint::Tcp(a) => Some(*a),
            Endpoint::Unix(_) => None,
        }
    }

    /// The socket path, if it listens on a Unix socket.
    pub fn unix_path(&self) -> Option<&Path> {
        match &self.endpoint {
            Endpoint::Tcp(_) => None,
            Endpoint::Unix(p) => Some(p),
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Ok` while the server is still running; after a test's calls, this
    /// shows the server survived them.
    ///
    /// # Errors
    ///
    /// [`CPeerError::ServerExited`] with its exit status and output if it
    /// has exited (crashed), [`CPeerError::Io`] if its state is unknown.
    pub fn check_running(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(CPeerError::ServerExited {
                program: self.program.clone(),
                status,
                output: self.take_output(),
            }),
            Err(e) => Err(CPeerError::io("cannot check the C server", e)),
        }
    }

    /// Kills the server and returns what it printed (stdout then stderr).
    pub fn stop(mut self) -> String {
        self.kill();
        self.take_output()
    }

    fn kill(&mut self) {
        // Errors mean it already exited; wait() reaps it either way.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The captured output; only complete once the process has exited.
    fn take_output(&mut self) -> String {
        let out = self.stdout.take().map(Capture::finish).unwrap_or_default();
        let err = self.stderr.take().map(Capture::finish).unwrap_or_default();
        joined_output(&out, &err)
    }
}

impl Drop for CServer {
    fn drop(&mut self) {
        self.kill();
        let output = self.take_output();
        if !output.trim().is_empty() {
            eprintln!(
                "--- output of server process {} ({}) ---\n{output}",
                self.program.display(),
                self.endpoint
            );
        }
    }
}
