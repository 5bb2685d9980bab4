//! What a procedure does to the data behind a key, and what the broker
//! does about it: the per-procedure routing policies, named after
//! mcrouter's route handles.
//!
//! | class | policy | in mcrouter's terms |
//! |---|---|---|
//! | none | the key's first live replica; idempotent calls retried on the next one when an attempt is lost | `FailoverRoute` |
//! | `read` | as above, and a "not found" reply ([`MissRule`]) is asked again of the key's next live replica before it is returned | `MissFailoverRoute` over `FailoverRoute` |
//! | `write` | sent to every live replica of the key at once, each copy with its own XID; answered once every copy is answered, with success only when at least `min_acks` replicas succeeded ([`AllSync`](super::all_sync::AllSync)) | `AllSyncRoute` |
//!
//! Idempotence is a separate property: it decides whether an attempt
//! whose answer was lost (connection lost, attempt timeout) is sent again.

use std::fmt;

use super::completion::{accept_stat_index, reply_word};
use super::config::{ProcedurePolicy, RoutePlan};

/// How a procedure touches the data of its key (config key `class` of a
/// `[[routes.procedures]]` entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Access {
    /// Not classed: sent to the key's first live replica only
    /// (`FailoverRoute`).
    #[default]
    Unclassed,
    /// Reads the key: fails over on a miss (`MissFailoverRoute`).
    Read,
    /// Writes the key: sent to every live replica (`AllSyncRoute`).
    Write,
}

impl Access {
    /// `"read"`, `"write"` or `"-"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Unclassed => "-",
            Access::Read => "read",
            Access::Write => "write",
        }
    }

    /// The mcrouter route handle this class behaves like.
    pub fn route_handle(self) -> &'static str {
        match self {
            Access::Unclassed => "FailoverRoute",
            Access::Read => "MissFailoverRoute",
            Access::Write => "AllSyncRoute",
        }
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a reply means "not found": a MSG_ACCEPTED / SUCCESS reply (RFC
/// 5531 section 9) whose results start with the XDR word `status` (for
/// `specs/datastore.x`: `DS_NOENT`, 2, the discriminant of every result
/// union). Route config key `miss_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MissRule {
    /// The first word of the results that marks a miss.
    pub status: u32,
}

impl MissRule {
    /// True when `reply` (a REPLY record, XID first, no record marking)
    /// is a miss. Malformed or error replies are not misses.
    pub fn is_miss(&self, reply: &[u8]) -> bool {
        first_result_word(reply) == Some(self.status)
    }
}

/// The policies of a route as text for operators (`broker
/// --check-config`, `broker ctl status`): a line for the route's replicas,
/// then one per listed procedure, named by `name` when it has one, e.g.
///
/// ```text
/// 2 replica(s) per key; writes need 1 ack(s); miss = first result word 2
/// procedure 1 (DS_PUT): write, AllSyncRoute, sent at most once per replica
/// procedure 2 (DS_GET): read, MissFailoverRoute, idempotent (1 retries)
/// ```
pub fn describe(plan: &RoutePlan, name: impl Fn(u32) -> Option<String>) -> Vec<String> {
    let miss = match plan.miss {
        Some(m) => format!("miss = first result word {}", m.status),
        None => "no miss rule".to_owned(),
    };
    let mut lines = vec![format!(
        "{} replica(s) per key; writes need {} ack(s); {miss}",
        plan.replicas, plan.min_acks
    )];
    for (number, p) in &plan.procedures {
        lines.push(describe_procedure(*number, name(*number), p, plan));
    }
    lines
}

fn describe_procedure(
    number: u32,
    name: Option<String>,
    p: &ProcedurePolicy,
    plan: &RoutePlan,
) -> String {
    let mut line = format!("procedure {number}");
    if let Some(n) = name {
        line.push_str(&format!(" ({n})"));
    }
    let handle = if p.keyed && plan.key.is_some() {
        p.access.route_handle()
    } else {
        "in turn, not keyed"
    };
    line.push_str(&format!(": {}, {handle}", p.access));
    if p.idempotent {
        line.push_str(&format!(", idempotent ({} retries)", plan.retries));
    } else if p.access == Access::Unclassed {
        line.push_str(", sent at most once");
    } else {
        line.push_str(", sent at most once per replica");
    }
    if let Some(t) = p.timeout {
        line.push_str(&format!(", timeout {} ms", t.as_millis()));
    }
    line
}

/// The first XDR word of the results of a MSG_ACCEPTED / SUCCESS reply,
/// after the verifier; `None` for any other reply or a short record.
pub fn first_result_word(reply: &[u8]) -> Option<u32> {
    let word = |i: usize| reply_word(reply, i);
    if word(1)? != 1 || word(2)? != 0 {
        return None;
    }
    let at = accept_stat_index(reply)?;
    if word(at)? != 0 {
        return None;
    }
    word(at.checked_add(1)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[u32]) -> Vec<u8> {
        w.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn a_miss_is_the_first_result_word_of_a_success_reply() {
        let noent = MissRule { status: 2 };
        assert!(noent.is_miss(&words(&[9, 1, 0, 0, 0, 0, 2])));
        // After a 5-byte verifier body, padded to 8.
        assert!(noent.is_miss(&words(&[9, 1, 0, 1, 5, 0, 0, 0, 2, 7])));
        assert!(!noent.is_miss(&words(&[9, 1, 0, 0, 0, 0, 0, 2])));
        // SYSTEM_ERR (accept_stat 5) and a denied reply are no misses.
        assert!(!noent.is_miss(&words(&[9, 1, 0, 0, 0, 5, 2])));
        assert!(!noent.is_miss(&words(&[9, 1, 1, 1, 2])));
        assert!(!noent.is_miss(&words(&[9, 1, 0, 0, 0, 0])));
        assert!(!noent.is_miss(&words(&[9, 1, 0, 0, u32::MAX, 0, 2])));
    }
}
