//! RPCSEC_GSS (RFC 2203) settings: table `gss` of a stream `listen`
//! entry. The broker ends RPCSEC_GSS for the listener's clients: it
//! answers context creation itself, checks every data call and forwards
//! it plain (AUTH_NONE) to the backend, and protects the reply.
//!
//! ```toml
//! [[listen]]
//! address = "tcp://0.0.0.0:7100"
//! allow_principals = ["alice@EXAMPLE.ORG"]  # optional, see AllowList
//! [listen.gss]
//! service = "datastore@broker.example"  # key of datastore/broker.example@REALM
//! required = true                       # refuse AUTH_NONE/AUTH_SYS (AUTH_TOOWEAK)
//! min_service = "krb5i"                 # with required: at least integrity
//! max_contexts = 1024                   # contexts held; one more drops the oldest
//! ```
//!
//! The keys come from the keytab `KRB5_KTNAME` names (MIT Kerberos;
//! default `/etc/krb5.keytab`), read when the broker starts. A reload
//! does not change a listener's `gss` table (a restart does).

use rpc_runtime::gss::{ClientGss, GssError, GssService, ServerGss, DEFAULT_MAX_CONTEXTS};
use serde::{Deserialize, Deserializer};

/// Table `gss` of a stream `listen` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenGss {
    /// The host-based service name the broker accepts contexts for (key
    /// `service`, `SERVICE@HOST`; absent: any key of the keytab).
    #[serde(default)]
    pub service: Option<String>,
    /// Refuse calls of other flavors (AUTH_NONE, AUTH_SYS) with
    /// `MSG_DENIED` / `AUTH_ERROR` / `AUTH_TOOWEAK` (key `required`,
    /// default false: they are forwarded as before).
    #[serde(default)]
    pub required: bool,
    /// With `required`: the weakest service a data call may use (key
    /// `min_service`, `krb5`, `krb5i` or `krb5p`; default `krb5`);
    /// weaker calls get `AUTH_TOOWEAK`.
    #[serde(default, deserialize_with = "service")]
    pub min_service: Option<GssService>,
    /// Contexts held at once for this listener (key `max_contexts`,
    /// default 1,024); one more drops the oldest, whose client is
    /// answered RPCSEC_GSS_CREDPROBLEM and makes a new one.
    #[serde(default = "default_max_contexts")]
    pub max_contexts: usize,
}

fn default_max_contexts() -> usize {
    DEFAULT_MAX_CONTEXTS
}

fn service<'de, D: Deserializer<'de>>(d: D) -> Result<Option<GssService>, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map(Some).map_err(serde::de::Error::custom)
}

impl ListenGss {
    /// The acceptor side, with the key of `service` from the keytab.
    ///
    /// # Errors
    ///
    /// [`GssError::Mechanism`] when the keytab holds no key for it.
    pub(crate) fn server(&self) -> Result<ServerGss, GssError> {
        let gss = ServerGss::new(self.service.as_deref())?.max_contexts(self.max_contexts);
        Ok(if self.required {
            gss.required(self.min_service.unwrap_or(GssService::None))
        } else {
            gss
        })
    }

    /// Why this table is inconsistent, as `(key, reason)`.
    pub(crate) fn check(&self) -> Option<(&'static str, &'static str)> {
        (self.min_service.is_some() && !self.required).then_some((
            "gss.min_service",
            "a minimum service applies only with `required = true`",
        ))
    }
}

/// Table `gss` of a `[backends.NAME]` entry: the broker makes an
/// RPCSEC_GSS context on each connection to the backend before it
/// forwards calls on it, and protects every call it forwards there.
///
/// ```toml
/// [backends.store]
/// address = "tcp://127.0.0.1:7001"
/// gss = { service = "datastore@localhost", service_level = "krb5i" }
/// ```
///
/// The broker's own credentials are those MIT Kerberos picks up: the
/// client keytab `KRB5_CLIENT_KTNAME` or the ticket cache `KRB5CCNAME`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendGss {
    /// The backend's host-based service name (key `service`,
    /// `SERVICE@HOST`; required).
    pub service: String,
    /// The protection of calls (key `service_level`, `krb5`, `krb5i` or
    /// `krb5p`; default `krb5i`).
    #[serde(default = "integrity", deserialize_with = "level")]
    pub service_level: GssService,
    /// The program and version the context creation NULL calls go to
    /// (keys `program` and `version`, default 0 and 0: a server built on
    /// rpc-runtime answers them for any; a libtirpc server needs one of
    /// its own).
    #[serde(default)]
    pub program: u32,
    /// See `program`.
    #[serde(default)]
    pub version: u32,
}

fn integrity() -> GssService {
    GssService::Integrity
}

fn level<'de, D: Deserializer<'de>>(d: D) -> Result<GssService, D::Error> {
    String::deserialize(d)?
        .parse()
        .map_err(serde::de::Error::custom)
}

impl BackendGss {
    /// The runtime's client settings for this table.
    pub(crate) fn client(&self) -> ClientGss {
        ClientGss::new(self.service.clone()).service(self.service_level)
    }
}
