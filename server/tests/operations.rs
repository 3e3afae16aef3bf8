//! What an operator sees of a running server: every answer names its request,
//! `/metrics` is read from the machine itself or with the configured token, and the data
//! directory is created for the server's user alone.

mod common;

use buzon_server::config::ServeArgs;
use common::{Backend, TestServer};

on_both_databases!(
    every_answer_carries_its_own_request_id,
    metrics_are_for_this_machine_only,
    metrics_elsewhere_need_the_token,
    the_data_directory_is_its_owners_alone,
    every_answer_carries_the_security_headers,
);

fn request_id(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .expect("the answer names its request")
        .to_str()
        .unwrap()
        .to_string()
}

async fn every_answer_carries_its_own_request_id(backend: Backend) {
    let server = TestServer::start(backend).await;
    let http = reqwest::Client::new();
    let healthz = format!("{}/healthz", server.base);
    let first = http.get(&healthz).send().await.unwrap();
    let second = http
        .get(&healthz)
        .header("x-request-id", "chosen-by-the-client")
        .send()
        .await
        .unwrap();
    let page = http
        .get(format!("{}/login", server.base))
        .send()
        .await
        .unwrap();
    let ids = [request_id(&first), request_id(&second), request_id(&page)];
    assert_ne!(ids[0], ids[1]);
    assert_ne!(ids[1], ids[2]);
    // No proxy is trusted here: a client's own id is not taken for Buzón's.
    assert_ne!(ids[1], "chosen-by-the-client");
    server.stop().await;
}

async fn metrics_are_for_this_machine_only(backend: Backend) {
    let server = TestServer::start(backend).await;
    let http = reqwest::Client::new();
    http.get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    let metrics = format!("{}/metrics", server.base);
    let response = http.get(&metrics).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    for line in [
        r#"buzon_http_requests_total{kind="operations",status="2xx"} 1"#,
        "buzon_outbox_backlog 0",
        "buzon_jobs_backlog 0",
        "buzon_live_streams 0",
        "buzon_ingested_events_total 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
    assert!(text.contains("buzon_http_request_duration_seconds_bucket"));
    // Through a proxy, the request comes from elsewhere.
    let forwarded = http
        .get(&metrics)
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), 404);
    server.stop().await;
}

async fn metrics_elsewhere_need_the_token(backend: Backend) {
    let server = TestServer::start_with(
        backend,
        ServeArgs {
            metrics_token: Some("a-long-metrics-token".into()),
            ..ServeArgs::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    let metrics = format!("{}/metrics", server.base);
    let status = |token: Option<&'static str>| {
        let mut request = http.get(&metrics);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(status(None).await, 404);
    assert_eq!(status(Some("a-long-metrics-tokeX")).await, 404);
    assert_eq!(status(Some("a-long-metrics-token")).await, 200);
    server.stop().await;
}

async fn the_data_directory_is_its_owners_alone(backend: Backend) {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start(backend).await;
    let mode = std::fs::metadata(&server.data_dir)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    server.stop().await;
}

async fn every_answer_carries_the_security_headers(backend: Backend) {
    let plain = TestServer::start(backend).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // A page, an answer of the API, a refusal and a webhook's answer alike.
    for path in [
        "/login",
        "/healthz",
        "/api/me",
        "/webhooks/whatsapp?hub.mode=subscribe",
    ] {
        let response = http
            .get(format!("{}{path}", plain.base))
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(
            header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{path}");
        assert_eq!(
            header("referrer-policy").as_deref(),
            Some("same-origin"),
            "{path}"
        );
        let policy = header("content-security-policy").unwrap();
        if path == "/login" {
            assert!(policy.ends_with("frame-ancestors 'none'"), "{policy}");
        } else {
            assert_eq!(policy, "frame-ancestors 'none'", "{path}");
        }
        assert_eq!(
            header("strict-transport-security"),
            None,
            "{path}: not over http"
        );
    }

    // A page runs only this site's scripts and the inline ones carrying its response's nonce,
    // a new one on every response.
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let response = http
            .get(format!("{}/login", plain.base))
            .send()
            .await
            .unwrap();
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        let script_src = policy
            .split("; ")
            .find(|d| d.starts_with("script-src "))
            .unwrap_or_else(|| panic!("{policy}"));
        assert!(!script_src.contains("unsafe-inline"), "{policy}");
        assert!(!script_src.contains("'unsafe-eval'"), "{policy}");
        assert!(script_src.contains("'wasm-unsafe-eval'"), "{policy}");
        for directive in ["object-src 'none'", "base-uri 'none'", "default-src 'self'"] {
            assert!(policy.contains(directive), "{policy}");
        }
        let nonce = script_src
            .split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .unwrap_or_else(|| panic!("{policy}"))
            .to_string();
        assert!(nonce.len() >= 22, "{nonce}");
        let page = response.text().await.unwrap();
        let scripts: Vec<&str> = page
            .split("<script")
            .skip(1)
            .map(|rest| rest.split('>').next().unwrap())
            .collect();
        assert!(!scripts.is_empty(), "the page hydrates with scripts");
        for tag in scripts {
            assert!(
                tag.contains(&format!("nonce=\"{nonce}\"")),
                "<script{tag}> has no nonce"
            );
        }
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1]);
    plain.stop().await;

    let https = TestServer::start_with(
        backend,
        ServeArgs {
            public_url: Some("https://buzon.example".into()),
            ..ServeArgs::default()
        },
    )
    .await;
    let response = http
        .get(format!("{}/healthz", https.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers().get("strict-transport-security").unwrap(),
        "max-age=31536000"
    );
    https.stop().await;
}
