//! Cross-site request forgery protection: a state-changing request (anything but GET, HEAD,
//! OPTIONS) whose `Origin` is not this site's is refused. Browsers always send `Origin` on
//! such requests; when it is absent, `Sec-Fetch-Site` decides. Non-browser clients send
//! neither and pass (they cannot ride a victim's cookies). Webhooks, which providers sign,
//! come later and are checked by their signature instead.

use std::sync::Arc;

use app::state::Settings;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Method, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn refuse_cross_origin(
    State(settings): State<Arc<Settings>>,
    request: Request<Body>,
    next: Next,
) -> Response {
    if is_cross_origin(&settings.public_url, &request) {
        return (StatusCode::FORBIDDEN, "cross-origin request refused").into_response();
    }
    next.run(request).await
}

fn is_cross_origin(public_url: &str, request: &Request<Body>) -> bool {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return false;
    }
    let headers = request.headers();
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            !same_origin(origin, public_url, host)
        }
        None => headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|site| site == "cross-site"),
    }
}

/// The origin matches the public URL's, or the host the request was sent to.
pub(crate) fn same_origin(origin: &str, public_url: &str, host: Option<&str>) -> bool {
    let origin = origin.trim_end_matches('/');
    if origin.eq_ignore_ascii_case(origin_of(public_url)) {
        return true;
    }
    let origin_host = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(headers: &[(&str, &str)]) -> Request<Body> {
        let mut builder = Request::post("/api/setup");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(Body::empty()).unwrap()
    }

    const PUBLIC: &str = "https://buzon.example.com";

    #[test]
    fn same_origin_posts_pass() {
        assert!(!is_cross_origin(
            PUBLIC,
            &post(&[("origin", "https://buzon.example.com")])
        ));
        assert!(!is_cross_origin(
            PUBLIC,
            &post(&[
                ("origin", "http://localhost:3000"),
                ("host", "localhost:3000")
            ])
        ));
    }

    #[test]
    fn foreign_origins_are_refused() {
        assert!(is_cross_origin(
            PUBLIC,
            &post(&[
                ("origin", "https://evil.example"),
                ("host", "buzon.example.com")
            ])
        ));
        assert!(is_cross_origin(
            PUBLIC,
            &post(&[("origin", "https://buzon.example.com.evil.example")])
        ));
        assert!(is_cross_origin(PUBLIC, &post(&[("origin", "null")])));
    }

    #[test]
    fn without_origin_fetch_metadata_decides() {
        assert!(is_cross_origin(
            PUBLIC,
            &post(&[("sec-fetch-site", "cross-site")])
        ));
        assert!(!is_cross_origin(
            PUBLIC,
            &post(&[("sec-fetch-site", "same-origin")])
        ));
        assert!(!is_cross_origin(PUBLIC, &post(&[])));
    }

    #[test]
    fn reads_are_never_refused() {
        let request = Request::get("/inbox")
            .header("origin", "https://evil.example")
            .body(Body::empty())
            .unwrap();
        assert!(!is_cross_origin(PUBLIC, &request));
    }

    #[test]
    fn origin_of_drops_the_path() {
        assert_eq!(
            origin_of("https://a.example:8443/x/y"),
            "https://a.example:8443"
        );
        assert_eq!(origin_of("http://127.0.0.1:3000"), "http://127.0.0.1:3000");
    }
}
