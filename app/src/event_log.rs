//! The event log and the live hub. A change an agent should see is appended to the
//! per-organization event log in the same transaction as the change itself; after the commit
//! its id is published on the hub, which every connected stream listens to and filters with
//! the same permission rule as the server functions.

use tokio::sync::broadcast;

use crate::epoch::EpochMs;
use crate::error::AppError;
use crate::orgs::Tx;
use crate::permissions::{can_see_conversation, can_use_inbox, Actor};

/// Word for an organization's open streams that is not an event of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgNotice {
    /// Someone's access changed: each stream checks its session and user again.
    Access(i64),
    /// A line's standing or a template changed: the stream tells its screens (`{"lines":true}`).
    Lines(i64),
    /// A contact changed: the stream tells the screens whose user may see it
    /// (`{"contact":12}`).
    Contact { org: i64, contact: i64 },
}

impl OrgNotice {
    pub fn org_id(self) -> i64 {
        match self {
            OrgNotice::Access(org) | OrgNotice::Lines(org) | OrgNotice::Contact { org, .. } => org,
        }
    }

    /// How it travels between instances (`NOTIFY buzon_notices`): `access:7`, `lines:7`,
    /// `contact:7:12`.
    pub fn to_text(self) -> String {
        match self {
            OrgNotice::Access(org) => format!("access:{org}"),
            OrgNotice::Lines(org) => format!("lines:{org}"),
            OrgNotice::Contact { org, contact } => format!("contact:{org}:{contact}"),
        }
    }

    pub fn from_text(text: &str) -> Option<OrgNotice> {
        let (kind, rest) = text.split_once(':')?;
        match kind {
            "access" => Some(OrgNotice::Access(rest.parse().ok()?)),
            "lines" => Some(OrgNotice::Lines(rest.parse().ok()?)),
            "contact" => {
                let (org, contact) = rest.split_once(':')?;
                Some(OrgNotice::Contact {
                    org: org.parse().ok()?,
                    contact: contact.parse().ok()?,
                })
            }
            _ => None,
        }
    }
}

/// A committed event, serialised once for every stream that may see it.
#[derive(Debug, Clone)]
pub struct Published {
    pub id: i64,
    pub org_id: i64,
    pub conversation_id: i64,
    /// Who the conversation is assigned to now: what visibility is decided on.
    pub assignee_id: Option<i64>,
    /// Someone who sees this event whoever the conversation is assigned to: the user it was
    /// just taken from.
    pub visible_to: Option<i64>,
    /// The `StreamEvent` as JSON, shared by every stream that sends it (no copy per stream).
    pub json: axum::extract::ws::Utf8Bytes,
}

/// Fan-out of committed events to the connected streams of this process, and (with several
/// instances on PostgreSQL) word of them to the other instances.
#[derive(Clone, Debug)]
pub struct Hub {
    sender: broadcast::Sender<Published>,
    /// Word for the open streams of an organization that is not an event of a conversation:
    /// someone's access changed (each checks its user again), or its lines' standing or
    /// templates did (the stream tells its screens).
    notices: broadcast::Sender<OrgNotice>,
    /// The same word for the other instances.
    others_notices: Option<tokio::sync::mpsc::UnboundedSender<OrgNotice>>,
    told_notices:
        std::sync::Arc<std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<OrgNotice>>>>,
    /// Ids of events published here, for the other instances to read from the log.
    others: Option<tokio::sync::mpsc::UnboundedSender<Vec<i64>>>,
    /// The other end of `others`, until the server's bridge takes it.
    told: std::sync::Arc<std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Vec<i64>>>>>,
}

impl Hub {
    pub fn new() -> Hub {
        // A stream that falls this far behind resynchronises from the log.
        let (sender, _) = broadcast::channel(4096);
        let (notices, _) = broadcast::channel(256);
        Hub {
            sender,
            notices,
            others_notices: None,
            told_notices: Default::default(),
            others: None,
            told: Default::default(),
        }
    }

    /// A hub that also tells other instances (see [`Hub::take_told`]).
    pub fn with_peers() -> Hub {
        let (tell, told) = tokio::sync::mpsc::unbounded_channel();
        let (tell_notices, told_notices) = tokio::sync::mpsc::unbounded_channel();
        let hub = Hub::new();
        *hub.told.lock().expect("hub lock") = Some(told);
        *hub.told_notices.lock().expect("hub lock") = Some(told_notices);
        Hub {
            others: Some(tell),
            others_notices: Some(tell_notices),
            ..hub
        }
    }

    /// The notices this instance announced, once, for the bridge
    /// to the other instances.
    pub fn take_told_notices(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<OrgNotice>> {
        self.told_notices.lock().expect("hub lock").take()
    }

    /// Someone's access in `org_id` changed (after the change committed): every open stream
    /// of the organization, here and on the other instances, checks its user again now.
    pub fn access_changed(&self, org_id: i64) {
        self.tell(OrgNotice::Access(org_id));
    }

    /// The standing of a line of `org_id`, or one of its templates, changed: the open streams
    /// of the organization say so to their screens.
    pub fn lines_changed(&self, org_id: i64) {
        self.tell(OrgNotice::Lines(org_id));
    }

    /// Contact `contact_id` of `org_id` changed (after the change committed): the open
    /// streams whose user may see it say so to their screens.
    pub fn contact_changed(&self, org_id: i64, contact_id: i64) {
        self.tell(OrgNotice::Contact {
            org: org_id,
            contact: contact_id,
        });
    }

    fn tell(&self, notice: OrgNotice) {
        let _ = self.notices.send(notice);
        if let Some(others) = &self.others_notices {
            let _ = others.send(notice);
        }
    }

    /// Word from another instance: for this instance's streams only.
    pub fn notice_locally(&self, notice: OrgNotice) {
        let _ = self.notices.send(notice);
    }

    pub fn subscribe_notices(&self) -> broadcast::Receiver<OrgNotice> {
        self.notices.subscribe()
    }

    /// The ids of every batch published here, once, for the bridge to the other instances.
    pub fn take_told(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Vec<i64>>> {
        self.told.lock().expect("hub lock").take()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Published> {
        self.sender.subscribe()
    }

    /// Called after the transaction that appended the events has committed.
    pub fn publish(&self, events: impl IntoIterator<Item = Published>) {
        let mut ids = Vec::new();
        for event in events {
            ids.push(event.id);
            // No receiver is not an error: nobody is watching.
            let _ = self.sender.send(event);
        }
        if let (Some(others), false) = (&self.others, ids.is_empty()) {
            let _ = others.send(ids);
        }
    }

    /// Events another instance committed: for this instance's streams only.
    pub fn publish_local(&self, events: impl IntoIterator<Item = Published>) {
        for event in events {
            let _ = self.sender.send(event);
        }
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

impl Published {
    /// Whether `actor`'s stream carries this event (the rule the server functions apply, plus
    /// [`Published::visible_to`]).
    pub fn visible(&self, actor: &Actor) -> bool {
        actor.org_id == self.org_id
            && (can_see_conversation(actor, self.assignee_id)
                || (self.visible_to == Some(actor.user_id) && can_use_inbox(actor)))
    }
}

/// A change the event log keeps: stored as the stream sends it, under its kind, for the
/// conversation it is about.
pub trait Logged: serde::Serialize {
    fn kind(&self) -> &'static str;
    fn conversation_id(&self) -> i64;
}

/// Appends `change` to the event log inside `tx`; publish the result after commit.
pub async fn append(
    tx: &mut Tx<'_>,
    org_id: i64,
    assignee_id: Option<i64>,
    change: &impl Logged,
) -> Result<Published, AppError> {
    append_for(tx, org_id, assignee_id, None, change).await
}

/// [`append`], for `visible_to` too whoever may see the conversation.
pub async fn append_for(
    tx: &mut Tx<'_>,
    org_id: i64,
    assignee_id: Option<i64>,
    visible_to: Option<i64>,
    change: &impl Logged,
) -> Result<Published, AppError> {
    let payload = serde_json::to_string(change).map_err(AppError::internal)?;
    let conversation_id = change.conversation_id();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO events (org_id, kind, conversation_id, payload, visible_to, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(org_id)
    .bind(change.kind())
    .bind(conversation_id)
    .bind(&payload)
    .bind(visible_to)
    .bind(EpochMs::now())
    .fetch_one(&mut **tx)
    .await?;
    Ok(Published {
        id,
        org_id,
        conversation_id,
        assignee_id,
        visible_to,
        json: stream_json(id, &payload).into(),
    })
}

/// Commits `tx` and only then tells the open screens about the events appended in it: no
/// screen hears of a change that could still be rolled back.
pub async fn commit_and_publish(
    tx: Tx<'_>,
    hub: &Hub,
    events: impl IntoIterator<Item = Published>,
) -> Result<(), AppError> {
    tx.commit().await?;
    hub.publish(events);
    Ok(())
}

/// The end of a write that open screens must hear of: appends `change` (of a conversation
/// assigned to `assignee_id`), commits, and publishes it.
pub async fn commit_change(
    mut tx: Tx<'_>,
    hub: &Hub,
    org_id: i64,
    assignee_id: Option<i64>,
    change: &impl Logged,
) -> Result<(), AppError> {
    let event = append(&mut tx, org_id, assignee_id, change).await?;
    commit_and_publish(tx, hub, [event]).await
}

/// How long the event log keeps an event: a screen away for longer reloads what it shows
/// (the stream answers its resume with "resync") instead of replaying.
pub const KEPT_MS: i64 = 3 * 24 * 3_600_000;

/// Removes the events older than `horizon`, a batch at a time (no long lock), except each
/// organization's newest, which screens start their stream after.
pub async fn prune(db: &crate::db::Db, horizon: EpochMs) -> Result<u64, AppError> {
    let mut removed = 0;
    loop {
        let batch = sqlx::query(
            "DELETE FROM events WHERE id IN (SELECT e.id FROM events e \
             WHERE e.created_at < $1 \
             AND e.id < (SELECT MAX(n.id) FROM events n WHERE n.org_id = e.org_id) \
             LIMIT 5000)",
        )
        .bind(horizon)
        .execute(&db.pool)
        .await?
        .rows_affected();
        removed += batch;
        if batch < 5000 {
            return Ok(removed);
        }
    }
}

/// `{"id":…,"change":…}` without parsing the stored payload again.
pub fn stream_json(id: i64, payload: &str) -> String {
    format!("{{\"id\":{id},\"change\":{payload}}}")
}

#[cfg(test)]
mod tests {
    use super::OrgNotice;

    #[test]
    fn notices_travel_between_instances_as_text() {
        for notice in [
            OrgNotice::Access(7),
            OrgNotice::Lines(7),
            OrgNotice::Contact {
                org: 7,
                contact: 12,
            },
        ] {
            assert_eq!(OrgNotice::from_text(&notice.to_text()), Some(notice));
        }
        assert_eq!(OrgNotice::from_text("contact:7"), None);
        assert_eq!(OrgNotice::from_text("weather:7"), None);
    }
}
