//! `POST /login`, `POST /logout` and `GET /language/{code}`: plain form posts and links
//! answered with redirects, so signing in and out and choosing the language before signing in
//! work the same with and without JavaScript.

use std::net::{IpAddr, SocketAddr};

use app::auth::login::{authenticate, LoginFailure};
use app::auth::ssr::{language_cookie, load_active_user};
use app::auth::{Language, USER_ID_KEY};
use app::state::AppState;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use tower_sessions::Session;

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    /// Where to go after signing in (a path of this site).
    #[serde(default)]
    next: String,
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Response {
    let address = client_address(&headers, peer.ip(), state.settings.trust_proxy);
    let outcome = authenticate(&state.db, &form.email, &form.password, Some(address)).await;
    let user_id = match outcome {
        Ok(Ok(user_id)) => user_id,
        Ok(Err(failure)) => return back_to_login(&state, &form, failure.code(), retry_of(failure)),
        Err(_) => return back_to_login(&state, &form, "internal", None),
    };
    let language = match load_active_user(&state.db, user_id).await {
        Ok(Some(user)) => user.language,
        _ => return back_to_login(&state, &form, "internal", None),
    };
    // A fresh id: a session id planted in the browser before login is worthless afterwards.
    if session.cycle_id().await.is_err() || session.insert(USER_ID_KEY, user_id).await.is_err() {
        return back_to_login(&state, &form, "internal", None);
    }
    (
        [(SET_COOKIE, language_cookie(language))],
        Redirect::to(&safe_next(&state.settings.public_url, &form.next)),
    )
        .into_response()
}

pub async fn logout(session: Session) -> Response {
    if let Err(err) = session.flush().await {
        tracing::warn!(%err, "could not end a session");
    }
    Redirect::to("/login?bye=1").into_response()
}

#[derive(Debug, Deserialize)]
pub struct LanguageChoice {
    /// The page to load again in the chosen language (a path of this site).
    #[serde(default)]
    next: String,
}

/// The language switch of the pages before signing in: keeps the choice in the language
/// cookie, which the server writes every page in, and goes back to the page.
pub async fn choose_language(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(choice): Query<LanguageChoice>,
) -> Response {
    let Some(language) = Language::from_code(&code) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [(SET_COOKIE, language_cookie(language))],
        Redirect::to(&safe_next(&state.settings.public_url, &choice.next)),
    )
        .into_response()
}

/// The client's address: the connection's, or behind a trusted proxy the last
/// `X-Forwarded-For` entry (the one the proxy itself appended; earlier ones are the client's
/// word and could be forged).
fn client_address(headers: &HeaderMap, peer: IpAddr, trust_proxy: bool) -> IpAddr {
    if !trust_proxy {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or(peer)
}

fn retry_of(failure: LoginFailure) -> Option<u64> {
    match failure {
        LoginFailure::RateLimited { retry_after_secs } => Some(retry_after_secs),
        _ => None,
    }
}

fn back_to_login(state: &AppState, form: &LoginForm, code: &str, retry: Option<u64>) -> Response {
    let mut query = vec![
        ("error", code.to_string()),
        ("email", form.email.trim().to_string()),
    ];
    if let Some(retry) = retry {
        query.push(("retry", retry.to_string()));
    }
    if !form.next.is_empty() {
        query.push(("next", safe_next(&state.settings.public_url, &form.next)));
    }
    let query = serde_urlencoded::to_string(&query).unwrap_or_default();
    Redirect::to(&format!("/login?{query}")).into_response()
}

/// Only paths of this site: `next` is resolved against the public URL as a browser would
/// (which drops tabs and line breaks and reads `\\` as `/`), and anything that lands on
/// another origin, or on a path a browser would read as another host (`//…`), goes to `/`.
fn safe_next(public_url: &str, next: &str) -> String {
    let Ok(base) = url::Url::parse(public_url) else {
        return "/".into();
    };
    match base.join(next) {
        Ok(target) if !next.is_empty() && target.origin() == base.origin() => {
            let mut path = target.path().to_string();
            if let Some(query) = target.query() {
                path.push('?');
                path.push_str(query);
            }
            if path.starts_with("//") || path.starts_with("/\\") {
                "/".into()
            } else {
                path
            }
        }
        _ => "/".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 203.0.113.7".parse().unwrap());
        assert_eq!(client_address(&headers, peer, false), peer);
        assert_eq!(
            client_address(&headers, peer, true),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_address(&HeaderMap::new(), peer, true), peer);
    }

    #[test]
    fn next_is_limited_to_paths_of_this_site() {
        let next = |n: &str| safe_next("https://buzon.example", n);
        assert_eq!(next("/users"), "/users");
        assert_eq!(next("/inbox?c=12&section=mine"), "/inbox?c=12&section=mine");
        assert_eq!(next("https://buzon.example/profile"), "/profile");
        for hostile in [
            "//evil.example/x",
            "https://evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "\t//evil.example",
            "/.//evil.example",
            "javascript:alert(1)",
            "http://buzon.example/x",
            "",
        ] {
            assert_eq!(next(hostile), "/", "{hostile:?}");
        }
    }
}
