//! `GET /api/live?after=<event id>`: the live stream, a WebSocket authenticated by the
//! session cookie. It replays the organization's event log after the id the client last saw,
//! then follows the hub, forwarding only events of conversations this user may see (the same
//! permission rule the server functions apply), `{"lines":true}` whenever a line's standing or
//! templates changed, and `{"contact":12}` when a contact this user may see changed.
//! `?only=notices` carries those notices alone, for pages without the inbox (the Contacts
//! page, Settings) and users without it (Editors).
//!
//! Its session and user are checked again the moment anyone's access in the organization
//! changes (a role, a deactivation, sessions ended: `Hub::access_changed`, on every instance)
//! and every [`REFRESH`] besides; a stream whose session or user is gone is closed. A resume
//! reads at most [`REPLAY_SCAN_LIMIT`] events of the log, and one from before what the log
//! keeps (`event_log::KEPT_MS`) is answered with "resync" at once. One user holds at most
//! [`SOCKETS_PER_USER`] streams per instance.

use std::time::Duration;

use app::auth::ssr::user_of_session;
use app::auth::CurrentUser;
use app::db::Db;
use app::event_log::{stream_json, OrgNotice};
use app::permissions::{
    can_manage_settings, can_see_conversation, can_use_contacts, can_use_inbox, Actor,
};
use app::state::AppState;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tower_sessions::Session;

/// How often an open stream re-reads its user (role, status) and pings the browser.
pub const REFRESH: Duration = Duration::from_secs(15);
/// Events already waiting that are written with the one that arrived, at most.
const BATCH: usize = 64;
/// Bytes of frames gathered before they are written to the socket.
const WRITE_BUFFER: usize = 8 * 1024;
/// Events replayed per query while catching up.
const REPLAY_PAGE: i64 = 500;
/// A client further behind than this is told to reload instead of receiving everything.
const REPLAY_LIMIT: usize = 20_000;
/// Events of the log one resume reads at most, whether this user may see them or not: a
/// seller's resume after a busy week must not scan the whole organization's log.
const REPLAY_SCAN_LIMIT: usize = 20_000;
/// Open streams of one user on one instance: tabs and devices of a working day, no more.
pub const SOCKETS_PER_USER: usize = 8;

/// The open streams of each user on this instance (`AppState::extensions`).
#[derive(Clone)]
pub struct OpenStreams(pub crate::slots::Slots);

impl Default for OpenStreams {
    fn default() -> Self {
        OpenStreams(crate::slots::Slots::new(SOCKETS_PER_USER, usize::MAX))
    }
}

/// Ids are handed out before commit, so a lower id can become visible after a higher one:
/// replays start this many ids early, and what was sent is remembered instead of a maximum.
const REPLAY_OVERLAP: i64 = 256;

/// The ids this stream already sent: every id up to `floor`, and those in `recent` above it.
/// Only the last [`REPLAY_OVERLAP`] ids can still arrive out of order, so that is all an idle
/// stream keeps, however long it has been open.
struct Sent {
    floor: i64,
    recent: std::collections::BTreeSet<i64>,
}

impl Sent {
    fn new() -> Sent {
        Sent {
            floor: 0,
            recent: Default::default(),
        }
    }

    /// `true` the first time an id is seen.
    fn first_time(&mut self, id: i64) -> bool {
        if id <= self.floor || !self.recent.insert(id) {
            return false;
        }
        let floor = self.highest() - REPLAY_OVERLAP;
        if floor > self.floor {
            self.floor = floor;
            while self.recent.first().is_some_and(|&oldest| oldest <= floor) {
                self.recent.pop_first();
            }
        }
        true
    }

    fn highest(&self) -> i64 {
        self.recent.last().copied().unwrap_or(self.floor)
    }
}

#[derive(serde::Deserialize)]
pub struct Resume {
    /// The id of the last event the client saw; absent for "only what happens from now on".
    after: Option<i64>,
    /// `notices`: only the notices about lines and contacts, no conversation events.
    only: Option<String>,
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
        if !crate::origin::same_origin(origin, &state.settings.origins) {
            return StatusCode::FORBIDDEN.into_response();
        }
    }
    let Some(user) = signed_in(&state.db, &session).await else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let only_notices = resume.only.as_deref() == Some("notices");
    let allowed: fn(&Actor) -> bool = match only_notices {
        true => may_follow_notices,
        false => can_use_inbox,
    };
    if !allowed(&user.actor()) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let Some(slot) = state
        .extensions
        .get::<OpenStreams>()
        .and_then(|streams| streams.0.take(user.id))
    else {
        return StatusCode::TOO_MANY_REQUESTS.into_response();
    };
    upgrade
        // Small buffers keep an idle connection cheap; messages are small JSON documents.
        // Frames waiting together are written together, up to this many bytes at a time.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(WRITE_BUFFER)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| async move {
            let only = Only {
                notices: only_notices,
                allowed,
            };
            follow(socket, state, session, user, resume.after, only).await;
            drop(slot);
        })
}

/// Who may follow the notices alone: whoever keeps contacts or the settings.
fn may_follow_notices(actor: &Actor) -> bool {
    can_use_contacts(actor) || can_manage_settings(actor)
}

/// What a stream carries, and who may keep it open.
#[derive(Clone, Copy)]
struct Only {
    /// The notices alone, no conversation events.
    notices: bool,
    /// Whether its user may still follow it (checked again whenever access changes).
    allowed: fn(&Actor) -> bool,
}

/// The signed-in, active user of a request, if any.
pub(crate) async fn signed_in(db: &Db, session: &Session) -> Option<CurrentUser> {
    let (user, _) = user_of_session(db, session).await.ok().flatten()?;
    Some(user)
}

async fn follow(
    mut socket: WebSocket,
    state: AppState,
    session: Session,
    mut user: CurrentUser,
    after: Option<i64>,
    only: Only,
) {
    let _open = crate::observe::Metrics::of(&state).stream_opened();
    // Subscribe before replaying, so nothing committed in between is missed; what both
    // deliver is sent once.
    let mut live = state.hub.subscribe();
    let mut notices = state.hub.subscribe_notices();
    let mut sent = Sent::new();
    if let Some(after) = after {
        if !replay(&mut socket, &state.db, &user, after, &mut sent).await {
            return;
        }
    }
    let mut refresh = tokio::time::interval(REFRESH);
    refresh.tick().await;
    loop {
        tokio::select! {
            received = live.recv() => match received {
                Ok(event) => {
                    // This event and whatever else is already waiting go out in one write.
                    let mut next = Some(event);
                    let mut queued = 0;
                    let mut lagged = false;
                    while let Some(event) = next.take() {
                        let visible = !only.notices
                            && event.org_id == user.org_id
                            && sent.first_time(event.id)
                            && event.visible(&user.actor());
                        if visible {
                            if socket.feed(Message::Text(event.json.clone())).await.is_err() {
                                return;
                            }
                            queued += 1;
                        }
                        if queued < BATCH {
                            match live.try_recv() {
                                Ok(event) => next = Some(event),
                                Err(TryRecvError::Lagged(_)) => lagged = true,
                                Err(_) => {}
                            }
                        }
                    }
                    if queued > 0 && socket.flush().await.is_err() {
                        return;
                    }
                    if lagged {
                        let from = sent.highest();
                        if !replay(&mut socket, &state.db, &user, from, &mut sent).await {
                            return;
                        }
                    }
                }
                // This stream fell behind the hub: catch up from the log.
                Err(RecvError::Lagged(_)) => {
                    let from = sent.highest();
                    if !replay(&mut socket, &state.db, &user, from, &mut sent).await {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            notice = notices.recv() => {
                let (access_changed, lines_changed, contact) = match notice {
                    Ok(notice) if notice.org_id() != user.org_id => (false, false, None),
                    Ok(OrgNotice::Access(_)) => (true, false, None),
                    Ok(OrgNotice::Lines(_)) => (false, true, None),
                    Ok(OrgNotice::Contact { contact, .. }) => (false, false, Some(contact)),
                    // Missed some: any of them may have been this organization's (a contact's
                    // page reads itself again when the stream reconnects).
                    Err(RecvError::Lagged(_)) => (true, true, None),
                    Err(RecvError::Closed) => return,
                };
                if access_changed
                    && !check_again(&mut socket, &state.db, &session, &mut user, only.allowed).await
                {
                    return;
                }
                if lines_changed
                    && socket.send(Message::Text(r#"{"lines":true}"#.into())).await.is_err()
                {
                    return;
                }
                if let Some(contact) = contact {
                    let sees = can_use_contacts(&user.actor())
                        && app::contacts::ssr::reachable(&state, &user.actor(), contact)
                            .await
                            .unwrap_or(false);
                    if sees
                        && socket
                            .send(Message::Text(format!(r#"{{"contact":{contact}}}"#).into()))
                            .await
                            .is_err()
                    {
                        return;
                    }
                }
            }
            _ = refresh.tick() => {
                if !check_again(&mut socket, &state.db, &session, &mut user, only.allowed).await {
                    return;
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Reads the stream's session and user again: `false`, with the socket closed, when the
/// session ended or the user may no longer follow it (`allowed`). A database hiccup keeps the
/// stream.
async fn check_again(
    socket: &mut WebSocket,
    db: &Db,
    session: &Session,
    user: &mut CurrentUser,
    allowed: fn(&Actor) -> bool,
) -> bool {
    match user_of_session(db, session).await {
        Ok(Some((fresh, _))) if fresh.id == user.id && allowed(&fresh.actor()) => {
            *user = fresh;
            true
        }
        Ok(_) => {
            let _ = socket.send(Message::Close(None)).await;
            false
        }
        Err(_) => true,
    }
}

/// An event as the log holds it, with its conversation's assignee now.
#[derive(sqlx::FromRow)]
struct Logged {
    id: i64,
    payload: String,
    assignee_id: Option<i64>,
    /// Someone else it is for (the user the conversation was just taken from).
    visible_to: Option<i64>,
}

/// Sends every visible event after `after` (starting a little earlier, see
/// [`REPLAY_OVERLAP`]) not sent yet; `false` when the socket is gone.
async fn replay(
    socket: &mut WebSocket,
    db: &Db,
    user: &CurrentUser,
    after: i64,
    sent: &mut Sent,
) -> bool {
    let actor = user.actor();
    let mut last = after.saturating_sub(REPLAY_OVERLAP).max(0);
    let mut count = 0usize;
    let mut scanned = 0usize;
    // Events before the oldest kept were pruned: a replay would silently miss them.
    let oldest: Result<(Option<i64>,), _> =
        sqlx::query_as("SELECT MIN(id) FROM events WHERE org_id = $1")
            .bind(user.org_id)
            .fetch_one(&db.pool)
            .await;
    match oldest {
        Ok((Some(oldest),)) if after < oldest => return resync(socket, after).await,
        Ok(_) => {}
        Err(_) => return false,
    }
    loop {
        // The page size is written in, not bound, so PostgreSQL can keep one plan.
        let rows: Result<Vec<Logged>, _> = sqlx::query_as(&format!(
            "SELECT e.id, e.payload, c.assignee_id, e.visible_to FROM events e \
             LEFT JOIN conversations c ON c.id = e.conversation_id \
             WHERE e.org_id = $1 AND e.id > $2 ORDER BY e.id LIMIT {REPLAY_PAGE}"
        ))
        .bind(user.org_id)
        .bind(last)
        .fetch_all(&db.pool)
        .await;
        let Ok(rows) = rows else {
            return false;
        };
        let page = rows.len();
        scanned += page;
        if scanned > REPLAY_SCAN_LIMIT {
            return resync(socket, last).await;
        }
        for Logged {
            id,
            payload,
            assignee_id,
            visible_to,
        } in rows
        {
            last = id;
            let visible =
                can_see_conversation(&actor, assignee_id) || visible_to == Some(actor.user_id);
            if !sent.first_time(id) || !visible {
                continue;
            }
            count += 1;
            if count > REPLAY_LIMIT {
                return resync(socket, id).await;
            }
            let json = stream_json(id, &payload);
            if socket.send(Message::Text(json.into())).await.is_err() {
                return false;
            }
        }
        if (page as i64) < REPLAY_PAGE {
            return true;
        }
    }
}

/// Tells the client to reload what it shows instead of catching up event by event.
async fn resync(socket: &mut WebSocket, at: i64) -> bool {
    let resync = format!("{{\"resync\":{at}}}");
    socket.send(Message::Text(resync.into())).await.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_id_is_sent_once_in_any_order_within_the_overlap() {
        let mut sent = Sent::new();
        assert!(sent.first_time(10));
        assert!(sent.first_time(12));
        assert!(
            sent.first_time(11),
            "a lower id committed later still goes out"
        );
        assert!(!sent.first_time(12));
        assert!(!sent.first_time(11));
        assert_eq!(sent.highest(), 12);
    }

    #[test]
    fn memory_stays_bounded_by_the_overlap() {
        let mut sent = Sent::new();
        for id in 1..=100_000 {
            assert!(sent.first_time(id));
        }
        assert!(sent.recent.len() <= REPLAY_OVERLAP as usize);
        assert!(
            !sent.first_time(100_000 - REPLAY_OVERLAP),
            "old ids count as sent"
        );
        assert!(sent.first_time(100_001));
        assert_eq!(sent.highest(), 100_001);
    }
}
