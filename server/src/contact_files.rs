//! Contacts in CSV files over HTTP: `POST /api/contact_imports?name=…` takes a file to import
//! (its body, up to `import::MAX_BYTES`) and answers its preview; `GET /api/contacts.csv?…`
//! writes the contacts the list's filter shows (the same query as the page's address), a page
//! at a time as it goes out; and the worker that runs queued imports a batch at a time.

use std::time::Duration;

use app::contacts::import::{self, ssr as imports};
use app::contacts::{ContactQuery, ContactSort};
use app::db::Db;
use app::error::AppError;
use app::permissions::can_manage_contacts;
use app::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tower_sessions::Session;

use crate::event_stream::signed_in;

/// An error as server functions send it, so the browser translates it the same way.
fn refuse(error: AppError) -> Response {
    (error.status(), Json(error)).into_response()
}

#[derive(serde::Deserialize)]
pub struct Named {
    /// The file's name, as the person chose it.
    #[serde(default)]
    name: String,
}

pub async fn upload(
    State(state): State<AppState>,
    session: Session,
    Query(named): Query<Named>,
    body: Bytes,
) -> Response {
    let Some(user) = signed_in(&state.db, &session).await else {
        return refuse(AppError::Unauthenticated);
    };
    if !can_manage_contacts(&user.actor()) {
        return refuse(AppError::Forbidden);
    }
    match imports::create(&state.db, user.org_id, Some(user.id), &named.name, &body).await {
        Ok(preview) => Json(preview).into_response(),
        Err(err) => refuse(err),
    }
}

/// The list's filter as the Contacts page writes it in its address.
#[derive(serde::Deserialize, Default)]
pub struct Filter {
    q: Option<String>,
    o: Option<i64>,
    open: Option<String>,
    dup: Option<String>,
    from: Option<String>,
    sort: Option<String>,
}

impl Filter {
    fn query(self) -> ContactQuery {
        ContactQuery {
            search: self.q.filter(|q| !q.trim().is_empty()),
            owner: self.o,
            open_conversation: self.open.as_deref() == Some("1"),
            duplicates: self.dup.as_deref() == Some("1"),
            created_from: self.from.filter(|f| !f.is_empty()),
            sort: match self.sort.as_deref() {
                Some("activity") => ContactSort::Activity,
                _ => ContactSort::Name,
            },
            after_key: None,
            after_id: None,
        }
    }
}

pub async fn export(
    State(state): State<AppState>,
    session: Session,
    Query(filter): Query<Filter>,
) -> Response {
    let Some(user) = signed_in(&state.db, &session).await else {
        return refuse(AppError::Unauthenticated);
    };
    if !can_manage_contacts(&user.actor()) {
        return refuse(AppError::Forbidden);
    }
    // The first page now, so that a refusal is an answer; the rest as it is written.
    let query = filter.query();
    let (first, next) = match imports::export_page(&state, &user, &query, true).await {
        Ok(page) => page,
        Err(err) => return refuse(err),
    };
    let pages = futures_util::stream::unfold(
        (Some(first), next, state, user),
        |(ready, next, state, user)| async move {
            if let Some(bytes) = ready {
                return Some((Ok(Bytes::from(bytes)), (None, next, state, user)));
            }
            let query = next?;
            match imports::export_page(&state, &user, &query, false).await {
                Ok((bytes, next)) => Some((Ok(Bytes::from(bytes)), (None, next, state, user))),
                Err(err) => Some((
                    Err(std::io::Error::other(err.to_string())),
                    (None, None, state, user),
                )),
            }
        },
    );
    let mut response = Body::from_stream(pages).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"contactos.csv\""),
    );
    response
}

/// Runs the imports waiting, one at a time: claims one, runs it to its end, looks again; a
/// second after finding none. An import left by a stopped server is claimed again once its
/// lease ran out, and goes on from its last batch.
pub async fn run_imports(db: Db) {
    loop {
        match imports::claim(&db).await {
            Ok(Some(id)) => {
                if let Err(err) = imports::run(&db, id, |_, _| {}).await {
                    tracing::warn!(import = id, %err, "import stopped; it goes on later");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            Ok(None) => tokio::time::sleep(Duration::from_secs(1)).await,
            Err(err) => {
                tracing::warn!(%err, "could not look for imports");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

/// The largest request body the upload takes: the file and a little more.
pub const UPLOAD_LIMIT: usize = import::MAX_BYTES + 64 * 1024;
