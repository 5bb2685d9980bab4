//! Metrics in the Prometheus text format (OpenMetrics), served over HTTP
//! at `/metrics` on the `admin.metrics` address.
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `broker_calls_total` | counter | `program`, `backend`, `status` | calls answered; `status` is the reply's `accept_stat`/`reject_stat` (`success`, `prog_unavail`, `system_err`, ...) or the broker's own error (`broker_timeout`, `broker_no_backend`, `broker_connection_lost`, `broker_client_limit`); `backend` is `none` when the broker answered alone; `program` is `unrouted` for programs no route has |
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
//! | `broker_forwarded_total` | counter | | calls sent to backends |
//! | `broker_config_reloads_total` | counter | `result` | reloads `applied` or `rejected` |
//! | `broker_client_limit_hits_total` | counter | `limit` | limits on client connections reached: `max_connections_evicted` (the longest-idle connection closed for a new one), `max_connections_refused` (none idle: the new one closed), `idle_timeout`, `record_timeout`, `write_timeout`, `max_record_bytes`, `max_unread_bytes_paused` (reading paused: backpressure), `max_unread_bytes_closed` (a reply for a client over a cap) |

mod http;
mod registry;

pub(crate) use http::serve;
pub(crate) use registry::{LimitHit, Metrics, Recorder};
