//! [`NfsUrl`]: where a file lives, written as libnfs writes it:
//! `nfs://HOST[:PORT]/EXPORT/PATH`.

use std::fmt;
use std::str::FromStr;

/// An NFS URL: `nfs://HOST[:PORT]/PATH`, where `PATH` is an export's
/// path followed by the path of a file or directory inside it.
///
/// Which leading part of `PATH` is the export is not written in the URL:
/// [`Session::mount_url`](crate::Session::mount_url) asks the server's
/// MOUNT service for its exports and takes the longest that is a prefix.
/// HOST is a name, an IPv4 address or a bracketed IPv6 address; PORT is
/// the NFS port (found through rpcbind when absent).
///
/// ```
/// use nfs3::NfsUrl;
/// let url: NfsUrl = "nfs://127.0.0.1:2049/export/dir/file.txt".parse()?;
/// assert_eq!(url.host, "127.0.0.1");
/// assert_eq!(url.port, Some(2049));
/// assert_eq!(url.path, "/export/dir/file.txt");
/// # Ok::<(), nfs3::UrlError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfsUrl {
    /// The server's host, without brackets.
    pub host: String,
    /// The NFS port, when the URL gives one.
    pub port: Option<u16>,
    /// The absolute path: export, then the path inside it.
    pub path: String,
}

/// Why a string is not an [`NfsUrl`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// It does not start with `nfs://`.
    #[error("`{0}`: expected nfs://HOST[:PORT]/EXPORT/PATH")]
    Scheme(String),
    /// No host, or a port that is not a number from 1 to 65535.
    #[error("`{0}`: expected a host and an optional port from 1 to 65535")]
    Authority(String),
    /// Nothing after the host: no export.
    #[error("`{0}`: the URL names no export (nfs://HOST/EXPORT/PATH)")]
    NoPath(String),
}

impl FromStr for NfsUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix("nfs://")
            .ok_or_else(|| UrlError::Scheme(s.to_owned()))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => return Err(UrlError::NoPath(s.to_owned())),
        };
        let bad = || UrlError::Authority(s.to_owned());
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(bad)?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        let port = match port {
            Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)?),
            None => None,
        };
        let path = normalize(path);
        if path == "/" {
            return Err(UrlError::NoPath(s.to_owned()));
        }
        Ok(NfsUrl {
            host: host.to_owned(),
            port,
            path,
        })
    }
}

impl fmt::Display for NfsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => write!(f, "nfs://{host}:{p}{}", self.path),
            None => write!(f, "nfs://{host}{}", self.path),
        }
    }
}

/// `path` with empty and `.` components dropped, always starting with `/`
/// and without a trailing `/` (`..` is kept: the server judges it).
fn normalize(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    format!("/{}", parts.join("/"))
}

/// The components of `path` below `prefix` (both normalized), or `None`
/// when `prefix` is not a whole-component prefix of `path`.
pub(crate) fn strip_export<'a>(path: &'a str, prefix: &str) -> Option<Vec<&'a str>> {
    let rest = if prefix == "/" {
        path
    } else {
        let rest = path.strip_prefix(prefix)?;
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        rest
    };
    Some(rest.split('/').filter(|p| !p.is_empty()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_ports_and_paths() {
        let u: NfsUrl = "nfs://[::1]:2049//exp/./a/".parse().unwrap();
        assert_eq!(u.host, "::1");
        assert_eq!(u.port, Some(2049));
        assert_eq!(u.path, "/exp/a");
        assert_eq!(u.to_string(), "nfs://[::1]:2049/exp/a");
        let u: NfsUrl = "nfs://server/exp".parse().unwrap();
        assert_eq!((u.host.as_str(), u.port), ("server", None));
    }

    #[test]
    fn malformed_urls_say_why() {
        assert!(matches!(
            "http://x/e".parse::<NfsUrl>(),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(
            "nfs://x".parse::<NfsUrl>(),
            Err(UrlError::NoPath(_))
        ));
        assert!(matches!(
            "nfs://x/".parse::<NfsUrl>(),
            Err(UrlError::NoPath(_))
        ));
        assert!(matches!(
            "nfs://:1/e".parse::<NfsUrl>(),
            Err(UrlError::Authority(_))
        ));
        assert!(matches!(
            "nfs://x:0/e".parse::<NfsUrl>(),
            Err(UrlError::Authority(_))
        ));
        assert!(matches!(
            "nfs://x:99999/e".parse::<NfsUrl>(),
            Err(UrlError::Authority(_))
        ));
    }

    #[test]
    fn exports_match_whole_components() {
        assert_eq!(strip_export("/exp/a/b", "/exp"), Some(vec!["a", "b"]));
        assert_eq!(strip_export("/exp", "/exp"), Some(vec![]));
        assert_eq!(strip_export("/export/a", "/exp"), None);
        assert_eq!(strip_export("/a/b", "/"), Some(vec!["a", "b"]));
    }
}
