//! The HTTP/1.1 endpoint serving `/metrics` (hyper).

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::task::JoinSet;

use crate::driver::listener::{Accepted, Listener};
use crate::reload::BrokerHandle;

/// Scrapers served at once; more connections are closed at once.
const MAX_CONNECTIONS: usize = 16;

/// How long one connection may stay open.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// The content type of the OpenMetrics text format.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves `GET /metrics` on `listener` until the task is aborted.
pub(crate) async fn serve(listener: Listener, handle: BrokerHandle) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept(&handle.metrics) => {
                let Accepted::Tcp(stream, _) = accepted else { continue };
                if conns.len() >= MAX_CONNECTIONS {
                    continue;
                }
                let h = handle.clone();
                conns.spawn(async move {
                    let svc = service_fn(move |req| respond(req, h.clone()));
                    let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
                    let _ = tokio::time::timeout(CONNECTION_TIMEOUT, conn).await;
                });
            }
        }
    }
}

fn plain(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

async fn respond(
    req: Request<Incoming>,
    handle: BrokerHandle,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() != "/metrics" {
        return Ok(plain(StatusCode::NOT_FOUND, "not found: try /metrics\n"));
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Ok(plain(StatusCode::METHOD_NOT_ALLOWED, "GET /metrics\n"));
    }
    Ok(match handle.render_metrics().await {
        Ok(text) => {
            let mut r = Response::new(Full::new(Bytes::from(text)));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(CONTENT_TYPE),
            );
            r
        }
        Err(_) => plain(StatusCode::SERVICE_UNAVAILABLE, "broker stopping\n"),
    })
}
