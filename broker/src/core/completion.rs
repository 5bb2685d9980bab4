//! [`CallDone`]: one record per answered call, for metrics, polled with
//! [`Core::poll_call_done`](super::Core::poll_call_done) once enabled with
//! [`Core::record_calls`](super::Core::record_calls).

use std::fmt;
use std::time::Duration;

use super::handles::BackendId;
use super::output::FailReason;

/// How a call was answered: the backend's reply status (RFC 5531
/// section 9, `reply_stat` and `accept_stat`), or the broker's own answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallStatus {
    /// MSG_ACCEPTED / SUCCESS.
    Success,
    /// MSG_ACCEPTED / PROG_UNAVAIL (from the backend, or from the broker
    /// when no route matches).
    ProgUnavail,
    /// MSG_ACCEPTED / PROG_MISMATCH.
    ProgMismatch,
    /// MSG_ACCEPTED / PROC_UNAVAIL.
    ProcUnavail,
    /// MSG_ACCEPTED / GARBAGE_ARGS.
    GarbageArgs,
    /// MSG_ACCEPTED / SYSTEM_ERR sent by the backend.
    SystemErr,
    /// MSG_DENIED / RPC_MISMATCH.
    RpcMismatch,
    /// MSG_DENIED / AUTH_ERROR.
    AuthError,
    /// A reply whose status could not be read (passed on as it is).
    Malformed,
    /// SYSTEM_ERR made by the broker, for this reason.
    Broker(FailReason),
}

impl CallStatus {
    /// A short lower-case name, stable for metric labels: `success`,
    /// `prog_unavail`, `prog_mismatch`, `proc_unavail`, `garbage_args`,
    /// `system_err`, `rpc_mismatch`, `auth_error`, `malformed`, or for the
    /// broker's own errors `broker_no_backend`, `broker_timeout`,
    /// `broker_connection_lost`, `broker_client_limit`,
    /// `broker_too_few_acks`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallStatus::Success => "success",
            CallStatus::ProgUnavail => "prog_unavail",
            CallStatus::ProgMismatch => "prog_mismatch",
            CallStatus::ProcUnavail => "proc_unavail",
            CallStatus::GarbageArgs => "garbage_args",
            CallStatus::SystemErr => "system_err",
            CallStatus::RpcMismatch => "rpc_mismatch",
            CallStatus::AuthError => "auth_error",
            CallStatus::Malformed => "malformed",
            CallStatus::Broker(FailReason::NoBackend) => "broker_no_backend",
            CallStatus::Broker(FailReason::Timeout) => "broker_timeout",
            CallStatus::Broker(FailReason::ConnectionLost) => "broker_connection_lost",
            CallStatus::Broker(FailReason::ClientLimit) => "broker_client_limit",
            CallStatus::Broker(FailReason::TooFewAcks) => "broker_too_few_acks",
        }
    }

    /// The status of a REPLY record (XID first, no record marking).
    pub fn of_reply(record: &[u8]) -> CallStatus {
        let word = |i: usize| reply_word(record, i);
        let status = || -> Option<CallStatus> {
            match word(2)? {
                0 => {
                    let at = accept_stat_index(record)?;
                    Some(match word(at)? {
                        0 => CallStatus::Success,
                        1 => CallStatus::ProgUnavail,
                        2 => CallStatus::ProgMismatch,
                        3 => CallStatus::ProcUnavail,
                        4 => CallStatus::GarbageArgs,
                        5 => CallStatus::SystemErr,
                        _ => CallStatus::Malformed,
                    })
                }
                1 => Some(match word(3)? {
                    0 => CallStatus::RpcMismatch,
                    1 => CallStatus::AuthError,
                    _ => CallStatus::Malformed,
                }),
                _ => None,
            }
        };
        status().unwrap_or(CallStatus::Malformed)
    }
}

impl fmt::Display for CallStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Word `i` (4 bytes, big-endian) of a record.
pub(super) fn reply_word(record: &[u8], i: usize) -> Option<u32> {
    let at = i.checked_mul(4)?;
    let b = record.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The index of the `accept_stat` word of a MSG_ACCEPTED reply (RFC 5531
/// section 9): after XID, message type, `reply_stat` and the verifier
/// (flavor, length, body padded to 4 bytes).
pub(super) fn accept_stat_index(record: &[u8]) -> Option<usize> {
    let len = usize::try_from(reply_word(record, 4)?).ok()?;
    5usize.checked_add(len.checked_add(3)? / 4)
}

/// A call answered: by a backend's reply, or by the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallDone {
    /// Program, version and procedure called.
    pub call: (u32, u32, u32),
    /// The backend that answered, or the last one tried; `None` when the
    /// broker answered without forwarding (no route, or no backend).
    pub backend: Option<BackendId>,
    /// How it was answered.
    pub status: CallStatus,
    /// From the call's arrival to its answer (the core's clock).
    pub elapsed: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[u32]) -> Vec<u8> {
        w.iter().flat_map(|w| w.to_be_bytes()).collect()
    }

    #[test]
    fn reply_status_is_read_after_the_verifier() {
        assert_eq!(
            CallStatus::of_reply(&words(&[9, 1, 0, 0, 0, 0])),
            CallStatus::Success
        );
        // A 5-byte verifier body, padded to 8.
        assert_eq!(
            CallStatus::of_reply(&words(&[9, 1, 0, 1, 5, 0, 0, 1])),
            CallStatus::ProgUnavail
        );
        assert_eq!(
            CallStatus::of_reply(&words(&[9, 1, 0, 0, 0, 5])),
            CallStatus::SystemErr
        );
        assert_eq!(
            CallStatus::of_reply(&words(&[9, 1, 1, 1, 2])),
            CallStatus::AuthError
        );
        assert_eq!(
            CallStatus::of_reply(&words(&[9, 1, 0, 0, 9])),
            CallStatus::Malformed
        );
        assert_eq!(
            CallStatus::of_reply(&words(&[9, 1, 0, 0, u32::MAX])),
            CallStatus::Malformed
        );
    }
}
