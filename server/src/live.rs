//! `GET /api/live?after=<event id>`: the live stream (R42), a WebSocket authenticated by the
//! session cookie. It replays the organization's event log after the id the client last saw,
//! then follows the hub, forwarding only events of conversations this user may see (the same
//! permission rule the server functions apply). The user is reloaded periodically, so a role
//! change or deactivation takes effect on an open stream too.

use std::time::Duration;

use app::auth::ssr::load_active_user;
use app::auth::CurrentUser;
use app::auth::USER_ID_KEY;
use app::db::Db;
use app::live::stream_json;
use app::permissions::{can_see_conversation, can_use_inbox};
use app::state::AppState;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::RecvError;
use tower_sessions::Session;

/// How often an open stream re-reads its user (role, status) and pings the browser.
pub const REFRESH: Duration = Duration::from_secs(15);
/// Events replayed per query while catching up.
const REPLAY_PAGE: i64 = 500;
/// A client further behind than this is told to reload instead of receiving everything.
const REPLAY_LIMIT: usize = 20_000;

#[derive(serde::Deserialize)]
pub struct Resume {
    /// The id of the last event the client saw; absent for "only what happens from now on".
    after: Option<i64>,
}

pub async fn stream(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    Query(resume): Query<Resume>,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Browsers send Origin on WebSocket handshakes; another site must not ride the cookie.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        if !crate::origin::same_origin(origin, &state.settings.public_url, host) {
            return StatusCode::FORBIDDEN.into_response();
        }
    }
    let Some(user) = signed_in(&state.db, &session).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    if !can_use_inbox(&user.actor()) {
        return StatusCode::FORBIDDEN.into_response();
    }
    upgrade
        // Small buffers keep an idle connection cheap; messages are small JSON documents.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| follow(socket, state, user, resume.after))
}

/// The signed-in, active user of a request, if any.
pub(crate) async fn signed_in(db: &Db, session: &Session) -> Option<CurrentUser> {
    let user_id: i64 = session.get(USER_ID_KEY).await.ok().flatten()?;
    load_active_user(db, user_id).await.ok().flatten()
}

async fn follow(mut socket: WebSocket, state: AppState, mut user: CurrentUser, after: Option<i64>) {
    // Subscribe before replaying, so nothing committed in between is missed; what both
    // deliver is skipped by id.
    let mut live = state.hub.subscribe();
    let mut last_sent = match after {
        Some(after) => match replay(&mut socket, &state.db, &user, after).await {
            Some(last) => last,
            None => return,
        },
        None => latest_event_id(&state.db, user.org_id).await.unwrap_or(0),
    };
    let mut refresh = tokio::time::interval(REFRESH);
    refresh.tick().await;
    loop {
        tokio::select! {
            received = live.recv() => match received {
                Ok(event) => {
                    if event.org_id != user.org_id || event.id <= last_sent {
                        continue;
                    }
                    last_sent = event.id;
                    if !can_see_conversation(&user.actor(), event.assignee_id) {
                        continue;
                    }
                    if socket.send(Message::Text(Utf8Bytes::from(&*event.json))).await.is_err() {
                        return;
                    }
                }
                // This stream fell behind the hub: catch up from the log.
                Err(RecvError::Lagged(_)) => {
                    match replay(&mut socket, &state.db, &user, last_sent).await {
                        Some(last) => last_sent = last,
                        None => return,
                    }
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = refresh.tick() => {
                match load_active_user(&state.db, user.id).await {
                    Ok(Some(fresh)) if can_use_inbox(&fresh.actor()) => user = fresh,
                    Ok(_) => {
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                    Err(_) => {}
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn latest_event_id(db: &Db, org_id: i64) -> Option<i64> {
    let (id,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM events WHERE org_id = $1")
        .bind(org_id)
        .fetch_one(&db.pool)
        .await
        .ok()?;
    Some(id.unwrap_or(0))
}

/// Sends every visible event after `after`; returns the last id looked at, or `None` when the
/// socket is gone.
async fn replay(socket: &mut WebSocket, db: &Db, user: &CurrentUser, after: i64) -> Option<i64> {
    let actor = user.actor();
    let mut last = after;
    let mut sent = 0usize;
    loop {
        let rows: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
            "SELECT e.id, e.payload, c.assignee_id FROM events e \
             LEFT JOIN conversations c ON c.id = e.conversation_id \
             WHERE e.org_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3",
        )
        .bind(user.org_id)
        .bind(last)
        .bind(REPLAY_PAGE)
        .fetch_all(&db.pool)
        .await
        .ok()?;
        let page = rows.len();
        for (id, payload, assignee_id) in rows {
            last = id;
            if !can_see_conversation(&actor, assignee_id) {
                continue;
            }
            sent += 1;
            if sent > REPLAY_LIMIT {
                let resync = format!("{{\"resync\":{id}}}");
                socket.send(Message::Text(resync.into())).await.ok()?;
                return latest_event_id(db, user.org_id).await;
            }
            let json = stream_json(id, &payload);
            socket.send(Message::Text(json.into())).await.ok()?;
        }
        if (page as i64) < REPLAY_PAGE {
            return Some(last);
        }
    }
}
