//! Each client call is a `tracing` span with program, version, procedure
//! and XID. Alone in its test binary: `tracing` caches per call site
//! whether anyone listens, which a thread-local subscriber in parallel
//! tests can defeat.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use support::*;

type SpanLog = Vec<(String, HashMap<String, String>)>;

/// A `tracing` layer that records every span's name and fields (span ids
/// are reused, so they map to the latest span's index).
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<SpanLog>>,
    index: Arc<Mutex<HashMap<u64, usize>>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        let name = attrs.metadata().name().to_owned();
        let mut spans = self.spans.lock().unwrap();
        spans.push((name, fields));
        self.index
            .lock()
            .unwrap()
            .insert(id.into_u64(), spans.len() - 1);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let Some(&i) = self.index.lock().unwrap().get(&id.into_u64()) else {
            return;
        };
        if let Some((_, fields)) = self.spans.lock().unwrap().get_mut(i) {
            values.record(&mut Fields(fields));
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_call_is_a_span_with_program_version_procedure_and_xid() {
    use tracing_subscriber::layer::SubscriberExt;
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let _guard = tracing::subscriber::set_default(subscriber);

    let addr = start_tcp().await;
    let c = tcp_client(addr).await;
    assert_eq!(c.echo(&5).await.unwrap(), 5);

    let spans = capture.spans.lock().unwrap();
    let calls: Vec<_> = spans
        .iter()
        .filter(|(name, _)| name == "rpc_call")
        .collect();
    assert_eq!(calls.len(), 1, "one rpc_call span: {spans:?}");
    let fields = &calls[0].1;
    assert_eq!(fields["program"], TESTPROG.to_string());
    assert_eq!(fields["version"], "1");
    assert_eq!(fields["procedure"], TESTPROC_ECHO.to_string());
    let xid: u32 = fields["xid"].parse().unwrap();
    // The server's span for the same call carries the same XID.
    let serve: Vec<_> = spans
        .iter()
        .filter(|(name, _)| name == "rpc_serve")
        .collect();
    assert_eq!(serve.len(), 1, "{spans:?}");
    assert_eq!(serve[0].1["xid"], xid.to_string());
}
