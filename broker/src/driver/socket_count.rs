//! [`SocketCount`]: client sockets open, counted from the moment a
//! connection is admitted until its task has dropped both halves of the
//! socket, so that a listener can wait for an evicted connection's
//! descriptor to be released before it accepts the next one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// Client sockets open (descriptors held for clients).
#[derive(Debug, Default)]
pub(crate) struct SocketCount {
    open: AtomicUsize,
    released: Notify,
}

/// One counted socket; dropping it releases the count.
#[derive(Debug)]
pub(crate) struct SocketSlot(Arc<SocketCount>);

impl Drop for SocketSlot {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::AcqRel);
        self.0.released.notify_waiters();
    }
}

impl SocketCount {
    /// Counts one more open socket until the slot is dropped.
    pub(crate) fn opened(self: &Arc<Self>) -> SocketSlot {
        self.open.fetch_add(1, Ordering::AcqRel);
        SocketSlot(Arc::clone(self))
    }

    /// Sockets open now.
    pub(crate) fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Waits until at most `max` sockets are open, or `patience` passes;
    /// whether the count is within `max`.
    pub(crate) async fn wait_at_most(&self, max: usize, patience: Duration) -> bool {
        let wait = async {
            loop {
                let released = self.released.notified();
                tokio::pin!(released);
                released.as_mut().enable();
                if self.open() <= max {
                    return;
                }
                released.await;
            }
        };
        tokio::time::timeout(patience, wait).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiter_wakes_when_a_slot_is_dropped() {
        let count = Arc::new(SocketCount::default());
        let a = count.opened();
        let _b = count.opened();
        assert_eq!(count.open(), 2);
        assert!(!count.wait_at_most(1, Duration::from_millis(20)).await);
        let waiter = {
            let count = Arc::clone(&count);
            tokio::spawn(async move { count.wait_at_most(1, Duration::from_secs(10)).await })
        };
        tokio::task::yield_now().await;
        drop(a);
        assert!(waiter.await.expect("waiter"));
        assert_eq!(count.open(), 1);
    }
}
