//! The live stream: authenticated by the session, filtered by the permission rule, resumable
//! from the last event id, on both databases.

mod common;

use std::time::Duration;

use common::live::{next_event, open_with, Socket};
use common::meta::*;
use common::{Backend, Client};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::StatusCode as WsStatus;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// The stream's address on a server, for requests made by hand.
fn live_url(base: &str) -> String {
    format!("{}/api/live", base.replacen("http://", "ws://", 1))
}

async fn open(client: &Client, after: Option<i64>) -> Result<Socket, WsError> {
    let query = after
        .map(|after| format!("after={after}"))
        .unwrap_or_default();
    open_with(client, &query).await
}

const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(700);

on_both_databases!(
    the_stream_requires_a_signed_in_inbox_user_from_this_site,
    each_user_receives_only_conversations_they_may_see,
    a_reconnecting_client_receives_what_it_missed,
    a_seller_is_told_when_their_conversation_is_given_to_someone_else,
    access_changes_close_open_streams_at_once,
    a_resume_reads_a_bounded_part_of_the_log,
    one_user_holds_a_bounded_number_of_streams,
);

/// Whether the server closes the stream within `wait`.
async fn closed_within(socket: &mut Socket, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return false,
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

/// A deactivation, a role without the inbox, or "sign out other devices" close the streams
/// they concern at once, well before the periodic check (15 s) would.
async fn access_changes_close_open_streams_at_once(backend: Backend) {
    let f = Fixture::new(backend).await;
    let soon = Duration::from_secs(3);
    let sergio = f
        .server
        .invite_and_accept(&f.admin, "sergio@andinas.example", "seller")
        .await;
    let rosa = f
        .server
        .invite_and_accept(&f.admin, "rosa@andinas.example", "seller")
        .await;
    let id_of = |client: &Client| {
        let client = client.clone();
        async move { client.me().await["id"].to_string() }
    };
    let (sergio_id, rosa_id) = (id_of(&sergio).await, id_of(&rosa).await);
    let mut sergio_live = open(&sergio, None).await.unwrap();
    let mut rosa_live = open(&rosa, None).await.unwrap();
    let mut admin_live = open(&f.admin, None).await.unwrap();

    f.admin
        .json(
            "set_user_active",
            &[("user_id", &sergio_id), ("active", "false")],
        )
        .await;
    assert!(closed_within(&mut sergio_live, soon).await);
    let editor = common::role_id(&f.admin, "editor").await.to_string();
    f.admin
        .json(
            "change_user_role",
            &[("user_id", &rosa_id), ("role_id", &editor)],
        )
        .await;
    assert!(closed_within(&mut rosa_live, soon).await);
    assert!(
        !closed_within(&mut admin_live, QUIET).await,
        "the others' streams stay"
    );

    // Signed in on a laptop too; "sign out other devices" from here closes the laptop's.
    let laptop = f.server.client();
    assert_eq!(
        laptop.login("ana@andinas.example", "clave-segura-1").await,
        "/"
    );
    let mut laptop_live = open(&laptop, None).await.unwrap();
    f.admin.json("sign_out_other_devices", &[]).await;
    assert!(closed_within(&mut laptop_live, soon).await);
    assert!(!closed_within(&mut admin_live, QUIET).await);
    f.stop().await;
}

/// A resume from before what the log keeps, or one that would read more than its bound,
/// is told to reload ("resync") instead of scanning the organization's log.
async fn a_resume_reads_a_bounded_part_of_the_log(backend: Backend) {
    let f = Fixture::new(backend).await;
    for n in 1..=3 {
        f.post_whatsapp(&text_from(
            "5215500000001",
            &format!("w.{n}"),
            &format!("mensaje {n}"),
        ))
        .await;
    }
    let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM events ORDER BY id")
        .fetch_all(&f.db.pool)
        .await
        .unwrap();
    let (first, last) = (ids[0].0, ids[ids.len() - 1].0);

    // Pruning keeps the newest event of the organization, however old.
    let future = app::epoch::EpochMs::now() + 60_000;
    let removed = app::event_log::prune(&f.db, future).await.unwrap();
    assert_eq!(removed as usize, ids.len() - 1);
    let mut live = open(&f.admin, Some(first)).await.unwrap();
    let told = next_event(&mut live, WAIT).await.unwrap();
    assert_eq!(told, serde_json::json!({"resync": first}));
    // Resuming from the newest kept is an ordinary resume (which repeats that one, as every
    // resume repeats its last few).
    let mut live = open(&f.admin, Some(last)).await.unwrap();
    f.post_whatsapp(&text_from("5215500000001", "w.4", "cuatro"))
        .await;
    let mut event = next_event(&mut live, WAIT).await.unwrap();
    if event["id"] == last {
        event = next_event(&mut live, WAIT).await.unwrap();
    }
    assert_eq!(event["change"]["message"]["body"], "cuatro");

    // A seller who sees none of 20 500 events is not made to wait for a scan of them all.
    let seller = f
        .server
        .invite_and_accept(&f.admin, "sergio@andinas.example", "seller")
        .await;
    let (org_id, conversation): (i64, i64) =
        sqlx::query_as("SELECT org_id, id FROM conversations LIMIT 1")
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
    let (from,): (i64,) = sqlx::query_as("SELECT MAX(id) FROM events")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    let mut tx = f.db.pool.begin().await.unwrap();
    for _ in 0..41 {
        let rows = vec![format!("({org_id}, 'message_created', {conversation}, '{{}}', 0)"); 500]
            .join(", ");
        sqlx::query(&format!(
            "INSERT INTO events (org_id, kind, conversation_id, payload, created_at) VALUES {rows}"
        ))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let mut live = open(&seller, Some(from)).await.unwrap();
    let told = next_event(&mut live, WAIT).await.unwrap();
    assert!(told["resync"].as_i64().unwrap() > from, "{told}");
    f.stop().await;
}

/// Tabs and devices of a working day, no more: past eight streams, a ninth is refused until
/// one closes.
async fn one_user_holds_a_bounded_number_of_streams(backend: Backend) {
    let f = Fixture::new(backend).await;
    let mut open_streams = Vec::new();
    for _ in 0..buzon_server::event_stream::SOCKETS_PER_USER {
        open_streams.push(open(&f.admin, None).await.unwrap());
    }
    match open(&f.admin, None).await {
        Err(WsError::Http(response)) => {
            assert_eq!(response.status(), WsStatus::TOO_MANY_REQUESTS)
        }
        other => panic!("expected 429, got {:?}", other.map(|_| ())),
    }
    let mut closing = open_streams.pop().unwrap();
    closing.close(None).await.unwrap();
    while closing.next().await.is_some() {}
    let mut reopened = None;
    for _ in 0..50 {
        if let Ok(socket) = open(&f.admin, None).await {
            reopened = Some(socket);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reopened.is_some(), "a closed stream frees its place");
    f.stop().await;
}

/// Several instances share one PostgreSQL database: a message taken in by one reaches a
/// stream open on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_on_one_postgres_database_share_live_events() {
    let f = Fixture::new(Backend::Postgres).await;
    let other = common::TestServer::start_on(
        f.server.db.shared(),
        buzon_server::config::ServeArgs::default(),
    )
    .await;
    let mut on_other = {
        // Sessions live in the database: the admin's cookie is good on either instance.
        let mut request = live_url(&other.base).into_client_request().unwrap();
        let cookie = f.admin.session_cookie().unwrap();
        request
            .headers_mut()
            .insert("cookie", format!("buzon_session={cookie}").parse().unwrap());
        connect_async(request).await.unwrap().0
    };
    // Let the other instance's listener start.
    tokio::time::sleep(Duration::from_millis(300)).await;
    f.post_whatsapp(&text_from(
        "5215500000009",
        "w.shared",
        "desde la otra instancia",
    ))
    .await;
    let event = next_event(&mut on_other, WAIT)
        .await
        .expect("the other instance hears it");
    assert_eq!(
        event["change"]["message"]["body"],
        "desde la otra instancia"
    );
    let _ = on_other.close(None).await;
    other.stop().await;
    f.stop().await;
}

async fn the_stream_requires_a_signed_in_inbox_user_from_this_site(backend: Backend) {
    let f = Fixture::new(backend).await;
    let anonymous = f.server.client();
    match open(&anonymous, None).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), WsStatus::UNAUTHORIZED),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    let mut request = live_url(&f.server.base).into_client_request().unwrap();
    let cookie = f.admin.session_cookie().unwrap();
    request
        .headers_mut()
        .insert("cookie", format!("buzon_session={cookie}").parse().unwrap());
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    match connect_async(request).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), WsStatus::FORBIDDEN),
        other => panic!("expected 403, got {:?}", other.map(|_| ())),
    }
    let editor = f
        .server
        .invite_and_accept(&f.admin, "eva@andinas.example", "editor")
        .await;
    match open(&editor, None).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), WsStatus::FORBIDDEN),
        other => panic!("expected 403 for an editor, got {:?}", other.map(|_| ())),
    }
    assert!(open(&f.admin, None).await.is_ok());
    f.stop().await;
}

async fn each_user_receives_only_conversations_they_may_see(backend: Backend) {
    let f = Fixture::new(backend).await;
    let seller = f
        .server
        .invite_and_accept(&f.admin, "sergio@andinas.example", "seller")
        .await;
    let (seller_id,): (i64,) = sqlx::query_as("SELECT id FROM users WHERE email = $1")
        .bind("sergio@andinas.example")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    let mut admin_live = open(&f.admin, None).await.unwrap();
    let mut seller_live = open(&seller, None).await.unwrap();

    f.post_whatsapp(&text_from("5215500000001", "w.unassigned", "hola"))
        .await;
    let event = next_event(&mut admin_live, WAIT)
        .await
        .expect("admin sees it");
    assert_eq!(event["change"]["type"], "message_created");
    assert_eq!(event["change"]["message"]["body"], "hola");
    assert_eq!(
        event["change"]["conversation"]["customer_name"],
        "Lucía Pérez"
    );
    assert!(
        next_event(&mut seller_live, QUIET).await.is_none(),
        "a seller does not see unassigned conversations"
    );

    sqlx::query("UPDATE conversations SET assignee_id = $1")
        .bind(seller_id)
        .execute(&f.db.pool)
        .await
        .unwrap();
    f.post_whatsapp(&text_from("5215500000001", "w.assigned", "¿sigue?"))
        .await;
    let seller_event = next_event(&mut seller_live, WAIT)
        .await
        .expect("now it is theirs");
    assert_eq!(seller_event["change"]["message"]["body"], "¿sigue?");
    let admin_event = next_event(&mut admin_live, WAIT).await.unwrap();
    assert_eq!(admin_event["id"], seller_event["id"]);

    // Another customer's conversation, unassigned: only the admin hears of it.
    f.post_whatsapp(&text_from("5215500000002", "w.other", "buenas"))
        .await;
    assert!(next_event(&mut admin_live, WAIT).await.is_some());
    assert!(next_event(&mut seller_live, QUIET).await.is_none());
    let _ = admin_live.close(None).await;
    let _ = seller_live.close(None).await;
    f.stop().await;
}

async fn a_reconnecting_client_receives_what_it_missed(backend: Backend) {
    let f = Fixture::new(backend).await;
    let mut live = open(&f.admin, None).await.unwrap();
    f.post_whatsapp(&text_from("5215500000001", "w.1", "uno"))
        .await;
    let first = next_event(&mut live, WAIT).await.unwrap();
    let seen = first["id"].as_i64().unwrap();
    live.close(None).await.unwrap();
    drop(live);

    // While the client is away: a message, a status for it, a reaction.
    f.post_whatsapp(&text_from("5215500000001", "w.2", "dos"))
        .await;
    f.post_whatsapp(&text_from("5215500000001", "w.3", "tres"))
        .await;
    f.outgoing("w.out", "5215500000001", 1_760_000_000_000)
        .await;
    f.post_whatsapp(&status("w.out", "delivered", serde_json::json!({})))
        .await;

    let mut again = open(&f.admin, Some(seen)).await.unwrap();
    let mut missed = Vec::new();
    while let Some(event) = next_event(&mut again, QUIET).await {
        missed.push(event);
    }
    // The replay starts a little before the client's id (a lower id can commit later); what
    // it repeats, the client already had.
    let (repeated, new): (Vec<Value>, Vec<Value>) = missed
        .into_iter()
        .partition(|e| e["id"].as_i64().unwrap() <= seen);
    assert!(repeated.iter().all(|e| e["id"] == first["id"]));
    let missed = new;
    let kinds: Vec<&str> = missed
        .iter()
        .map(|e| e["change"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["message_created", "message_created", "message_status"]
    );
    assert_eq!(missed[0]["change"]["message"]["body"], "dos");
    let ids: Vec<i64> = missed.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]) && ids[0] > seen);

    // And it keeps following after the replay.
    f.post_whatsapp(&text_from("5215500000001", "w.4", "cuatro"))
        .await;
    let live_again = next_event(&mut again, WAIT).await.unwrap();
    assert_eq!(live_again["change"]["message"]["body"], "cuatro");
    let _ = again.send(Message::Close(None)).await;
    f.stop().await;
}

async fn a_seller_is_told_when_their_conversation_is_given_to_someone_else(backend: Backend) {
    let f = Fixture::new(backend).await;
    let sergio = f
        .server
        .invite_and_accept(&f.admin, "sergio@andinas.example", "seller")
        .await;
    let rosa = f
        .server
        .invite_and_accept(&f.admin, "rosa@andinas.example", "seller")
        .await;
    let id_of = |email: &'static str| {
        let pool = f.db.pool.clone();
        async move {
            let (id,): (i64,) = sqlx::query_as("SELECT id FROM users WHERE email = $1")
                .bind(email)
                .fetch_one(&pool)
                .await
                .unwrap();
            id
        }
    };
    let sergio_id = id_of("sergio@andinas.example").await;
    let rosa_id = id_of("rosa@andinas.example").await;
    f.post_whatsapp(&text_from("5215500000001", "w.1", "hola"))
        .await;
    let (conversation,): (i64,) = sqlx::query_as("SELECT id FROM conversations")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    let assign = |to: i64| {
        let admin = &f.admin;
        async move {
            let response = admin
                .call(
                    "assign_conversations",
                    &[
                        ("ids[0]", conversation.to_string().as_str()),
                        ("assignee_id", to.to_string().as_str()),
                    ],
                )
                .await;
            assert!(response.status().is_success());
        }
    };
    let mut sergio_live = open(&sergio, None).await.unwrap();
    let mut rosa_live = open(&rosa, None).await.unwrap();

    // Given to Sergio: he hears of it (the assignment is his notification), Rosa does not.
    assign(sergio_id).await;
    let given = next_event(&mut sergio_live, WAIT)
        .await
        .expect("Sergio is told");
    assert_eq!(given["change"]["message"]["content"]["event"], "assigned");
    assert_eq!(given["change"]["message"]["content"]["to_id"], sergio_id);
    assert!(next_event(&mut rosa_live, QUIET).await.is_none());

    // Given to Rosa: Sergio still hears that it went, with its new assignee; Rosa gets it.
    assign(rosa_id).await;
    let gone = next_event(&mut sergio_live, WAIT)
        .await
        .expect("Sergio is told it went");
    assert_eq!(gone["change"]["conversation"]["assignee_id"], rosa_id);
    let arrived = next_event(&mut rosa_live, WAIT)
        .await
        .expect("Rosa gets it");
    assert_eq!(arrived["id"], gone["id"]);
    // After that, nothing more of it reaches Sergio.
    f.post_whatsapp(&text_from("5215500000001", "w.2", "¿sigue?"))
        .await;
    assert!(next_event(&mut rosa_live, WAIT).await.is_some());
    assert!(next_event(&mut sergio_live, QUIET).await.is_none());
    let _ = sergio_live.close(None).await;

    // A stream that resumes from before also replays the event that took it away.
    let after = given["id"].as_i64().unwrap();
    let mut again = open(&sergio, Some(after)).await.unwrap();
    let replayed = next_event(&mut again, WAIT).await.expect("replayed");
    assert_eq!(replayed["id"], gone["id"]);
    assert!(next_event(&mut again, QUIET).await.is_none());
    let _ = again.close(None).await;
    let _ = rosa_live.close(None).await;
    f.stop().await;
}
