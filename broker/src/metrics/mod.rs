//! Metrics in the OpenMetrics text format (which Prometheus scrapes),
//! served over HTTP at `/metrics` on the `admin.metrics` address.
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `broker_calls_total` | counter | `program`, `backend`, `status` | calls answered; `status` is the reply's `accept_stat`/`reject_stat` (`success`, `prog_unavail`, `system_err`, ...) or the broker's own error (`broker_timeout`, `broker_no_backend`, `broker_connection_lost`, `broker_client_limit`, `broker_too_few_acks`); `backend` is `none` when the broker answered alone; `program` is `unrouted` for programs no route has and for calls an allow list refused (`auth_error`, `prog_unavail`) |
//! | `broker_call_duration_seconds` | histogram | `program`, `backend` | arrival to answer, for forwarded calls |
//! | `broker_calls_in_flight` | gauge | | calls accepted and not yet answered |
//! | `broker_client_connections` | gauge | | client connections |
//! | `broker_backend_calls_in_flight` | gauge | `backend` | calls sent and not answered |
//! | `broker_backend_up` | gauge | `backend` | 1 when a connection is up |
//! | `broker_backend_routable` | gauge | `backend` | 1 when it takes new calls |
//! | `broker_backend_connections` | gauge | `backend` | connections up |
//! | `broker_backend_reconnects_total` | counter | `backend` | connections lost or failed |
//! | `broker_late_replies_total` | counter | | replies nobody waited for any more |
//! | `broker_retries_total` | counter | | attempts after the first |
//! | `broker_miss_failovers_total` | counter | | reads asked of the key's next replica after a miss |
//! | `broker_forwarded_total` | counter | | calls sent to backends |
//! | `broker_config_reloads_total` | counter | `result` | reloads `applied` or `rejected` |
//! | `broker_udp_reply_cache_hits_total` | counter | | retransmitted UDP calls answered from the reply cache |
//! | `broker_udp_retransmits_in_flight_total` | counter | | retransmitted UDP calls dropped while their call was in flight |
//! | `broker_udp_replies_too_large_total` | counter | | replies over `udp.max_datagram_bytes`, answered SYSTEM_ERR |
//! | `broker_udp_datagrams_dropped_total` | counter | | datagrams over `udp.max_datagram_bytes`, or not a call |
//! | `broker_udp_in_flight_full_total` | counter | | times UDP reading paused at `udp.max_in_flight` calls outstanding |
//! | `broker_accept_errors_total` | counter | `reason` | failed accepts on client listeners: `out_of_descriptors` (EMFILE, ENFILE; accepting pauses with backoff) or `other` |
//! | `broker_connections_refused_total` | counter | `reason` | client connections closed as soon as accepted: `descriptors` (out of file descriptors; `max_connections` is under `broker_client_limit_hits_total`) |
//! | `broker_tls_refusals_total` | counter | `reason` | RPC-over-TLS refusals on the client listeners: `plain_call` (a call without TLS on a listener with `tls.required`, answered AUTH_TOOWEAK), `handshake` (a TLS handshake after the AUTH_TLS probe that failed or passed `tls.handshake_timeout_ms`), `certificate` (a client certificate missing or refused under `tls.client_ca`, or the broker's refused by the client) |
//! | `broker_backend_tls_failures_total` | counter | `backend`, `reason` | RPC-over-TLS starts to a backend that failed after its TCP connection was made: `certificate` (its certificate did not verify against `tls.ca`/`server_name`, or it refused ours), `not_offered` (no STARTTLS answer to the AUTH_TLS probe), `handshake` (anything else, including the 10 s handshake timeout); each also logged, at most one line per 10 s, and counted in `broker_backend_reconnects_total` |
//! | `broker_gss_contexts_open` | gauge | | RPCSEC_GSS contexts held by the listeners with a `gss` table (established or being created; at most `gss.max_contexts` each) |
//! | `broker_gss_contexts_evicted_total` | counter | | RPCSEC_GSS contexts dropped because a listener held `gss.max_contexts` (the client gets RPCSEC_GSS_CREDPROBLEM and makes a new context) |
//! | `broker_gss_refusals_total` | counter | `reason` | calls refused or dropped on listeners with a `gss` table: `bad_credential` (AUTH_BADCRED), `creation_refused` (the GSS-API refused the context: no or bad ticket, wrong service), `credproblem` (unknown context or header checksum failed), `ctxproblem`, `too_weak` (below `gss.min_service`), `other_flavor` (not RPCSEC_GSS where `gss.required`), `garbage_args` (integrity or privacy check of the arguments failed), `replay` (sequence number replayed or below the window: dropped), `principal_not_allowed` (off `allow_principals`) |
//! | `broker_client_limit_hits_total` | counter | `limit` | limits on client connections reached: `max_connections_evicted` (the longest-idle connection closed for a new one), `max_connections_refused` (none idle: the new one closed), `idle_timeout`, `record_timeout`, `write_timeout`, `max_record_bytes`, `max_unread_bytes_paused` (reading paused: backpressure), `max_unread_bytes_closed` (a reply for a client over a cap) |

mod gss;
mod http;
mod registry;
mod tls;
mod udp;

pub(crate) use gss::PRINCIPAL_NOT_ALLOWED;
pub(crate) use http::serve;
pub(crate) use registry::{LimitHit, Metrics, Recorder};
