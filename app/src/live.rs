//! The event log and the live hub (R42). A change an agent should see is appended to the
//! per-organization event log in the same transaction as the change itself; after the commit
//! its id is published on the hub, which every connected stream listens to and filters with
//! the same permission rule as the server functions.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::conversations::Change;
use crate::db::now_ms;
use crate::error::AppError;
use crate::orgs::Tx;

/// A committed event, serialised once for every stream that may see it.
#[derive(Debug, Clone)]
pub struct Published {
    pub id: i64,
    pub org_id: i64,
    pub conversation_id: i64,
    /// Who the conversation is assigned to now: what visibility is decided on.
    pub assignee_id: Option<i64>,
    /// The `StreamEvent` as JSON.
    pub json: Arc<str>,
}

/// Fan-out of committed events to the connected streams of this process.
#[derive(Clone, Debug)]
pub struct Hub {
    sender: broadcast::Sender<Published>,
}

impl Hub {
    pub fn new() -> Hub {
        // A stream that falls this far behind resynchronises from the log.
        let (sender, _) = broadcast::channel(4096);
        Hub { sender }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Published> {
        self.sender.subscribe()
    }

    /// Called after the transaction that appended the events has committed.
    pub fn publish(&self, events: impl IntoIterator<Item = Published>) {
        for event in events {
            // No receiver is not an error: nobody is watching.
            let _ = self.sender.send(event);
        }
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

/// Appends `change` to the event log inside `tx`; publish the result after commit.
pub async fn append(
    tx: &mut Tx<'_>,
    org_id: i64,
    assignee_id: Option<i64>,
    change: &Change,
) -> Result<Published, AppError> {
    let payload = serde_json::to_string(change).map_err(AppError::internal)?;
    let conversation_id = change.conversation_id();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO events (org_id, kind, conversation_id, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(org_id)
    .bind(change.kind())
    .bind(conversation_id)
    .bind(&payload)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?;
    Ok(Published {
        id,
        org_id,
        conversation_id,
        assignee_id,
        json: stream_json(id, &payload).into(),
    })
}

/// `{"id":…,"change":…}` without parsing the stored payload again.
pub fn stream_json(id: i64, payload: &str) -> String {
    format!("{{\"id\":{id},\"change\":{payload}}}")
}
