//! `POST /login` and `POST /logout`: plain form posts answered with redirects, so signing in
//! and out work the same with and without JavaScript.

use std::net::SocketAddr;

use app::auth::login::{authenticate, LoginFailure};
use app::auth::ssr::{language_cookie, load_active_user};
use app::auth::USER_ID_KEY;
use app::state::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::header::SET_COOKIE;
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
    session: Session,
    Form(form): Form<LoginForm>,
) -> Response {
    let outcome = authenticate(&state.db, &form.email, &form.password, Some(peer.ip())).await;
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
    use super::safe_next;

    #[test]
    fn next_is_limited_to_paths_of_this_site() {
        assert_eq!(safe_next("/users"), "/users");
        assert_eq!(safe_next("//evil.example/x"), "/");
        assert_eq!(safe_next("https://evil.example"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next(""), "/");
    }
}
