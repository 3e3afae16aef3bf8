//! Several Buzón instances on one PostgreSQL database: each tells the others which events it
//! committed (`NOTIFY buzon_events`), and each reads the others' events from the log and hands
//! them to its own live streams; likewise for changes of someone's access
//! (`NOTIFY buzon_notices`), which make every open stream of the organization check its user.
//! No broker beyond the database.

use std::time::Duration;

use app::db::Db;
use app::event_log::{stream_json, Hub, OrgNotice, Published};
use sqlx::postgres::PgListener;

const CHANNEL: &str = "buzon_events";
const NOTICE_CHANNEL: &str = "buzon_notices";
/// PostgreSQL's NOTIFY payloads stay well under its 8000-byte limit.
const IDS_PER_NOTICE: usize = 400;

/// A random name for this instance, to ignore its own notices.
pub fn instance_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}", std::process::id(), nanos)
}

/// Tells the others of the organizations whose access changed here.
pub async fn tell_notices(
    db: Db,
    instance: String,
    mut told: tokio::sync::mpsc::UnboundedReceiver<OrgNotice>,
) {
    while let Some(notice) = told.recv().await {
        if let Err(err) = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(NOTICE_CHANNEL)
            .bind(format!("{instance}:{}", notice.to_text()))
            .execute(&db.pool)
            .await
        {
            tracing::warn!(%err, "could not tell the other instances about an access change");
        }
    }
}

/// Sends the ids this instance publishes to the others.
pub async fn tell(
    db: Db,
    instance: String,
    mut told: tokio::sync::mpsc::UnboundedReceiver<Vec<i64>>,
) {
    while let Some(mut ids) = told.recv().await {
        // Batches that arrived meanwhile go in the same notices.
        while let Ok(more) = told.try_recv() {
            ids.extend(more);
        }
        for chunk in ids.chunks(IDS_PER_NOTICE) {
            let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
            let payload = format!("{instance}:{}", list.join(","));
            if let Err(err) = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(payload)
                .execute(&db.pool)
                .await
            {
                tracing::warn!(%err, "could not tell the other instances about events");
            }
        }
    }
}

/// Listens for the other instances' notices and publishes their events here.
pub async fn listen(db: Db, hub: Hub, instance: String) {
    let mut delay = Duration::from_millis(200);
    loop {
        match follow(&db, &hub, &instance).await {
            Ok(()) => return,
            Err(err) => {
                tracing::warn!(%err, "lost the connection that hears other instances; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

#[derive(sqlx::FromRow)]
struct LoggedEvent {
    id: i64,
    org_id: i64,
    conversation_id: Option<i64>,
    payload: String,
    assignee_id: Option<i64>,
    visible_to: Option<i64>,
}

async fn follow(db: &Db, hub: &Hub, instance: &str) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect(&db.url).await?;
    listener.listen_all([CHANNEL, NOTICE_CHANNEL]).await?;
    loop {
        let notice = listener.recv().await?;
        let Some((from, ids)) = notice.payload().split_once(':') else {
            continue;
        };
        if from == instance {
            continue;
        }
        if notice.channel() == NOTICE_CHANNEL {
            if let Some(notice) = OrgNotice::from_text(ids) {
                hub.notice_locally(notice);
            }
            continue;
        }
        let ids: Vec<i64> = ids.split(',').filter_map(|id| id.parse().ok()).collect();
        if ids.is_empty() {
            continue;
        }
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        // The ids are numbers parsed above, so the list is safe to inline.
        let rows: Vec<LoggedEvent> = sqlx::query_as(&format!(
            "SELECT e.id, e.org_id, e.conversation_id, e.payload, c.assignee_id, e.visible_to \
             FROM events e \
             LEFT JOIN conversations c ON c.id = e.conversation_id \
             WHERE e.id IN ({list}) ORDER BY e.id"
        ))
        .fetch_all(&db.pool)
        .await?;
        hub.publish_local(rows.into_iter().map(|row| Published {
            id: row.id,
            org_id: row.org_id,
            conversation_id: row.conversation_id.unwrap_or(0),
            assignee_id: row.assignee_id,
            visible_to: row.visible_to,
            json: stream_json(row.id, &row.payload).into(),
        }));
    }
}
