//! What an operator sees of a running server. Every request gets an id (`X-Request-Id`, kept
//! from a trusted proxy or made here, and sent back) and a span that its log lines carry,
//! with the organization and the user once the session is read: an internal error's log line
//! names its request. `GET /metrics` answers in Prometheus' text format: requests and their
//! latency by kind and status class, what webhooks stored, the outbox's and the jobs' backlog,
//! and the open live streams.

use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use app::state::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tower_http::request_id::{MakeRequestId, RequestId};
use tracing::Span;

use crate::webhooks::constant_time_eq;

/// The header a request's id travels in.
pub const REQUEST_ID: &str = "x-request-id";

/// Request ids: this process's random prefix and a counter, unique across instances.
#[derive(Clone)]
pub struct RequestIds {
    prefix: u32,
    next: Arc<AtomicU64>,
}

impl Default for RequestIds {
    fn default() -> Self {
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        RequestIds {
            prefix: seed as u32,
            next: Arc::default(),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let id = format!("{:08x}-{n:x}", self.prefix);
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// The span of one request: its id, method and path; the organization and the user are
/// recorded once the session is read ([`app::auth`] does).
pub fn request_span(request: &axum::http::Request<axum::body::Body>) -> Span {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        id,
        method = %request.method(),
        path = request.uri().path(),
        org = tracing::field::Empty,
        user = tracing::field::Empty,
    )
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    kind: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// The server's counters, kept in `AppState::extensions`.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<KindLabel, Histogram>,
    /// Messages, statuses and other events stored from webhooks.
    pub ingested: Counter,
    /// Open live streams.
    pub live_streams: Gauge,
    outbox_backlog: Gauge,
    jobs_backlog: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("buzon");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by kind and status class",
            requests.clone(),
        );
        let latency = Family::<KindLabel, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by kind",
            latency.clone(),
        );
        let ingested = Counter::default();
        registry.register(
            "ingested_events",
            "Messages, statuses and other events stored from webhooks",
            ingested.clone(),
        );
        let live_streams = Gauge::default();
        registry.register("live_streams", "Open live streams", live_streams.clone());
        let outbox_backlog = Gauge::default();
        registry.register(
            "outbox_backlog",
            "Sends waiting to be delivered",
            outbox_backlog.clone(),
        );
        let jobs_backlog = Gauge::default();
        registry.register("jobs_backlog", "Jobs waiting to run", jobs_backlog.clone());
        Metrics {
            registry,
            requests,
            latency,
            ingested,
            live_streams,
            outbox_backlog,
            jobs_backlog,
        }
    }
}

impl Metrics {
    /// The server's metrics (every server state carries them; a state built elsewhere gets a
    /// fresh set).
    pub fn of(state: &AppState) -> Arc<Metrics> {
        state
            .extensions
            .get::<Arc<Metrics>>()
            .cloned()
            .unwrap_or_default()
    }

    /// Counts an open live stream until the guard is dropped.
    pub fn stream_opened(&self) -> OpenStream {
        self.live_streams.inc();
        OpenStream(self.live_streams.clone())
    }

    fn observe(&self, kind: &'static str, status: StatusCode, seconds: f64) {
        let status = match status.as_u16() {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.requests
            .get_or_create(&RequestLabels { kind, status })
            .inc();
        self.latency
            .get_or_create(&KindLabel { kind })
            .observe(seconds);
    }
}

/// A live stream counted as open while this lives.
pub struct OpenStream(Gauge);

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// What a path is, for the metrics: few labels, never an id.
fn kind_of(path: &str) -> &'static str {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "api" if path.starts_with("/api/live") => "live",
        "api" => "api",
        "webhooks" => "webhook",
        "media" => "media",
        "pkg" | "icons" | "sw.js" | "manifest.webmanifest" => "asset",
        "metrics" | "healthz" => "operations",
        _ => "page",
    }
}

/// Counts and times every request.
pub async fn count_requests(
    State(metrics): State<Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let kind = kind_of(request.uri().path());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe(kind, response.status(), started.elapsed().as_secs_f64());
    response
}

/// Drops a request id the client chose (it would land in the logs as if it were Buzón's),
/// unless it comes through a proxy Buzón is told to trust.
pub async fn foreign_request_id(
    State(trusted): State<bool>,
    mut request: Request,
    next: Next,
) -> Response {
    if !trusted {
        request.headers_mut().remove(REQUEST_ID);
    }
    next.run(request).await
}

/// `GET /metrics`, for the machine itself or with the configured bearer token: the figures
/// say how busy the installation is, which is no one else's business.
pub async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let token = state.settings.metrics_token.as_deref();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let forwarded = headers.contains_key("x-forwarded-for");
    let allowed = match token {
        Some(token) => {
            bearer.is_some_and(|given| constant_time_eq(given.as_bytes(), token.as_bytes()))
        }
        None => peer.ip().is_loopback() && !forwarded,
    };
    if !allowed {
        return StatusCode::NOT_FOUND.into_response();
    }
    let metrics = Metrics::of(&state);
    let backlog: Result<(i64, i64), sqlx::Error> = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'in_flight')), \
                (SELECT COUNT(*) FROM jobs WHERE done_at IS NULL)",
    )
    .fetch_one(&state.db.pool)
    .await;
    match backlog {
        Ok((outbox, jobs)) => {
            metrics.outbox_backlog.set(outbox);
            metrics.jobs_backlog.set(jobs);
        }
        Err(err) => tracing::warn!(%err, "could not read the backlogs"),
    }
    let mut text = String::new();
    if encode(&mut text, &metrics.registry).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_kind_without_ids() {
        assert_eq!(kind_of("/inbox"), "page");
        assert_eq!(kind_of("/api/conversations"), "api");
        assert_eq!(kind_of("/api/live"), "live");
        assert_eq!(kind_of("/webhooks/whatsapp"), "webhook");
        assert_eq!(kind_of("/media/123"), "media");
        assert_eq!(kind_of("/pkg/buzon.wasm"), "asset");
    }

    #[test]
    fn request_ids_differ() {
        let mut ids = RequestIds::default();
        let request = axum::http::Request::new(());
        let a = ids.make_request_id(&request).unwrap();
        let b = ids.make_request_id(&request).unwrap();
        assert_ne!(a.header_value(), b.header_value());
    }
}
