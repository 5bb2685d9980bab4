//! Metrics in the Prometheus text format (OpenMetrics), served over HTTP
//! at `/metrics` on the `admin.metrics` address.
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `broker_calls_total` | counter | `program`, `backend`, `status` | calls answered; `status` is the reply's `accept_stat`/`reject_stat` (`success`, `prog_unavail`, `system_err`, ...) or the broker's own error (`broker_timeout`, `broker_no_backend`, `broker_connection_lost`, `broker_client_limit`, `broker_too_few_acks`); `backend` is `none` when the broker answered alone; `program` is `unrouted` for programs no route has |
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

mod http;
mod registry;

pub(crate) use http::serve;
pub(crate) use registry::{Metrics, Recorder};
