//! A Rust implementation of the interop protocol's server trait, counting
//! the calls it answers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rpc_runtime::server::{CallContext, HandlerResult, ServerError};

use super::compute;
use super::proto::{
    Blob, FillArgs, Intarr, InteropProgV1, Itemlist, Nodelist, Record, RecordSummary, Shape, Text,
    Value,
};

/// Answers every procedure with [`compute`]'s results (and REVERSE of
/// [`compute::SYSTEM_ERR_TEXT`] with SYSTEM_ERR); cheap to clone (clones
/// share the call counter).
#[derive(Debug, Clone, Default)]
pub struct InteropService {
    calls: Arc<AtomicU64>,
}

impl InteropService {
    /// A service that has answered nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls answered so far (every procedure, NULL included).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

impl InteropProgV1 for InteropService {
    async fn interop_null(&self, _ctx: CallContext) -> HandlerResult<()> {
        self.count();
        Ok(())
    }

    async fn echo_record(&self, _ctx: CallContext, arg: Record) -> HandlerResult<Record> {
        self.count();
        Ok(arg)
    }

    async fn summarize(&self, _ctx: CallContext, arg: Record) -> HandlerResult<RecordSummary> {
        self.count();
        Ok(compute::summarize(&arg))
    }

    async fn sum(&self, _ctx: CallContext, arg: Intarr) -> HandlerResult<i64> {
        self.count();
        Ok(compute::sum(&arg))
    }

    async fn make_list(&self, _ctx: CallContext, arg: i32) -> HandlerResult<Nodelist> {
        self.count();
        Ok(compute::make_list(arg))
    }

    async fn reverse_items(&self, _ctx: CallContext, arg: Itemlist) -> HandlerResult<Itemlist> {
        self.count();
        Ok(compute::reverse_items(&arg))
    }

    async fn reverse(&self, _ctx: CallContext, arg: Text) -> HandlerResult<Text> {
        self.count();
        if arg == compute::SYSTEM_ERR_TEXT {
            return Err(ServerError::SystemErr("asked to fail".to_owned()));
        }
        Ok(compute::reverse(&arg))
    }

    async fn classify(&self, _ctx: CallContext, arg: Shape) -> HandlerResult<Value> {
        self.count();
        Ok(compute::classify(&arg))
    }

    async fn negate(&self, _ctx: CallContext, arg: Value) -> HandlerResult<Value> {
        self.count();
        Ok(compute::negate(&arg))
    }

    async fn checksum(&self, _ctx: CallContext, arg: Blob) -> HandlerResult<u32> {
        self.count();
        Ok(compute::checksum(&arg))
    }

    async fn fill(&self, _ctx: CallContext, arg: FillArgs) -> HandlerResult<Blob> {
        self.count();
        Ok(compute::fill(&arg))
    }

    async fn add(&self, _ctx: CallContext, a: i64, b: i64) -> HandlerResult<i64> {
        self.count();
        Ok(compute::add(a, b))
    }
}
