//! The administration protocol of `specs/broker_admin.x`: the generated
//! types, client and server trait ([`proto`]), the broker's
//! implementation of the server trait, and the text `broker ctl` prints.

pub mod ctl;
pub mod proto;
mod render;
mod serve;
mod service;

pub use render::{render_stats, render_status, versions_label};
pub(crate) use serve::serve;
pub(crate) use service::{AdminService, ListenerInfo};
