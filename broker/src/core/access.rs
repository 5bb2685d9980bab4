//! Who may call: the caller of a client connection (its peer credentials,
//! and the allow list of the listener it came in on), and the RFC 5531
//! answer to a call the allow list refuses.
//!
//! | the call's...                               | answer                                  |
//! |---------------------------------------------|-----------------------------------------|
//! | caller uid, gid and principal all off the lists | MSG_DENIED / AUTH_ERROR / AUTH_TOOWEAK |
//! | program off the listener's program list     | MSG_ACCEPTED / PROG_UNAVAIL             |
//!
//! AUTH_TOOWEAK (RFC 5531 section 9, `auth_stat`) says the caller's
//! credentials are genuine but not enough for this service, which is what
//! a uid off the list is. A program off the list gets the answer a
//! program without a route gets, so a caller cannot tell the programs the
//! broker routes for others from those it does not route at all.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use rpc_runtime::message::reply::{accepted_error, denied};
use rpc_runtime::message::{AcceptStat, AuthStat, CallPeek, RejectStat};

use super::completion::CallStatus;
use super::handles::ClientId;
use super::output::Event;
use super::Core;

/// A client's credentials as the kernel reports them for a Unix socket
/// (`SO_PEERCRED`): those of the process that connected, at `connect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerCred {
    /// Effective user ID.
    pub uid: u32,
    /// Effective (primary) group ID; supplementary groups are not known.
    pub gid: u32,
    /// Process ID, when the system reports one.
    pub pid: Option<i32>,
}

/// The allow lists of one listener; `None` lists allow everyone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    /// Callers whose uid is here may call (as may those of `gids`).
    pub uids: Option<BTreeSet<u32>>,
    /// Callers whose primary gid is here may call (as may those of
    /// `uids`).
    pub gids: Option<BTreeSet<u32>>,
    /// Programs that may be called.
    pub programs: Option<BTreeSet<u32>>,
    /// Callers whose RPCSEC_GSS principal (the GSS-API display name,
    /// `alice@EXAMPLE.ORG`) is here may call (as may those of `uids` and
    /// `gids`); known only on a listener that ends RPCSEC_GSS.
    pub principals: Option<BTreeSet<String>>,
    /// Callers whose TLS client certificate names one of these (its
    /// subject's common name or a DNS, e-mail, URI or IP subject
    /// alternative name) may call; known only on a listener with mutual
    /// TLS (`tls.client_ca`).
    pub tls_names: Option<BTreeSet<String>>,
}

/// Who a caller is, as far as the broker knows, for [`AllowList::check`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Who<'a> {
    /// Peer credentials (Unix sockets).
    pub cred: Option<PeerCred>,
    /// The RPCSEC_GSS principal, when the broker ended RPCSEC_GSS.
    pub principal: Option<&'a str>,
    /// The names of the verified TLS client certificate.
    pub tls_names: &'a [String],
}

/// Why an [`AllowList`] refuses a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The caller's uid, gid and principal are on none of the lists
    /// (or it has none of them): AUTH_ERROR / AUTH_TOOWEAK.
    Caller,
    /// The program is not on the list: PROG_UNAVAIL.
    Program,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::Caller => "caller not on the listener's allow list",
            Refusal::Program => "program not on the listener's allow list",
        })
    }
}

impl AllowList {
    /// True when every list is absent (everyone may call everything).
    pub fn allows_all(&self) -> bool {
        self.uids.is_none()
            && self.gids.is_none()
            && self.programs.is_none()
            && self.principals.is_none()
            && self.tls_names.is_none()
    }

    /// Whether caller `who` may call `program`: with any caller list
    /// present, one of the caller's identities must be on its list.
    ///
    /// # Errors
    ///
    /// The [`Refusal`]; the caller is checked before the program.
    pub fn check(&self, who: Who<'_>, program: u32) -> Result<(), Refusal> {
        let names = [&self.principals, &self.tls_names];
        if self.uids.is_some() || self.gids.is_some() || names.iter().any(|l| l.is_some()) {
            let on = |list: &Option<BTreeSet<u32>>, id: u32| {
                list.as_ref().is_some_and(|l| l.contains(&id))
            };
            let named = |list: &Option<BTreeSet<String>>, name: &str| {
                list.as_ref().is_some_and(|l| l.contains(name))
            };
            let allowed = who
                .cred
                .is_some_and(|c| on(&self.uids, c.uid) || on(&self.gids, c.gid))
                || who.principal.is_some_and(|p| named(&self.principals, p))
                || who.tls_names.iter().any(|n| named(&self.tls_names, n));
            if !allowed {
                return Err(Refusal::Caller);
            }
        }
        match &self.programs {
            Some(p) if !p.contains(&program) => Err(Refusal::Program),
            _ => Ok(()),
        }
    }
}

/// A client connection as the core knows it: who is calling and which
/// allow list applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// Peer credentials (Unix sockets); `None` for TCP.
    pub cred: Option<PeerCred>,
    /// The listener's allow list; `None` allows everything.
    pub allow: Option<Arc<AllowList>>,
    /// The names of the client's verified TLS certificate, once its
    /// handshake is done ([`Core::set_tls_names`]).
    pub tls_names: Vec<String>,
}

impl Core {
    /// Records the names of `client`'s verified TLS certificate (its
    /// handshake finished), for its allow list.
    pub fn set_tls_names(&mut self, client: ClientId, names: Vec<String>) {
        if let Some(c) = self.clients.get_mut(&client) {
            c.caller.tls_names = names;
        }
    }

    /// Answers `call` from `client` when the client's allow list refuses
    /// it (and reports [`Event::CallRefused`]); true when it did.
    pub(super) fn refuse_if_not_allowed(
        &mut self,
        now: Instant,
        client: ClientId,
        call: &CallPeek,
        principal: Option<&Arc<str>>,
    ) -> bool {
        let Some(c) = self.clients.get(&client) else {
            return false;
        };
        let Some(allow) = &c.caller.allow else {
            return false;
        };
        let cred = c.caller.cred;
        let who = Who {
            cred,
            principal: principal.map(|p| &**p),
            tls_names: &c.caller.tls_names,
        };
        let Err(refusal) = allow.check(who, call.program) else {
            return false;
        };
        let (status, reply) = match refusal {
            Refusal::Caller => (
                CallStatus::AuthError,
                denied(call.xid, RejectStat::AuthError(AuthStat::TooWeak)),
            ),
            Refusal::Program => (
                CallStatus::ProgUnavail,
                accepted_error(call.xid, AcceptStat::ProgUnavail),
            ),
        };
        self.note_done(
            (call.program, call.version, call.procedure),
            None,
            status,
            now,
            now,
        );
        self.events.push_back(Event::CallRefused {
            client,
            cred,
            principal: principal.cloned(),
            program: call.program,
            refusal,
        });
        self.reply_to(client, reply);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(uid: u32, gid: u32) -> Option<PeerCred> {
        Some(PeerCred {
            uid,
            gid,
            pid: Some(1),
        })
    }

    fn who(cred: Option<PeerCred>, principal: Option<&str>) -> Who<'_> {
        Who {
            cred,
            principal,
            tls_names: &[],
        }
    }

    fn set(v: &[u32]) -> Option<BTreeSet<u32>> {
        Some(v.iter().copied().collect())
    }

    #[test]
    fn uid_or_gid_on_a_list_lets_the_caller_in() {
        let a = AllowList {
            uids: set(&[1000]),
            gids: set(&[50]),
            ..AllowList::default()
        };
        assert_eq!(a.check(who(cred(1000, 7), None), 1), Ok(()));
        assert_eq!(a.check(who(cred(7, 50), None), 1), Ok(()));
        assert_eq!(a.check(who(cred(7, 7), None), 1), Err(Refusal::Caller));
        assert_eq!(a.check(who(None, None), 1), Err(Refusal::Caller));
        let only_gids = AllowList {
            gids: set(&[50]),
            ..AllowList::default()
        };
        assert_eq!(
            only_gids.check(who(cred(1000, 7), None), 1),
            Err(Refusal::Caller)
        );
    }

    #[test]
    fn programs_off_the_list_are_refused_after_the_caller_check() {
        let a = AllowList {
            uids: set(&[0]),
            programs: set(&[100_003]),
            ..AllowList::default()
        };
        assert_eq!(a.check(who(cred(0, 0), None), 100_003), Ok(()));
        assert_eq!(
            a.check(who(cred(0, 0), None), 100_005),
            Err(Refusal::Program)
        );
        assert_eq!(
            a.check(who(cred(1, 1), None), 100_005),
            Err(Refusal::Caller)
        );
        assert!(AllowList::default().allows_all());
        let principals = AllowList {
            uids: set(&[0]),
            principals: Some(["alice@EXAMPLE.ORG".to_owned()].into()),
            ..AllowList::default()
        };
        assert_eq!(
            principals.check(who(None, Some("alice@EXAMPLE.ORG")), 1),
            Ok(())
        );
        assert_eq!(
            principals.check(who(cred(0, 0), Some("bob@EXAMPLE.ORG")), 1),
            Ok(())
        );
        assert_eq!(
            principals.check(who(cred(1, 1), Some("bob@EXAMPLE.ORG")), 1),
            Err(Refusal::Caller)
        );
        assert_eq!(principals.check(who(None, None), 1), Err(Refusal::Caller));
        let names = AllowList {
            tls_names: Some(["client.example".to_owned()].into()),
            ..AllowList::default()
        };
        let tls_names = ["CN=x".to_owned(), "client.example".to_owned()];
        let by_name = Who {
            tls_names: &tls_names,
            ..Who::default()
        };
        assert_eq!(names.check(by_name, 1), Ok(()));
        assert_eq!(names.check(Who::default(), 1), Err(Refusal::Caller));
        assert_eq!(AllowList::default().check(who(None, None), 9), Ok(()));
    }

    #[test]
    fn the_core_answers_refused_calls_itself_and_forwards_the_others() {
        use crate::core::tests::{call, config, connected, transmits};
        use crate::core::{Destination, Transmit};
        use rpc_runtime::message::reply::denied;

        let now = Instant::now();
        let (mut core, _) = connected(config(1, 0), now);
        let allow = Some(Arc::new(AllowList {
            uids: set(&[1000]),
            programs: set(&[0x2000_DA7A]),
            ..AllowList::default()
        }));
        let stranger = core.add_caller(Caller {
            cred: cred(1001, 1001),
            allow: allow.clone(),
            ..Caller::default()
        });
        let owner = core.add_caller(Caller {
            cred: cred(1000, 1000),
            allow,
            ..Caller::default()
        });
        core.handle_client_call(now, stranger, call(7, 2, "k"));
        let out = transmits(&mut core);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].destination, Destination::Client(stranger));
        assert_eq!(
            out[0].to_record(),
            denied(7, RejectStat::AuthError(AuthStat::TooWeak))
        );
        assert!(matches!(
            core.poll_event(),
            Some(Event::CallRefused {
                refusal: Refusal::Caller,
                program: 0x2000_DA7A,
                ..
            })
        ));
        // The owner's call goes to a backend.
        core.handle_client_call(now, owner, call(8, 2, "k"));
        let out = transmits(&mut core);
        assert!(matches!(
            out[..],
            [Transmit {
                destination: Destination::Backend(_),
                ..
            }]
        ));
        // Another program: PROG_UNAVAIL, even though the owner may call.
        let mut other = call(9, 2, "k").to_vec();
        other[12..16].copy_from_slice(&0x2000_DA7Bu32.to_be_bytes());
        core.handle_client_call(now, owner, other.into());
        let out = transmits(&mut core);
        assert_eq!(
            out[0].to_record(),
            accepted_error(9, AcceptStat::ProgUnavail)
        );
    }
}
