//! [`Session`]: a mounted NFSv3 export, and what a client does with it:
//! walk paths (LOOKUP), read attributes (GETATTR), list directories
//! (READDIRPLUS across as many replies as needed) and read files (many
//! READs in flight on one connection).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures::stream::{self, StreamExt, TryStreamExt};
use rpc_runtime::message::{AuthSysParams, Credentials};
use rpc_runtime::rpcbind::{self, Protocol};
use rpc_runtime::Client;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use xdr_codec::XdrString;

use crate::error::Nfs3Error;
use crate::mount::{Dirpath, MountProgramV3Client, Mountres3};
use crate::nfs::{
    Diropargs3, Fattr3, Fsinfo3args, Fsinfo3res, Getattr3args, Getattr3res, Lookup3args,
    Lookup3res, NfsFh3, NfsProgramV3Client, Nfsstat3, PostOpAttr, PostOpFh3, Read3args, Read3res,
    Readdirplus3args, Readdirplus3res,
};
use crate::url::{strip_export, NfsUrl};

/// READs in flight at once while reading a file.
pub const READS_IN_FLIGHT: usize = 16;

/// Largest READ this client asks for, bytes (servers may offer more).
pub const MAX_READ_BYTES: u32 = 1 << 20;

/// Largest READ over UDP, bytes: the reply must fit one datagram.
pub const MAX_UDP_READ_BYTES: u32 = 32 * 1024;

/// READDIRPLUS `maxcount` (bytes of reply) asked for per call over TCP;
/// over UDP [`MAX_UDP_READ_BYTES`], so that the reply fits a datagram.
const READDIR_MAX_BYTES: u32 = 64 * 1024;

/// The transport to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP with record marking.
    Tcp,
    /// UDP, one call per datagram.
    Udp,
}

impl Transport {
    fn protocol(self) -> Protocol {
        match self {
            Transport::Tcp => Protocol::Tcp,
            Transport::Udp => Protocol::Udp,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

/// How to mount: transport, ports, credentials, timeout.
#[derive(Debug, Clone)]
pub struct MountOptions {
    /// TCP (default) or UDP.
    pub transport: Transport,
    /// The MOUNT service's port; found through rpcbind when `None`.
    pub mount_port: Option<u16>,
    /// AUTH_SYS user id sent with every call.
    pub uid: u32,
    /// AUTH_SYS group id sent with every call.
    pub gid: u32,
    /// How long one call may take.
    pub timeout: Duration,
}

impl Default for MountOptions {
    fn default() -> Self {
        MountOptions {
            transport: Transport::Tcp,
            mount_port: None,
            uid: 0,
            gid: 0,
            timeout: Duration::from_secs(30),
        }
    }
}

/// A directory entry as READDIRPLUS returns it.
#[derive(Debug, Clone)]
pub struct DirEntry {
    /// The entry's name (bytes as the server sent them, shown lossily).
    pub name: String,
    /// Its attributes, when the server sent them.
    pub attributes: Option<Fattr3>,
    /// Its file handle, when the server sent it.
    pub handle: Option<NfsFh3>,
}

/// A mounted export on one NFS connection.
#[derive(Debug, Clone)]
pub struct Session {
    nfs: NfsProgramV3Client,
    root: NfsFh3,
    export: String,
    transport: Transport,
}

impl Session {
    /// Mounts the export of `url` that is the longest prefix of its path
    /// (asking MOUNTPROC3_EXPORT), connects to NFS, and returns the session
    /// and the path's components below the export.
    ///
    /// # Errors
    ///
    /// [`Nfs3Error::NoExport`] when no export contains the path,
    /// [`Nfs3Error::Mount`] when MNT is refused,
    /// [`Nfs3Error::NotRegistered`] when rpcbind lacks a port that is
    /// needed, and the RPC and I/O errors of the calls.
    pub async fn mount_url(
        url: &NfsUrl,
        options: &MountOptions,
    ) -> Result<(Session, Vec<String>), Nfs3Error> {
        let ip = resolve(&url.host).await?;
        let credentials = auth_sys(options.uid, options.gid);
        let mount_port = match options.mount_port {
            Some(p) => p,
            None => registered_port(ip, &url.host, 100_005, 3, options.transport).await?,
        };
        let mount = MountProgramV3Client::new(
            connect(SocketAddr::new(ip, mount_port), options, &credentials).await?,
        );
        let exports = mount.mountproc3_export().await?;
        let mut best: Option<(String, Vec<String>)> = None;
        for e in exports.iter() {
            let dir = e.ex_dir.to_string_lossy().into_owned();
            if let Some(rest) = strip_export(&url.path, &dir) {
                let longer = match &best {
                    Some((b, _)) => dir.len() > b.len(),
                    None => true,
                };
                if longer {
                    best = Some((dir, rest.into_iter().map(str::to_owned).collect()));
                }
            }
        }
        let Some((export, rest)) = best else {
            let names: Vec<String> = exports
                .iter()
                .map(|e| e.ex_dir.to_string_lossy().into_owned())
                .collect();
            return Err(Nfs3Error::NoExport {
                path: url.path.clone(),
                exports: names.join(", "),
            });
        };
        let root = match mount
            .mountproc3_mnt(&Dirpath::from_bytes(export.clone().into_bytes()))
            .await?
        {
            Mountres3::Mnt3Ok(ok) => NfsFh3 {
                data: ok.fhandle.bytes().into(),
            },
            Mountres3::Default(status) => {
                return Err(Nfs3Error::Mount {
                    status,
                    path: export,
                })
            }
        };
        let nfs_port = match url.port {
            Some(p) => p,
            None => registered_port(ip, &url.host, 100_003, 3, options.transport).await?,
        };
        let nfs = NfsProgramV3Client::new(
            connect(SocketAddr::new(ip, nfs_port), options, &credentials).await?,
        );
        let session = Session {
            nfs,
            root,
            export,
            transport: options.transport,
        };
        Ok((session, rest))
    }

    /// The export this session mounted.
    pub fn export(&self) -> &str {
        &self.export
    }

    /// The export's root file handle.
    pub fn root(&self) -> &NfsFh3 {
        &self.root
    }

    /// The generated NFSv3 client this session calls through.
    pub fn client(&self) -> &NfsProgramV3Client {
        &self.nfs
    }

    /// The handle and attributes of the object at `components` below the
    /// export's root (LOOKUP per component; GETATTR for the root itself).
    ///
    /// # Errors
    ///
    /// [`Nfs3Error::Nfs`] with the status and the path walked so far.
    pub async fn lookup(&self, components: &[String]) -> Result<(NfsFh3, Fattr3), Nfs3Error> {
        let mut fh = self.root.clone();
        let mut path = self.export.clone();
        let mut attrs = None;
        for name in components {
            path = format!("{}/{name}", path.trim_end_matches('/'));
            let res = self
                .nfs
                .nfsproc3_lookup(&Lookup3args {
                    what: Diropargs3 {
                        dir: fh,
                        name: XdrString::from_bytes(name.clone().into_bytes()),
                    },
                })
                .await?;
            match res {
                Lookup3res::Nfs3Ok(ok) => {
                    fh = ok.object;
                    attrs = match ok.obj_attributes {
                        PostOpAttr::Attributes(a) => Some(a),
                        PostOpAttr::False => None,
                    };
                }
                Lookup3res::Default { discriminant, .. } => {
                    return Err(Nfs3Error::Nfs {
                        status: discriminant,
                        path,
                    })
                }
            }
        }
        let attrs = match attrs {
            Some(a) => a,
            None => self.getattr(&fh, &path).await?,
        };
        Ok((fh, attrs))
    }

    /// GETATTR of `fh`; `path` names it in errors.
    ///
    /// # Errors
    ///
    /// [`Nfs3Error::Nfs`] with the status, and RPC errors.
    pub async fn getattr(&self, fh: &NfsFh3, path: &str) -> Result<Fattr3, Nfs3Error> {
        match self
            .nfs
            .nfsproc3_getattr(&Getattr3args { object: fh.clone() })
            .await?
        {
            Getattr3res::Nfs3Ok(ok) => Ok(ok.obj_attributes),
            Getattr3res::Default(status) => Err(nfs_error(status, path)),
        }
    }

    /// Every entry of the directory `dir` (`.` and `..` included, as the
    /// server lists them), following cookies and the cookie verifier
    /// across as many READDIRPLUS replies as the directory needs.
    ///
    /// # Errors
    ///
    /// [`Nfs3Error::Nfs`] (e.g. `NFS3ERR_NOTDIR`) with `path`, RPC errors.
    pub async fn read_dir(&self, dir: &NfsFh3, path: &str) -> Result<Vec<DirEntry>, Nfs3Error> {
        let mut entries = Vec::new();
        let mut cookie = 0;
        let mut cookieverf = [0u8; 8];
        let maxcount = match self.transport {
            Transport::Tcp => READDIR_MAX_BYTES,
            Transport::Udp => MAX_UDP_READ_BYTES,
        };
        loop {
            let res = self
                .nfs
                .nfsproc3_readdirplus(&Readdirplus3args {
                    dir: dir.clone(),
                    cookie,
                    cookieverf,
                    dircount: maxcount / 4,
                    maxcount,
                })
                .await?;
            let ok = match res {
                Readdirplus3res::Nfs3Ok(ok) => ok,
                Readdirplus3res::Default { discriminant, .. } => {
                    return Err(nfs_error(discriminant, path))
                }
            };
            cookieverf = ok.cookieverf;
            let before = entries.len();
            for e in ok.reply.entries.into_inner() {
                cookie = e.cookie;
                entries.push(DirEntry {
                    name: e.name.to_string_lossy().into_owned(),
                    attributes: match e.name_attributes {
                        PostOpAttr::Attributes(a) => Some(a),
                        PostOpAttr::False => None,
                    },
                    handle: match e.name_handle {
                        PostOpFh3::Handle(h) => Some(h),
                        PostOpFh3::False => None,
                    },
                });
            }
            if ok.reply.eof {
                return Ok(entries);
            }
            if entries.len() == before {
                return Err(Nfs3Error::Protocol(format!(
                    "READDIRPLUS of {path} returned no entries and no end of directory"
                )));
            }
        }
    }

    /// The READ size to use: the server's preferred size (FSINFO
    /// `rtpref`), at most its maximum, [`MAX_READ_BYTES`], and over UDP
    /// [`MAX_UDP_READ_BYTES`].
    ///
    /// # Errors
    ///
    /// [`Nfs3Error::Nfs`] when FSINFO fails, RPC errors.
    pub async fn read_size(&self) -> Result<u32, Nfs3Error> {
        let info = match self
            .nfs
            .nfsproc3_fsinfo(&Fsinfo3args {
                fsroot: self.root.clone(),
            })
            .await?
        {
            Fsinfo3res::Nfs3Ok(ok) => ok,
            Fsinfo3res::Default { discriminant, .. } => {
                return Err(nfs_error(discriminant, &self.export))
            }
        };
        let mut size = info.rtpref.min(info.rtmax).min(MAX_READ_BYTES);
        if self.transport == Transport::Udp {
            size = size.min(MAX_UDP_READ_BYTES);
        }
        Ok(size.max(512))
    }

    /// Reads `size` bytes of the file `fh` (fewer if it ends first) into
    /// `out` with [`READS_IN_FLIGHT`] READs of `read_size` bytes in flight,
    /// written in order. Returns the bytes written.
    ///
    /// # Errors
    ///
    /// [`Nfs3Error::Nfs`] with `path`, RPC errors, the write error.
    pub async fn read_file<W: AsyncWrite + Unpin>(
        &self,
        fh: &NfsFh3,
        size: u64,
        read_size: u32,
        path: &str,
        out: &mut W,
    ) -> Result<u64, Nfs3Error> {
        let chunk = u64::from(read_size);
        let offsets = (0..size.div_ceil(chunk)).map(|i| i * chunk);
        let mut pieces = stream::iter(offsets)
            .map(|offset| {
                let len = chunk.min(size - offset) as u32;
                self.read_range(fh, offset, len, path)
            })
            .buffered(READS_IN_FLIGHT);
        let mut written = 0u64;
        while let Some((data, eof)) = pieces.try_next().await? {
            out.write_all(&data).await?;
            written += data.len() as u64;
            if eof {
                break;
            }
        }
        out.flush().await?;
        Ok(written)
    }

    /// `len` bytes at `offset` (re-asking after short reads), and whether
    /// the file ended there.
    async fn read_range(
        &self,
        fh: &NfsFh3,
        offset: u64,
        len: u32,
        path: &str,
    ) -> Result<(Vec<u8>, bool), Nfs3Error> {
        let mut data = Vec::with_capacity(len as usize);
        while data.len() < len as usize {
            let got = data.len() as u32;
            let res = self
                .nfs
                .nfsproc3_read(&Read3args {
                    file: fh.clone(),
                    offset: offset + u64::from(got),
                    count: len - got,
                })
                .await?;
            let ok = match res {
                Read3res::Nfs3Ok(ok) => ok,
                Read3res::Default { discriminant, .. } => {
                    return Err(nfs_error(discriminant, path))
                }
            };
            if ok.data.len() > (len - got) as usize {
                return Err(Nfs3Error::Protocol(format!(
                    "READ of {path} returned {} bytes for {} asked",
                    ok.data.len(),
                    len - got
                )));
            }
            data.extend_from_slice(&ok.data);
            if ok.eof {
                return Ok((data, true));
            }
            if ok.data.is_empty() {
                return Err(Nfs3Error::Protocol(format!(
                    "READ of {path} at {} returned no data and no end of file",
                    offset + u64::from(got)
                )));
            }
        }
        Ok((data, false))
    }
}

fn nfs_error(status: Nfsstat3, path: &str) -> Nfs3Error {
    Nfs3Error::Nfs {
        status,
        path: path.to_owned(),
    }
}

/// AUTH_SYS credentials for `uid` and `gid` from this machine.
fn auth_sys(uid: u32, gid: u32) -> Credentials {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned());
    Credentials::Sys(AuthSysParams {
        stamp: 0,
        machine_name: XdrString::from_bytes(host.into_bytes()),
        uid,
        gid,
        gids: vec![gid],
    })
}

async fn resolve(host: &str) -> Result<IpAddr, Nfs3Error> {
    let mut addrs = tokio::net::lookup_host((host, 0)).await?;
    addrs.next().map(|a| a.ip()).ok_or_else(|| {
        Nfs3Error::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{host}: no address"),
        ))
    })
}

async fn registered_port(
    ip: IpAddr,
    host: &str,
    program: u32,
    version: u32,
    transport: Transport,
) -> Result<u16, Nfs3Error> {
    let rpcbind = rpcbind::Client::connect_tcp(ip).await?;
    rpcbind
        .getport(program, version, transport.protocol())
        .await?
        .ok_or_else(|| Nfs3Error::NotRegistered {
            what: format!(
                "{} v{version} over {}",
                if program == 100_003 { "NFS" } else { "MOUNT" },
                transport.name()
            ),
            host: host.to_owned(),
        })
}

async fn connect(
    addr: SocketAddr,
    options: &MountOptions,
    credentials: &Credentials,
) -> Result<Client, Nfs3Error> {
    let builder = Client::builder()
        .timeout(options.timeout)
        .credentials(credentials.clone())
        .max_record_bytes(MAX_READ_BYTES as usize + 64 * 1024);
    Ok(match options.transport {
        Transport::Tcp => builder.connect_tcp(addr).await?,
        Transport::Udp => builder.connect_udp(addr).await?,
    })
}
