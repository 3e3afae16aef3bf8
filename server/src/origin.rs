//! Cross-site request forgery protection: a state-changing request (anything but GET, HEAD,
//! OPTIONS) whose `Origin` is not this site's is refused. This site's origin is the public
//! URL's, never whatever `Host` the request names: a page on a domain that resolves to this
//! server (DNS rebinding) sends its own name as both `Origin` and `Host`. Browsers always send `Origin` on
//! such requests; when it is absent, `Sec-Fetch-Site` decides. Non-browser clients send
//! neither and pass (they cannot ride a victim's cookies). Webhooks, which providers sign,
//! come later and are checked by their signature instead.

use std::net::SocketAddr;
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
    if is_cross_origin(&settings.origins, &request) {
        return (StatusCode::FORBIDDEN, "cross-origin request refused").into_response();
    }
    next.run(request).await
}

fn is_cross_origin(origins: &[String], request: &Request<Body>) -> bool {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return false;
    }
    let headers = request.headers();
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        Some(origin) => !same_origin(origin, origins),
        None => headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|site| site == "cross-site"),
    }
}

/// The origin is one this site is reached at.
pub(crate) fn same_origin(origin: &str, origins: &[String]) -> bool {
    let origin = origin.trim_end_matches('/');
    origins.iter().any(|o| origin.eq_ignore_ascii_case(o))
}

/// The origins people reach this site at: the public URL's; and when no public URL was
/// configured and the server listens on a loopback address, the same port on `localhost`,
/// `127.0.0.1` and `[::1]`, which all name this machine (a newcomer's `scripts/run`).
pub fn site_origins(public_url: &str, configured: bool, listen: SocketAddr) -> Vec<String> {
    let mut origins = vec![origin_of(public_url).to_ascii_lowercase()];
    if !configured && listen.ip().is_loopback() {
        let port = listen.port();
        for host in ["localhost", "127.0.0.1", "[::1]"] {
            let alias = format!("http://{host}:{port}");
            if !origins.contains(&alias) {
                origins.push(alias);
            }
        }
    }
    origins
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

    fn public() -> Vec<String> {
        site_origins(
            "https://buzon.example.com",
            true,
            "0.0.0.0:3000".parse().unwrap(),
        )
    }

    #[test]
    fn same_origin_posts_pass() {
        assert!(!is_cross_origin(
            &public(),
            &post(&[("origin", "https://buzon.example.com")])
        ));
        // Without a configured public URL, on loopback: every name of this machine's port.
        let local = site_origins(
            "http://127.0.0.1:3000",
            false,
            "127.0.0.1:3000".parse().unwrap(),
        );
        for origin in [
            "http://localhost:3000",
            "http://127.0.0.1:3000",
            "http://[::1]:3000",
        ] {
            assert!(
                !is_cross_origin(&local, &post(&[("origin", origin)])),
                "{origin}"
            );
        }
        assert!(is_cross_origin(
            &local,
            &post(&[("origin", "http://localhost:3001")])
        ));
    }

    /// A page on a name that resolves to this server sends that name as `Origin` and `Host`.
    #[test]
    fn the_host_header_does_not_make_an_origin_this_sites() {
        assert!(is_cross_origin(
            &public(),
            &post(&[
                ("origin", "http://rebound.example:3000"),
                ("host", "rebound.example:3000")
            ])
        ));
        let local = site_origins(
            "http://127.0.0.1:3000",
            false,
            "127.0.0.1:3000".parse().unwrap(),
        );
        assert!(is_cross_origin(
            &local,
            &post(&[
                ("origin", "http://rebound.example:3000"),
                ("host", "rebound.example:3000")
            ])
        ));
        // A configured public URL is the only origin, even on loopback.
        let configured = site_origins(
            "https://buzon.example.com",
            true,
            "127.0.0.1:3000".parse().unwrap(),
        );
        assert!(is_cross_origin(
            &configured,
            &post(&[("origin", "http://localhost:3000")])
        ));
    }

    #[test]
    fn foreign_origins_are_refused() {
        assert!(is_cross_origin(
            &public(),
            &post(&[
                ("origin", "https://evil.example"),
                ("host", "buzon.example.com")
            ])
        ));
        assert!(is_cross_origin(
            &public(),
            &post(&[("origin", "https://buzon.example.com.evil.example")])
        ));
        assert!(is_cross_origin(&public(), &post(&[("origin", "null")])));
    }

    #[test]
    fn without_origin_fetch_metadata_decides() {
        assert!(is_cross_origin(
            &public(),
            &post(&[("sec-fetch-site", "cross-site")])
        ));
        assert!(!is_cross_origin(
            &public(),
            &post(&[("sec-fetch-site", "same-origin")])
        ));
        assert!(!is_cross_origin(&public(), &post(&[])));
    }

    #[test]
    fn reads_are_never_refused() {
        let request = Request::get("/inbox")
            .header("origin", "https://evil.example")
            .body(Body::empty())
            .unwrap();
        assert!(!is_cross_origin(&public(), &request));
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
