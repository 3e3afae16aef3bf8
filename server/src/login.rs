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
        Ok(Err(failure)) => return back_to_login(&form, failure.code(), retry_of(failure)),
        Err(_) => return back_to_login(&form, "internal", None),
    };
    let language = match load_active_user(&state.db, user_id).await {
        Ok(Some(user)) => user.language,
        _ => return back_to_login(&form, "internal", None),
    };
    // A fresh id: a session id planted in the browser before login is worthless afterwards.
    if session.cycle_id().await.is_err() || session.insert(USER_ID_KEY, user_id).await.is_err() {
        return back_to_login(&form, "internal", None);
    }
    (
        [(SET_COOKIE, language_cookie(language))],
        Redirect::to(safe_next(&form.next)),
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
    Path(code): Path<String>,
    Query(choice): Query<LanguageChoice>,
) -> Response {
    let Some(language) = Language::from_code(&code) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [(SET_COOKIE, language_cookie(language))],
        Redirect::to(safe_next(&choice.next)),
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

fn back_to_login(form: &LoginForm, code: &str, retry: Option<u64>) -> Response {
    let mut query = vec![
        ("error", code.to_string()),
        ("email", form.email.trim().to_string()),
    ];
    if let Some(retry) = retry {
        query.push(("retry", retry.to_string()));
    }
    if !form.next.is_empty() {
        query.push(("next", safe_next(&form.next).to_string()));
    }
    let query = serde_urlencoded::to_string(&query).unwrap_or_default();
    Redirect::to(&format!("/login?{query}")).into_response()
}

/// Only paths of this site: never `//evil.example` or `https://…` (an open redirect).
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") {
        next
    } else {
        "/"
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
        assert_eq!(safe_next("/users"), "/users");
        assert_eq!(safe_next("//evil.example/x"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next(""), "/");
    }
}
