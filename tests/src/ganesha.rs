//! [`Ganesha`]: Debian's NFS-Ganesha (a user-space NFS server, FSAL VFS)
//! exporting a directory on 127.0.0.1 for a test: NFSv3 on port 2049 and
//! MOUNT v3 on port 20048, TCP and UDP, registered with rpcbind.
//!
//! Needs root, a running rpcbind (hold an
//! [`RpcbindDaemon`](crate::rpcbind_daemon::RpcbindDaemon) first: one
//! Ganesha per rpcbind) and the packages `nfs-ganesha` and
//! `nfs-ganesha-vfs`. Ganesha looks up its bind address with
//! `AI_ADDRCONFIG`, so the machine needs some non-loopback IPv4 address.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Ganesha's NFS port.
pub const NFS_PORT: u16 = 2049;

/// Ganesha's MOUNT port.
pub const MOUNT_PORT: u16 = 20048;

/// How long Ganesha gets to start serving.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// How long Ganesha gets to stop after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// A running `ganesha.nfsd`, stopped on drop.
#[derive(Debug)]
pub struct Ganesha {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Ganesha {
    /// Starts Ganesha exporting `export` (an absolute path) read-write to
    /// 127.0.0.1 with AUTH_SYS and AUTH_NONE, no root squashing, and
    /// waits until NFS accepts TCP connections.
    ///
    /// # Panics
    ///
    /// When it cannot be started or does not serve within 30 s; the
    /// message carries the end of its log.
    pub fn start(export: &Path) -> Ganesha {
        let dir = tempfile::tempdir().expect("temporary directory for Ganesha");
        let conf = dir.path().join("ganesha.conf");
        let log = dir.path().join("ganesha.log");
        let export = export.display();
        std::fs::write(
            &conf,
            format!(
                "NFS_CORE_PARAM {{ Bind_addr = 127.0.0.1; Protocols = 3; NFS_Port = {NFS_PORT}; \
                 MNT_Port = {MOUNT_PORT}; Enable_NLM = false; Enable_RQUOTA = false; }}\n\
                 NFSV4 {{ Grace_Period = 0; }}\n\
                 EXPORT_DEFAULTS {{ Attr_Expiration_Time = 0; }}\n\
                 EXPORT {{ Export_Id = 1; Path = {export}; Pseudo = {export}; Protocols = 3; \
                 Transports = TCP, UDP; Access_Type = RW; Squash = No_Root_Squash; \
                 SecType = sys, none; PrivilegedPort = false; Clients = 127.0.0.1; \
                 FSAL {{ Name = VFS; }} }}\n\
                 LOG {{ Default_Log_Level = WARN; }}\n"
            ),
        )
        .expect("write ganesha.conf");
        let child = Command::new("ganesha.nfsd")
            .arg("-F")
            .arg("-f")
            .arg(&conf)
            .arg("-L")
            .arg(&log)
            .arg("-p")
            .arg(dir.path().join("ganesha.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ganesha.nfsd (Debian: apt-get install nfs-ganesha nfs-ganesha-vfs)");
        let mut g = Ganesha {
            child,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let nfs = SocketAddr::from(([127, 0, 0, 1], NFS_PORT));
        while TcpStream::connect_timeout(&nfs, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = g.child.try_wait() {
                panic!("ganesha.nfsd exited at start: {status}\n{}", g.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "ganesha.nfsd did not serve within {START_TIMEOUT:?}\n{}",
                g.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        g
    }

    /// The last lines of Ganesha's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Ganesha {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
