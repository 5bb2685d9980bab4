//! [`UdpMetrics`]: the counters of the broker's UDP listeners.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;

/// What the UDP listeners count (Prometheus counters, `broker_udp_*`).
#[derive(Debug, Clone, Default)]
pub(crate) struct UdpMetrics {
    /// Retransmitted calls answered from the reply cache.
    pub(crate) reply_cache_hits: Counter,
    /// Retransmitted calls dropped because their call was in flight.
    pub(crate) retransmits_in_flight: Counter,
    /// Replies larger than `udp.max_datagram_bytes`, answered SYSTEM_ERR.
    pub(crate) replies_too_large: Counter,
    /// Datagrams dropped unread: larger than `udp.max_datagram_bytes`,
    /// or not a call message.
    pub(crate) datagrams_dropped: Counter,
    /// Times reading paused because `udp.max_in_flight` calls were
    /// outstanding.
    pub(crate) in_flight_full: Counter,
}

impl UdpMetrics {
    /// The counters, registered in `registry`.
    pub(crate) fn register(registry: &mut Registry) -> UdpMetrics {
        let m = UdpMetrics::default();
        registry.register(
            "udp_reply_cache_hits",
            "Retransmitted UDP calls answered from the reply cache",
            m.reply_cache_hits.clone(),
        );
        registry.register(
            "udp_retransmits_in_flight",
            "Retransmitted UDP calls dropped while their call was in flight",
            m.retransmits_in_flight.clone(),
        );
        registry.register(
            "udp_replies_too_large",
            "Replies larger than udp.max_datagram_bytes, answered SYSTEM_ERR",
            m.replies_too_large.clone(),
        );
        registry.register(
            "udp_datagrams_dropped",
            "UDP datagrams dropped unread (over udp.max_datagram_bytes, or not a call)",
            m.datagrams_dropped.clone(),
        );
        registry.register(
            "udp_in_flight_full",
            "Times UDP reading paused with udp.max_in_flight calls outstanding",
            m.in_flight_full.clone(),
        );
        m
    }
}
