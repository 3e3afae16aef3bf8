//! A conversation's lifecycle on the server: availability, assignment by role,
//! transfer, close with a reason and reopen (by hand and when the customer writes), bulk
//! actions in one transaction, the close reasons' list; every change a system event.

mod common;

use common::pair::Pair;
use common::{Backend, Client};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_databases!(
    assignment_follows_roles_and_availability,
    a_conversation_closes_with_a_reason_and_reopens_by_hand_or_when_the_customer_writes,
    a_thousand_conversations_close_in_one_transaction,
    close_reasons_are_kept_by_administrators,
    only_the_user_who_connected_the_line_deletes_its_conversations,
    a_transfer_can_make_the_new_owner_the_contacts_owner_too,
);

async fn user_id(pair: &Pair, email: &str) -> i64 {
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
    id
}

async fn assign(client: &Client, ids: &[i64], to: Option<i64>) -> reqwest::Response {
    let ids: Vec<(String, String)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (format!("ids[{i}]"), id.to_string()))
        .collect();
    let mut form: Vec<(&str, &str)> = ids.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let to = to.map(|id| id.to_string());
    if let Some(to) = &to {
        form.push(("assignee_id", to));
    }
    client.call("assign_conversations", &form).await
}

async fn close(client: &Client, ids: &[i64], reason: &str) -> reqwest::Response {
    let ids: Vec<(String, String)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (format!("ids[{i}]"), id.to_string()))
        .collect();
    let mut form: Vec<(&str, &str)> = ids.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    form.push(("reason", reason));
    client.call("close_conversations", &form).await
}

async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

/// The system events of a conversation's thread, oldest first, as stored.
async fn events(pair: &Pair, conversation: i64) -> Vec<Value> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT content FROM messages WHERE conversation_id = $1 AND direction = 'system' \
         ORDER BY created_at, id",
    )
    .bind(conversation)
    .fetch_all(&pair.db.pool)
    .await
    .unwrap();
    rows.iter()
        .map(|(c,)| serde_json::from_str(c).unwrap())
        .collect()
}

async fn state(pair: &Pair, conversation: i64) -> (String, Option<i64>, Option<String>) {
    sqlx::query_as("SELECT status, assignee_id, close_reason FROM conversations WHERE id = $1")
        .bind(conversation)
        .fetch_one(&pair.db.pool)
        .await
        .unwrap()
}

async fn sees(client: &Client, conversation: i64) -> bool {
    client
        .call("thread", &[("conversation_id", &conversation.to_string())])
        .await
        .status()
        .is_success()
}

async fn assignment_follows_roles_and_availability(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "¿Tienen envíos a Quito?"}))
        .await;
    let c = pair.conversation_id().await;
    let sergio = pair
        .server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "seller")
        .await;
    let rosa = pair
        .server
        .invite_and_accept(&pair.admin, "rosa@andinas.example", "seller")
        .await;
    pair.server
        .invite_and_accept(&pair.admin, "edu@andinas.example", "editor")
        .await;
    let sergio_id = user_id(&pair, "sergio@andinas.example").await;
    let rosa_id = user_id(&pair, "rosa@andinas.example").await;
    let editor_id = user_id(&pair, "edu@andinas.example").await;

    // New conversations are unassigned, and a seller does not see unassigned ones: they cannot
    // take one either.
    assert_eq!(state(&pair, c).await.1, None);
    let (status, _) = answer(assign(&sergio, &[c], Some(sergio_id)).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Nobody gives conversations to someone marked not available, the admin included.
    let away = sergio
        .json("set_availability", &[("available", "false")])
        .await;
    assert_eq!(away, json!(false));
    let (status, error) = answer(assign(&pair.admin, &[c], Some(sergio_id)).await).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error, json!({"Assignment": "Unavailable"}));
    assert_eq!(state(&pair, c).await.1, None);
    // Each signed-in user carries their own state, for their availability button.
    assert_eq!(sergio.json("me", &[]).await["available"], false);
    assert_eq!(pair.admin.json("me", &[]).await["available"], true);
    let choices = pair.admin.json("lifecycle_choices", &[]).await;
    let team = choices["team"].as_array().unwrap();
    let listed = |id: i64| team.iter().find(|m| m["id"] == id).cloned();
    assert_eq!(listed(sergio_id).unwrap()["available"], false);
    assert!(
        listed(editor_id).is_none(),
        "an editor works no conversations"
    );
    sergio
        .json("set_availability", &[("available", "true")])
        .await;

    // Someone whose role has no inbox, or nobody at all, cannot be chosen.
    let (status, error) = answer(assign(&pair.admin, &[c], Some(editor_id)).await).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error, json!({"Assignment": "CannotWork"}));
    let (status, error) = answer(assign(&pair.admin, &[c], Some(999_999)).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Assignee", "problem": "Unknown"}})
    );

    // The admin assigns it to Sergio: he sees it, Rosa does not.
    let (status, changed) = answer(assign(&pair.admin, &[c], Some(sergio_id)).await).await;
    assert_eq!((status, changed), (StatusCode::OK, json!(1)));
    assert_eq!(state(&pair, c).await.1, Some(sergio_id));
    assert!(sees(&sergio, c).await);
    assert!(!sees(&rosa, c).await);
    // The same assignment again changes nothing and writes no event.
    let (_, changed) = answer(assign(&pair.admin, &[c], Some(sergio_id)).await).await;
    assert_eq!(changed, json!(0));

    // Sergio passes it to Rosa (a transfer): now it is hers, and he has lost it.
    let (status, _) = answer(assign(&sergio, &[c], Some(rosa_id)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(sees(&rosa, c).await);
    assert!(!sees(&sergio, c).await);
    // An unavailable user keeps what they have.
    rosa.json("set_availability", &[("available", "false")])
        .await;
    assert_eq!(state(&pair, c).await.1, Some(rosa_id));
    assert!(sees(&rosa, c).await);
    // Unassigned again by the admin.
    let (status, _) = answer(assign(&pair.admin, &[c], None).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(state(&pair, c).await.1, None);

    // A custom role that sees every conversation may take an unassigned one.
    let response = pair
        .admin
        .call_json(
            "save_role",
            &json!({"id": null, "name": "Supervisora",
                    "permissions": ["UseInbox", "SeeAllConversations"]}),
        )
        .await;
    assert!(response.status().is_success());
    let sofia = pair
        .server
        .invite_and_accept(&pair.admin, "sofia@andinas.example", "Supervisora")
        .await;
    let sofia_id = user_id(&pair, "sofia@andinas.example").await;
    let (status, _) = answer(assign(&sofia, &[c], Some(sofia_id)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(state(&pair, c).await.1, Some(sofia_id));
    let (status, _) = answer(assign(&sofia, &[c], None).await).await;
    assert_eq!(status, StatusCode::OK);

    let kinds: Vec<(Value, Value, Value)> = events(&pair, c)
        .await
        .into_iter()
        .map(|e| {
            (
                e["event"].clone(),
                e["to_name"].clone(),
                e["by_name"].clone(),
            )
        })
        .collect();
    let admin_name = pair.admin.me().await["name"].clone();
    let sergio_name = sergio.me().await["name"].clone();
    let rosa_name = rosa.me().await["name"].clone();
    let sofia_name = sofia.me().await["name"].clone();
    assert_eq!(
        kinds,
        vec![
            (json!("assigned"), sergio_name.clone(), admin_name.clone()),
            (json!("owner_changed"), rosa_name, sergio_name),
            (json!("assigned"), Value::Null, admin_name),
            (json!("assigned"), sofia_name.clone(), sofia_name.clone()),
            (json!("assigned"), Value::Null, sofia_name),
        ]
    );
}

async fn a_conversation_closes_with_a_reason_and_reopens_by_hand_or_when_the_customer_writes(
    backend: Backend,
) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "Quiero cotizar 20 chaquetas"}))
        .await;
    let c = pair.conversation_id().await;
    pair.server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "seller")
        .await;
    let sergio_id = user_id(&pair, "sergio@andinas.example").await;
    assign(&pair.admin, &[c], Some(sergio_id)).await;

    // A reason is required.
    let (status, error) = answer(close(&pair.admin, &[c], "   ").await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error,
        json!({"Invalid": {"field": "CloseReason", "problem": "Required"}})
    );
    let (status, changed) = answer(close(&pair.admin, &[c], " Venta cerrada ").await).await;
    assert_eq!((status, changed), (StatusCode::OK, json!(1)));
    assert_eq!(
        state(&pair, c).await,
        (
            "closed".into(),
            Some(sergio_id),
            Some("Venta cerrada".into())
        )
    );
    // Closing changes no one's unread state; the conversation is in Closed with its history.
    let closed = pair
        .admin
        .json("conversations", &[("query[section]", "closed")])
        .await;
    let row = &closed["conversations"][0];
    assert_eq!(row["id"], c);
    assert_eq!(row["unread"], true);
    let open = pair.admin.json("inbox_overview", &[]).await;
    assert_eq!(open["counts"]["open"], 0);
    // Closing a closed conversation does nothing.
    let (_, changed) = answer(close(&pair.admin, &[c], "Otra").await).await;
    assert_eq!(changed, json!(0));

    // Reopened by hand.
    pair.admin
        .json(
            "reopen_conversation",
            &[("conversation_id", &c.to_string())],
        )
        .await;
    assert_eq!(
        state(&pair, c).await,
        ("open".into(), Some(sergio_id), None)
    );

    // Closed again; the customer writes: open again, still Sergio's.
    close(&pair.admin, &[c], "Sin respuesta").await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "Perdón, sigo interesado"}))
        .await;
    assert_eq!(
        state(&pair, c).await,
        ("open".into(), Some(sergio_id), None)
    );

    // Closed once more, Sergio leaves the company; the customer writes: open and unassigned.
    close(&pair.admin, &[c], "Sin respuesta").await;
    sqlx::query("UPDATE users SET status = 'deactivated' WHERE id = $1")
        .bind(sergio_id)
        .execute(&pair.db.pool)
        .await
        .unwrap();
    pair.customer_sends(json!({"channel": "whatsapp", "text": "¿Hola?"}))
        .await;
    assert_eq!(state(&pair, c).await, ("open".into(), None, None));

    let seen: Vec<(Value, Value, Value)> = events(&pair, c)
        .await
        .into_iter()
        .map(|e| {
            (
                e["event"].clone(),
                e["reason"].clone(),
                e["by_customer"].clone(),
            )
        })
        .collect();
    let by_hand = |event: &str, reason: Value| (json!(event), reason, Value::Null);
    assert_eq!(
        seen,
        vec![
            by_hand("assigned", Value::Null),
            by_hand("closed", json!("Venta cerrada")),
            by_hand("reopened", Value::Null),
            by_hand("closed", json!("Sin respuesta")),
            (json!("reopened"), Value::Null, json!(true)),
            by_hand("closed", json!("Sin respuesta")),
            (json!("reopened"), Value::Null, json!(true)),
        ]
    );
    // The customer's reopening comes just before their message in the thread.
    let order: Vec<(String, String)> = sqlx::query_as(
        "SELECT direction, COALESCE(body, '') FROM messages WHERE conversation_id = $1 \
         ORDER BY created_at, id",
    )
    .bind(c)
    .fetch_all(&pair.db.pool)
    .await
    .unwrap();
    let last_two: Vec<&str> = order[order.len() - 2..]
        .iter()
        .map(|(d, _)| d.as_str())
        .collect();
    assert_eq!(last_two, ["system", "in"]);
}

async fn a_thousand_conversations_close_in_one_transaction(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "Hola"}))
        .await;
    let (org_id, account_id): (i64, i64) =
        sqlx::query_as("SELECT org_id, account_id FROM conversations LIMIT 1")
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    let mut ids = Vec::new();
    for n in 0..999 {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO conversations (org_id, account_id, customer_key, status, \
               last_message_at, created_at, updated_at) \
             VALUES ($1, $2, $3, 'open', 1, 1, 1) RETURNING id",
        )
        .bind(org_id)
        .bind(account_id)
        .bind(format!("52155{n:08}"))
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
        ids.push(id);
    }
    ids.push(pair.conversation_id().await);

    // One that does not exist spoils the whole action: nothing is closed.
    let mut spoiled = ids.clone();
    spoiled[500] = 987_654_321;
    let (status, _) = answer(close(&pair.admin, &spoiled, "Campaña terminada").await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        pair.count("SELECT COUNT(*) FROM conversations WHERE status = 'closed'")
            .await,
        0
    );
    // More than a thousand is refused.
    let mut too_many = ids.clone();
    too_many.push(987_654_321);
    let (status, _) = answer(close(&pair.admin, &too_many, "Campaña terminada").await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, changed) = answer(close(&pair.admin, &ids, "Campaña terminada").await).await;
    assert_eq!((status, changed), (StatusCode::OK, json!(1000)));
    assert_eq!(
        pair.count("SELECT COUNT(*) FROM conversations WHERE status = 'closed'")
            .await,
        1000
    );
    assert_eq!(
        pair.count("SELECT COUNT(*) FROM messages WHERE direction = 'system'")
            .await,
        1000
    );
    let overview = pair.admin.json("inbox_overview", &[]).await;
    assert_eq!(overview["counts"]["open"], 0);
}

async fn close_reasons_are_kept_by_administrators(backend: Backend) {
    let pair = Pair::start(backend).await;
    let sergio = pair
        .server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "seller")
        .await;
    let added = pair
        .admin
        .json("add_close_reason", &[("label", " Venta cerrada ")])
        .await;
    assert_eq!(added["label"], "Venta cerrada");
    pair.admin
        .json("add_close_reason", &[("label", "Cliente no responde")])
        .await;
    let (status, error) = pair
        .admin
        .error("add_close_reason", &[("label", "Venta cerrada")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error,
        json!({"Invalid": {"field": "CloseReason", "problem": "Taken"}})
    );
    let (status, _) = sergio
        .error("add_close_reason", &[("label", "Me aburrí")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Sellers read them, to close with one.
    let choices = sergio.json("lifecycle_choices", &[]).await;
    let labels: Vec<&str> = choices["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Cliente no responde", "Venta cerrada"]);
    pair.admin
        .json("delete_close_reason", &[("id", &added["id"].to_string())])
        .await;
    let choices = sergio.json("lifecycle_choices", &[]).await;
    assert_eq!(choices["reasons"].as_array().unwrap().len(), 1);
}

async fn delete(client: &Client, conversation: i64) -> (StatusCode, Value) {
    let id = conversation.to_string();
    answer(
        client
            .call("delete_conversation", &[("conversation_id", &id)])
            .await,
    )
    .await
}

async fn only_the_user_who_connected_the_line_deletes_its_conversations(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "Mi pedido es el 4411"}))
        .await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "¿Ya salió?"}))
        .await;
    let c = pair.conversation_id().await;
    pair.admin
        .json(
            "send_text",
            &[("conversation_id", &c.to_string()), ("body", "Sale hoy")],
        )
        .await;
    let ana = pair.admin.me().await["id"].as_i64().unwrap();
    sqlx::query("UPDATE accounts SET connected_by = $1 WHERE channel = 'whatsapp'")
        .bind(ana)
        .execute(&pair.db.pool)
        .await
        .unwrap();
    let bea = pair
        .server
        .invite_and_accept(&pair.admin, "bea@andinas.example", "admin")
        .await;
    let sergio = pair
        .server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "seller")
        .await;
    let sergio_id = user_id(&pair, "sergio@andinas.example").await;
    assign(&pair.admin, &[c], Some(sergio_id)).await;

    // The thread tells each of them whether they may, with its line's name.
    for (who, may) in [(&pair.admin, true), (&bea, false), (&sergio, false)] {
        let shown = who
            .json("thread", &[("conversation_id", &c.to_string())])
            .await;
        assert_eq!(shown["may_delete"], may);
        assert!(!shown["line_name"].as_str().unwrap().is_empty());
    }

    // Another administrator, and the seller who works it, may not.
    assert_eq!(delete(&bea, c).await.0, StatusCode::FORBIDDEN);
    assert_eq!(delete(&sergio, c).await.0, StatusCode::FORBIDDEN);
    let messages = "SELECT COUNT(*) FROM messages";
    assert_eq!(
        pair.count(messages).await,
        4,
        "three messages and the assignment"
    );

    let (status, removed) = delete(&pair.admin, c).await;
    assert_eq!((status, removed), (StatusCode::OK, json!(4)));
    assert_eq!(pair.count(messages).await, 0);
    assert_eq!(
        pair.count("SELECT COUNT(*) FROM events WHERE kind <> 'conversation_deleted'")
            .await,
        0,
        "nothing of its history stays in the event log"
    );
    assert!(!sees(&pair.admin, c).await);
    let list = pair.admin.json("conversations", &[]).await;
    assert_eq!(list["conversations"].as_array().unwrap().len(), 0);
    let overview = pair.admin.json("inbox_overview", &[]).await;
    assert_eq!(overview["counts"]["open"], 0);
    assert_eq!(overview["counts"]["unread"], 0);

    // The customer writes again: a fresh conversation, unassigned, with only that message.
    pair.customer_sends(json!({"channel": "whatsapp", "text": "Hola de nuevo"}))
        .await;
    let list = pair.admin.json("conversations", &[]).await;
    let rows = list["conversations"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["assignee_id"], Value::Null);
    assert_eq!(rows[0]["unread"], true);
    let thread = pair
        .admin
        .json("thread", &[("conversation_id", &rows[0]["id"].to_string())])
        .await;
    let bodies: Vec<&str> = thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(bodies, ["Hola de nuevo"]);
    assert_eq!(
        pair.admin.json("inbox_overview", &[]).await["counts"]["unassigned"],
        1
    );
}

async fn a_transfer_can_make_the_new_owner_the_contacts_owner_too(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "Hola"}))
        .await;
    let c = pair.conversation_id().await;
    let created = pair
        .admin
        .call(
            "create_contact",
            &[
                ("conversation_id", c.to_string().as_str()),
                ("contact[first_name]", "Lucía"),
                ("contact[last_name]", "Pérez"),
                ("contact[email]", ""),
                ("contact[consent]", "true"),
            ],
        )
        .await;
    assert!(created.status().is_success());
    pair.server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "seller")
        .await;
    pair.server
        .invite_and_accept(&pair.admin, "rosa@andinas.example", "seller")
        .await;
    let sergio = user_id(&pair, "sergio@andinas.example").await;
    let rosa = user_id(&pair, "rosa@andinas.example").await;
    let owner = || async {
        let (owner,): (Option<i64>,) = sqlx::query_as(
            "SELECT co.owner_id FROM contacts co JOIN conversations c ON c.contact_id = co.id \
             WHERE c.id = $1",
        )
        .bind(c)
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
        owner
    };
    let before = owner().await;
    // Given to Sergio: the contact keeps its owner.
    assign(&pair.admin, &[c], Some(sergio)).await;
    assert_eq!(owner().await, before);
    // Passed to Rosa with the contact: both are hers, and the event says so.
    let response = pair
        .admin
        .call(
            "assign_conversations",
            &[
                ("ids[0]", c.to_string().as_str()),
                ("assignee_id", rosa.to_string().as_str()),
                ("contact_too", "true"),
            ],
        )
        .await;
    assert!(response.status().is_success());
    assert_eq!(owner().await, Some(rosa));
    let last = events(&pair, c).await.pop().unwrap();
    assert_eq!(last["event"], "owner_changed");
    assert_eq!(last["contact_too"], true);
}
