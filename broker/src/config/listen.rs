//! `listen` entries: an address, or a table with the address, the Unix
//! socket file's mode and group, and who may call.
//!
//! ```toml
//! # The plain form: nothing restricted, Unix socket files mode 0660.
//! listen = ["tcp://127.0.0.1:7100", "unix://broker.sock"]
//! ```
//!
//! ```toml
//! # The table form, one [[listen]] per listener.
//! [[listen]]
//! address = "unix://broker.sock"
//! mode = "0660"                 # or 0o660
//! group = "rpcusers"            # or a number
//! allow_uids = [1000]           # a caller's uid or (primary) gid must be listed
//! allow_gids = [100]
//! allow_programs = [0x2000DA7A] # programs callers may call here
//!
//! [[listen]]
//! address = "tcp://127.0.0.1:7100"
//! allow_programs = [0x2000DA7A]
//! tls = { cert = "broker.pem", key = "broker.key", required = true }  # see ListenTls
//!
//! [[listen]]
//! address = "tcp://127.0.0.1:7200"
//! gss = { service = "datastore@localhost", required = true }  # see ListenGss
//! allow_principals = ["alice@EXAMPLE.ORG"]  # RPCSEC_GSS callers that may call
//!
//! [[listen]]
//! address = "tcp://127.0.0.1:7300"
//! tls = { cert = "b.pem", key = "b.key", client_ca = "clients.pem", required = true }
//! allow_tls_names = ["client.example"]  # certificate CN or SAN that may call
//! ```
//!
//! Inline tables mix both forms on one line each:
//! `listen = ["tcp://127.0.0.1:7100", { address = "unix://b.sock", mode = "0600" }]`.

use std::collections::BTreeSet;
use std::fmt;

use rpc_runtime::Endpoint;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::tls::host_of;
use super::{ListenAddress, ListenGss, ListenTls};
use crate::core::access::AllowList;

/// The mode of a listener's Unix socket file unless `mode` says otherwise:
/// owner and group may connect.
pub const DEFAULT_SOCKET_MODE: u32 = 0o660;

/// A `listen` entry, from a string (`"unix://PATH"`) or a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenConfig {
    /// Where to listen (key `address`, or the whole string form).
    pub address: ListenAddress,
    /// Unix only: the socket file's permission bits (key `mode`, octal as
    /// a string `"0660"` or a TOML integer `0o660`; default 0660). Connecting
    /// needs write permission.
    pub mode: Option<u32>,
    /// Unix only: the group the socket file is given (key `group`, a name
    /// or a number; default: the broker's group). The broker must be a
    /// member of it (or root).
    pub group: Option<String>,
    /// Who may call through this listener (keys `allow_uids`,
    /// `allow_gids`, `allow_principals`, `allow_tls_names`,
    /// `allow_programs`; see [`AllowList`]).
    pub allow: AllowList,
    /// TCP only: RPC-over-TLS for this listener's clients (table `tls`,
    /// see [`ListenTls`]); absent: plain.
    pub tls: Option<ListenTls>,
    /// Stream listeners only: RPCSEC_GSS ended by the broker for this
    /// listener's clients (table `gss`, see [`ListenGss`]); absent:
    /// RPCSEC_GSS calls are forwarded as they are.
    pub gss: Option<ListenGss>,
}

impl ListenConfig {
    /// An entry for `address` with nothing restricted (the string form).
    pub fn plain(address: ListenAddress) -> ListenConfig {
        ListenConfig {
            address,
            mode: None,
            group: None,
            allow: AllowList::default(),
            tls: None,
            gss: None,
        }
    }

    /// The Unix socket path, for a Unix listener.
    fn unix_path(&self) -> Option<&std::path::Path> {
        match &self.address {
            ListenAddress::Stream(Endpoint::Unix(p)) => Some(p),
            _ => None,
        }
    }

    /// The Unix socket file's mode: `mode`, or [`DEFAULT_SOCKET_MODE`].
    pub fn socket_mode(&self) -> u32 {
        self.mode.unwrap_or(DEFAULT_SOCKET_MODE)
    }

    /// Why this entry is inconsistent (a Unix-only key on a TCP
    /// listener, `tls` on one that is not TCP), as `(key, reason)`.
    pub(crate) fn check(&self) -> Option<(&'static str, &'static str)> {
        let tcp = matches!(self.address, ListenAddress::Stream(Endpoint::Tcp(_)));
        if self.tls.is_some() && !tcp {
            return Some((
                "tls",
                "only a TCP listener carries RPC-over-TLS (no Unix sockets, no DTLS)",
            ));
        }
        let stream = matches!(self.address, ListenAddress::Stream(_));
        if self.gss.is_some() && !stream {
            return Some((
                "gss",
                "RPCSEC_GSS is ended on stream (TCP, Unix) listeners only",
            ));
        }
        if self.allow.principals.is_some() && self.gss.is_none() {
            return Some((
                "allow_principals",
                "principals are known only on a listener with a `gss` table",
            ));
        }
        let mutual_tls = self.tls.as_ref().is_some_and(|t| t.client_ca.is_some());
        if self.allow.tls_names.is_some() && !mutual_tls {
            return Some((
                "allow_tls_names",
                "certificate names are known only on a listener with `tls.client_ca` (mutual TLS)",
            ));
        }
        if let Some(found) = self.gss.as_ref().and_then(ListenGss::check) {
            return Some(found);
        }
        if self.unix_path().is_some() {
            return None;
        }
        let unix_only = [
            ("mode", self.mode.is_some()),
            ("group", self.group.is_some()),
            ("allow_uids", self.allow.uids.is_some()),
            ("allow_gids", self.allow.gids.is_some()),
        ];
        unix_only.into_iter().find(|(_, set)| *set).map(|(key, _)| {
            (
                key,
                "only a Unix socket listener has a socket file and peer credentials",
            )
        })
    }

    /// A TCP or UDP listener on an address other than loopback with no
    /// program allow list: anyone on the network may call every routed
    /// program.
    pub fn is_open_to_the_network(&self) -> bool {
        let addr = match &self.address {
            ListenAddress::Stream(Endpoint::Tcp(addr)) | ListenAddress::Udp(addr) => addr,
            ListenAddress::Stream(Endpoint::Unix(_)) => return false,
        };
        let host = host_of(addr);
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        !loopback && self.allow.programs.is_none()
    }
}

impl fmt::Display for ListenConfig {
    /// The address, then the keys that are set: `unix:///run/b.sock mode
    /// 0660 group rpc allow_uids [1000]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.address.fmt(f)?;
        if self.unix_path().is_some() {
            write!(f, " mode {:04o}", self.socket_mode())?;
        }
        if let Some(g) = &self.group {
            write!(f, " group {g}")?;
        }
        let lists = [
            ("allow_uids", &self.allow.uids, false),
            ("allow_gids", &self.allow.gids, false),
            ("allow_programs", &self.allow.programs, true),
        ];
        for (key, list, hex) in lists {
            if let Some(l) = list {
                let items: Vec<String> = l
                    .iter()
                    .map(|v| {
                        if hex {
                            format!("{v:#x}")
                        } else {
                            v.to_string()
                        }
                    })
                    .collect();
                write!(f, " {key} [{}]", items.join(", "))?;
            }
        }
        let names = [
            ("allow_principals", &self.allow.principals),
            ("allow_tls_names", &self.allow.tls_names),
        ];
        for (key, list) in names {
            if let Some(l) = list {
                let items: Vec<&str> = l.iter().map(String::as_str).collect();
                write!(f, " {key} [{}]", items.join(", "))?;
            }
        }
        if let Some(gss) = &self.gss {
            write!(f, " gss {}", gss.service.as_deref().unwrap_or("(any key)"))?;
            if gss.required {
                write!(
                    f,
                    " required {}",
                    gss.min_service
                        .unwrap_or(rpc_runtime::gss::GssService::None)
                )?;
            }
        }
        if let Some(tls) = &self.tls {
            f.write_str(if tls.required {
                " tls required"
            } else {
                " tls"
            })?;
            if tls.client_ca.is_some() {
                f.write_str(" client_ca")?;
            }
        }
        Ok(())
    }
}

/// The table form of a `listen` entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    address: ListenAddress,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    group: Option<Group>,
    #[serde(default)]
    allow_uids: Option<Vec<u32>>,
    #[serde(default)]
    allow_gids: Option<Vec<u32>>,
    #[serde(default)]
    allow_programs: Option<Vec<u32>>,
    #[serde(default)]
    allow_principals: Option<Vec<String>>,
    #[serde(default)]
    allow_tls_names: Option<Vec<String>>,
    #[serde(default)]
    tls: Option<ListenTls>,
    #[serde(default)]
    gss: Option<ListenGss>,
}

/// A socket file mode: a TOML integer, or an octal string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Mode {
    Number(u32),
    Octal(String),
}

impl Mode {
    fn bits(self) -> Result<u32, String> {
        let bits = match self {
            Mode::Number(n) => n,
            Mode::Octal(s) => u32::from_str_radix(s.trim_start_matches("0o"), 8)
                .map_err(|_| format!("mode `{s}` is not an octal number such as \"0660\""))?,
        };
        if bits > 0o777 {
            return Err(format!("mode {bits:#o} has bits beyond 0777"));
        }
        Ok(bits)
    }
}

/// A group: a name or a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Group {
    Number(u32),
    Name(String),
}

fn set(list: Option<Vec<u32>>) -> Option<BTreeSet<u32>> {
    list.map(|l| l.into_iter().collect())
}

impl<'de> Deserialize<'de> for ListenConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> Visitor<'de> for Entry {
            type Value = ListenConfig;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an address (\"unix://PATH\", \"tcp://HOST:PORT\", \"udp://HOST:PORT\") \
                     or a table with `address`",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ListenConfig, E> {
                let address = s.parse().map_err(E::custom)?;
                Ok(ListenConfig::plain(address))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ListenConfig, A::Error> {
                let t = Table::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let mode = t
                    .mode
                    .map(Mode::bits)
                    .transpose()
                    .map_err(de::Error::custom)?;
                Ok(ListenConfig {
                    address: t.address,
                    mode,
                    group: t.group.map(|g| match g {
                        Group::Number(n) => n.to_string(),
                        Group::Name(s) => s,
                    }),
                    allow: AllowList {
                        uids: set(t.allow_uids),
                        gids: set(t.allow_gids),
                        programs: set(t.allow_programs),
                        principals: t.allow_principals.map(|l| l.into_iter().collect()),
                        tls_names: t.allow_tls_names.map(|l| l.into_iter().collect()),
                    },
                    tls: t.tls,
                    gss: t.gss,
                })
            }
        }
        d.deserialize_any(Entry)
    }
}
