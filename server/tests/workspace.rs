//! The agent workspace's server side: the conversation list's sections, tabs, counts, filters,
//! search and keyset pages; unread state per user; contacts created, linked and found from a
//! conversation; starting a WhatsApp conversation; retrying a failed message; Personalize.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::pair::{eventually, Pair};
use common::{Backend, Client, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(15);

on_both_databases!(
    the_list_has_sections_tabs_counts_and_unread_state_per_user,
    the_list_pages_by_activity_without_gaps_or_repeats,
    a_contact_is_created_from_a_conversation_linked_and_found,
    sellers_find_and_link_only_contacts_they_may_reach,
    conversations_are_started_on_whatsapp_with_contacts_one_may_start_with,
    a_failed_message_is_retried_and_personalize_is_filled_on_send,
    quick_replies_are_managed_by_administrators_and_read_by_sellers,
    a_message_sent_again_under_its_key_is_stored_and_delivered_once,
    kept_counts_equal_a_full_count_after_any_change,
    the_list_and_the_thread_name_the_newest_event_they_include,
    a_role_change_or_deactivation_reaches_the_very_next_read,
);

async fn list(client: &Client, query: &[(&str, &str)]) -> Vec<Value> {
    let form: Vec<(String, &str)> = query
        .iter()
        .map(|(k, v)| (format!("query[{k}]"), *v))
        .collect();
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let answer = client.json("conversations", &form).await;
    answer["conversations"].as_array().unwrap().clone()
}

fn names(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| {
            r["contact_name"]
                .as_str()
                .or(r["customer_name"].as_str())
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

async fn counts(client: &Client) -> Value {
    counts_on(client, &[]).await
}

/// The overview narrowed to a channel or a line.
async fn counts_on(client: &Client, filters: &[(&str, &str)]) -> Value {
    client.json("inbox_overview", filters).await
}

async fn create_contact(
    client: &Client,
    conversation: i64,
    first: &str,
    last: &str,
    consent: &str,
) -> reqwest::Response {
    client
        .call(
            "create_contact",
            &[
                ("conversation_id", conversation.to_string().as_str()),
                ("contact[first_name]", first),
                ("contact[last_name]", last),
                ("contact[email]", ""),
                ("contact[consent]", consent),
            ],
        )
        .await
}

async fn start(client: &Client, contact: i64, account: &str) -> reqwest::Response {
    client
        .call(
            "start_conversation",
            &[
                ("contact_id", contact.to_string().as_str()),
                ("account_id", account),
            ],
        )
        .await
}

async fn conversation_of(pair: &Pair, customer_key: &str) -> i64 {
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM conversations WHERE customer_key = $1")
        .bind(customer_key)
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
    id
}

async fn the_list_has_sections_tabs_counts_and_unread_state_per_user(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "¿Tienen la chaqueta en azul?"}))
        .await;
    pair.customer_sends(json!({"channel": "whatsapp", "from": "5215511112222",
        "name": "Mario Ruiz", "text": "Quiero una cotización"}))
        .await;
    pair.customer_sends(json!({"channel": "messenger", "text": "Hola"}))
        .await;
    pair.customer_sends(json!({"channel": "instagram", "text": "¿Precio?"}))
        .await;
    let seller = pair
        .server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "seller")
        .await;
    let (seller_id,): (i64,) =
        sqlx::query_as("SELECT id FROM users WHERE email = 'sergio@andinas.example'")
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    let mario = conversation_of(&pair, "5215511112222").await;
    let lucia = conversation_of(&pair, "5215512345678").await;
    sqlx::query("UPDATE conversations SET assignee_id = $1 WHERE id = $2")
        .bind(seller_id)
        .bind(mario)
        .execute(&pair.db.pool)
        .await
        .unwrap();

    // The administrator sees every open conversation, newest first, all unread.
    let all = list(&pair.admin, &[]).await;
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|r| r["unread"] == true));
    assert_eq!(all[0]["channel"], "instagram", "newest activity first");
    let overview = counts(&pair.admin).await;
    assert_eq!(
        overview["counts"],
        json!({"open": 4, "unread": 4, "unassigned": 3, "mine": 0, "others": 1})
    );
    assert_eq!(overview["sees_all"], true);
    assert_eq!(overview["lines"].as_array().unwrap().len(), 5);

    // Sections.
    assert_eq!(
        list(&pair.admin, &[("section", "unassigned")]).await.len(),
        3
    );
    assert_eq!(
        names(&list(&pair.admin, &[("section", "others")]).await),
        ["Mario Ruiz"]
    );
    assert!(list(&pair.admin, &[("section", "mine")]).await.is_empty());
    assert!(list(&pair.admin, &[("section", "closed")]).await.is_empty());

    // A seller sees only what is assigned to them, whatever they ask for.
    assert_eq!(names(&list(&seller, &[]).await), ["Mario Ruiz"]);
    assert!(list(&seller, &[("section", "unassigned")]).await.is_empty());
    assert!(list(&seller, &[("section", "others")]).await.is_empty());
    let seller_overview = counts(&seller).await;
    assert_eq!(
        seller_overview["counts"],
        json!({"open": 1, "unread": 1, "unassigned": 0, "mine": 1, "others": 0})
    );
    assert_eq!(seller_overview["sees_all"], false);
    let (status, _) = seller
        .error("thread", &[("conversation_id", &lucia.to_string())])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Filters and search.
    let messenger = list(&pair.admin, &[("channel", "messenger")]).await;
    assert_eq!(messenger.len(), 1);
    assert_eq!(messenger[0]["channel"], "messenger");
    let account = all[0]["account_id"].as_i64().unwrap().to_string();
    let on_line = list(&pair.admin, &[("account_id", &account)]).await;
    assert_eq!(on_line.len(), 1);
    assert_eq!(on_line[0]["account_id"], all[0]["account_id"]);
    // The counts follow the same filters.
    assert_eq!(
        counts_on(&pair.admin, &[("channel", "whatsapp")]).await["counts"],
        json!({"open": 2, "unread": 2, "unassigned": 1, "mine": 0, "others": 1})
    );
    assert_eq!(
        counts_on(&pair.admin, &[("channel", "messenger")]).await["counts"],
        json!({"open": 1, "unread": 1, "unassigned": 1, "mine": 0, "others": 0})
    );
    assert_eq!(
        counts_on(&pair.admin, &[("channel", "")]).await["counts"],
        overview["counts"]
    );
    let instagram_line = counts_on(&pair.admin, &[("account_id", &account)]).await;
    assert_eq!(
        instagram_line["counts"],
        json!({"open": 1, "unread": 1, "unassigned": 1, "mine": 0, "others": 0})
    );
    let crossed = counts_on(
        &pair.admin,
        &[("channel", "whatsapp"), ("account_id", &account)],
    )
    .await;
    assert_eq!(
        crossed["counts"],
        json!({"open": 0, "unread": 0, "unassigned": 0, "mine": 0, "others": 0})
    );
    assert_eq!(
        names(&list(&pair.admin, &[("search", "mario")]).await),
        ["Mario Ruiz"]
    );
    assert_eq!(
        names(&list(&pair.admin, &[("search", "+52 155 1111")]).await),
        ["Mario Ruiz"],
        "a number typed with spaces finds the customer"
    );
    assert!(list(&pair.admin, &[("search", "100%_")]).await.is_empty());
    for query in ["RUIZ", "ruíz", "Mário r"] {
        assert_eq!(
            names(&list(&pair.admin, &[("search", query)]).await),
            ["Mario Ruiz"],
            "neither case nor accents matter: {query}"
        );
    }
    let two_letters = names(&list(&pair.admin, &[("search", "rU")]).await);
    assert!(
        two_letters.contains(&"Mario Ruiz".to_string()),
        "two letters are looked for too: {two_letters:?}"
    );
    assert!(!two_letters.contains(&"Lucía Pérez".to_string()));

    // Opening a conversation reads it for that user only.
    pair.admin
        .json("thread", &[("conversation_id", &mario.to_string())])
        .await;
    let unread = list(&pair.admin, &[("unread", "true")]).await;
    assert_eq!(unread.len(), 3);
    assert!(unread.iter().all(|r| r["id"] != mario));
    assert_eq!(counts(&pair.admin).await["counts"]["unread"], 3);
    assert_eq!(list(&seller, &[("unread", "true")]).await.len(), 1);
    seller
        .json("mark_read", &[("conversation_id", &mario.to_string())])
        .await;
    assert!(list(&seller, &[("unread", "true")]).await.is_empty());

    // Something new makes it unread again.
    let before = list(&pair.admin, &[("search", "mario")]).await[0]["last_message_at"]
        .as_i64()
        .unwrap();
    pair.customer_sends(json!({"channel": "whatsapp", "from": "5215511112222",
        "text": "¿Sigue en pie?"}))
        .await;
    eventually(
        "the new message to unread the conversation",
        WAIT,
        || async {
            let rows = list(&seller, &[("unread", "true")]).await;
            (rows.len() == 1).then_some(())
        },
    )
    .await;
    // Its activity moves forward (providers' times are whole seconds or milliseconds, so
    // another channel's earlier message may still sort within the same second).
    let rows = list(&pair.admin, &[]).await;
    let row = rows.iter().find(|r| r["id"] == mario).unwrap();
    assert!(row["last_message_at"].as_i64().unwrap() >= before);

    // Closed conversations leave the open sections and the counts.
    sqlx::query("UPDATE conversations SET status = 'closed' WHERE id = $1")
        .bind(lucia)
        .execute(&pair.db.pool)
        .await
        .unwrap();
    assert_eq!(list(&pair.admin, &[("section", "closed")]).await.len(), 1);
    assert_eq!(list(&pair.admin, &[]).await.len(), 3);
    assert_eq!(counts(&pair.admin).await["counts"]["open"], 3);
    pair.stop().await;
}

async fn the_list_pages_by_activity_without_gaps_or_repeats(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.setup_admin().await;
    let db = server.db.connect().await;
    let (org_id,): (i64,) = sqlx::query_as("SELECT id FROM organizations")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let (account_id,): (i64,) = sqlx::query_as(
        "INSERT INTO accounts (org_id, channel, name, external_id, status, connected_at, \
         created_at) VALUES ($1, 'whatsapp', 'Ventas', '1001', 'connected', 0, 0) RETURNING id",
    )
    .bind(org_id)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    // 130 conversations, many with the same last activity: ties are ordered by id.
    for n in 0..130i64 {
        sqlx::query(
            "INSERT INTO conversations (org_id, account_id, customer_key, customer_name, status, \
             last_message_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 'open', $5, 0, 0)",
        )
        .bind(org_id)
        .bind(account_id)
        .bind(format!("52155{n:08}"))
        .bind(format!("Cliente {n}"))
        .bind(1_000_000 + (n / 7) * 1000)
        .execute(&db.pool)
        .await
        .unwrap();
    }
    let mut seen = Vec::new();
    let mut before: Option<(i64, i64)> = None;
    loop {
        let mut form = vec![];
        let (at, id);
        if let Some((a, i)) = before {
            at = a.to_string();
            id = i.to_string();
            form.push(("before_at", at.as_str()));
            form.push(("before_id", id.as_str()));
        }
        let page = admin.json("conversations", &form).await;
        let rows = page["conversations"].as_array().unwrap();
        assert!(rows.len() <= 25);
        for row in rows {
            seen.push((
                row["last_message_at"].as_i64().unwrap(),
                row["id"].as_i64().unwrap(),
            ));
        }
        if page["has_more"] != true {
            break;
        }
        let last = seen.last().unwrap();
        before = Some(*last);
    }
    assert_eq!(seen.len(), 130);
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 130, "no row twice");
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest activity first, then id");
    db.pool.close().await;
    server.stop().await;
}

async fn a_contact_is_created_from_a_conversation_linked_and_found(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "Hola"}))
        .await;
    let whatsapp = pair.conversation_on("whatsapp").await;
    let id = whatsapp.to_string();
    let create = |first, last, consent| create_contact(&pair.admin, whatsapp, first, last, consent);
    // Consent and both names are required; nothing is stored until they are given.
    let refused: Value = create("Lucía", "Pérez", "false")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        refused,
        json!({"Invalid": {"field": "Consent", "problem": "Required"}})
    );
    let refused: Value = create("Lucía", " ", "true").await.json().await.unwrap();
    assert_eq!(
        refused,
        json!({"Invalid": {"field": "LastName", "problem": "Required"}})
    );
    assert_eq!(pair.count("SELECT COUNT(*) FROM contacts").await, 0);

    let created = create("Lucía", "Pérez", "true").await;
    assert_eq!(created.status(), StatusCode::OK);
    let contact: Value = created.json().await.unwrap();
    // The number the customer wrote from is both the primary and the WhatsApp phone.
    // In E.164, without the `1` WhatsApp still writes after Mexico's 52.
    assert_eq!(contact["primary_phone"], "+525512345678");
    assert_eq!(contact["whatsapp_phone"], "+525512345678");
    assert_eq!(contact["owner_name"], "Ana Admin");
    let thread = pair.admin.json("thread", &[("conversation_id", &id)]).await;
    assert_eq!(thread["contact"]["id"], contact["id"]);
    assert_eq!(thread["conversation"]["contact_name"], "Lucía Pérez");
    let rows = list(&pair.admin, &[]).await;
    assert_eq!(rows[0]["contact_id"], contact["id"]);
    let (consent,): (Option<i64>,) = sqlx::query_as("SELECT consent_at FROM contacts")
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
    assert!(consent.is_some());
    let twice: Value = create("Lucía", "Pérez", "true").await.json().await.unwrap();
    assert_eq!(
        twice,
        json!({"Invalid": {"field": "Contact", "problem": "Taken"}})
    );

    // Found by part of the name, in any case and with or without accents, or of the number.
    let admin = &pair.admin;
    let found = move |query: &'static str| async move {
        let found = admin.json("search_contacts", &[("query", query)]).await;
        found.as_array().unwrap().len()
    };
    for query in [
        "lucía",
        "lucia",
        "Pérez",
        "PEREZ",
        "LUC",
        "lu",
        "5512345",
        "+52 1 55 1234",
    ] {
        assert_eq!(found(query).await, 1, "{query}");
    }
    for query in ["Mario", "ma", "lucas", "5599"] {
        assert_eq!(found(query).await, 0, "{query}");
    }
    // Secondary numbers are found too, and no longer once removed.
    let contact_id = contact["id"].as_i64().unwrap();
    sqlx::query(
        "INSERT INTO contact_phones (org_id, contact_id, phone, created_at) \
         SELECT org_id, id, '5215599990000', 0 FROM contacts WHERE id = $1",
    )
    .bind(contact_id)
    .execute(&pair.db.pool)
    .await
    .unwrap();
    assert_eq!(found("55 9999 0000").await, 1);
    sqlx::query("DELETE FROM contact_phones WHERE contact_id = $1")
        .bind(contact_id)
        .execute(&pair.db.pool)
        .await
        .unwrap();
    assert_eq!(found("55 9999 0000").await, 0);
    assert_eq!(found("lucia").await, 1);

    // The same person writes on Messenger: the conversation is linked to her.
    pair.customer_sends(json!({"channel": "messenger", "text": "Soy Lucía"}))
        .await;
    let messenger = pair.conversation_on("messenger").await.to_string();
    let linked = pair
        .admin
        .json(
            "link_contact",
            &[
                ("conversation_id", messenger.as_str()),
                ("contact_id", &contact["id"].to_string()),
            ],
        )
        .await;
    assert_eq!(linked["id"], contact["id"]);
    let thread = pair
        .admin
        .json("thread", &[("conversation_id", &messenger)])
        .await;
    assert_eq!(thread["contact"]["first_name"], "Lucía");
    // Both her conversations are found by the contact's name, under a new name at once.
    let rows = list(&pair.admin, &[("search", "lucia perez")]).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    sqlx::query("UPDATE contacts SET first_name = 'Lucinda' WHERE id = $1")
        .bind(contact["id"].as_i64().unwrap())
        .execute(&pair.db.pool)
        .await
        .unwrap();
    assert_eq!(list(&pair.admin, &[("search", "lucinda")]).await.len(), 2);
    assert_eq!(found("lucinda").await, 1);
    sqlx::query("UPDATE contacts SET first_name = 'Lucía' WHERE id = $1")
        .bind(contact["id"].as_i64().unwrap())
        .execute(&pair.db.pool)
        .await
        .unwrap();
    assert!(list(&pair.admin, &[("search", "lucinda")]).await.is_empty());
    assert_eq!(found("lucinda").await, 0);

    // A customer already in the CRM is linked as soon as they write.
    sqlx::query(
        "INSERT INTO contacts (org_id, first_name, last_name, primary_phone, whatsapp_phone, \
         created_at, updated_at) SELECT id, 'Mario', 'Ruiz', '+525511112222', '+525511112222', \
         0, 0 FROM organizations",
    )
    .execute(&pair.db.pool)
    .await
    .unwrap();
    pair.customer_sends(json!({"channel": "whatsapp", "from": "5215511112222",
        "name": "Mario R.", "text": "Buenas"}))
        .await;
    let rows = list(&pair.admin, &[("search", "mario")]).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["contact_name"], "Mario Ruiz");
    pair.stop().await;
}

/// A seller reaches the contacts they own and those of conversations given to them; the rest
/// of the customer base (phones, emails) is neither found nor linked.
async fn sellers_find_and_link_only_contacts_they_may_reach(backend: Backend) {
    let pair = Pair::start(backend).await;
    let seller = pair
        .server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "seller")
        .await;
    let contact = |first: &str, owner: &str| {
        format!(
            "INSERT INTO contacts (org_id, first_name, last_name, email, owner_id, \
             created_at, updated_at) SELECT o.id, '{first}', 'Cliente', '{first}@example.com', \
             u.id, 0, 0 FROM organizations o, users u WHERE u.email = '{owner}' RETURNING id"
        )
    };
    let mut ids = Vec::new();
    for (first, owner) in [
        ("Paula", "ana@andinas.example"),
        ("Rosa", "sergio@andinas.example"),
        ("Tomas", "ana@andinas.example"),
    ] {
        let (id,): (i64,) = sqlx::query_as(&contact(first, owner))
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
        ids.push(id);
    }
    let [paula, rosa, tomas] = ids[..] else {
        unreachable!()
    };
    // Tomás's conversation is given to the seller.
    pair.customer_sends(json!({"channel": "whatsapp", "text": "Hola"}))
        .await;
    let conversation = pair.conversation_on("whatsapp").await;
    sqlx::query(
        "UPDATE conversations SET contact_id = $1, \
         assignee_id = (SELECT id FROM users WHERE email = 'sergio@andinas.example') \
         WHERE id = $2",
    )
    .bind(tomas)
    .bind(conversation)
    .execute(&pair.db.pool)
    .await
    .unwrap();

    let found = |client: &Client| {
        let client = client.clone();
        async move {
            let found = client
                .json("search_contacts", &[("query", "cliente")])
                .await;
            let mut names: Vec<String> = found
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["first_name"].as_str().unwrap().to_string())
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(found(&pair.admin).await, ["Paula", "Rosa", "Tomas"]);
    assert_eq!(found(&seller).await, ["Rosa", "Tomas"]);
    assert!(seller
        .json("search_contacts", &[("query", "paula@example")])
        .await
        .as_array()
        .unwrap()
        .is_empty());

    // Linking their conversation to someone else's contact is refused like a missing one.
    let link = |contact: i64| {
        let seller = seller.clone();
        async move {
            seller
                .call(
                    "link_contact",
                    &[
                        ("conversation_id", &conversation.to_string()),
                        ("contact_id", &contact.to_string()),
                    ],
                )
                .await
                .status()
        }
    };
    assert_eq!(link(paula).await, StatusCode::NOT_FOUND);
    assert_eq!(link(rosa).await, StatusCode::OK);
    pair.stop().await;
}

async fn conversations_are_started_on_whatsapp_with_contacts_one_may_start_with(backend: Backend) {
    let pair = Pair::start(backend).await;
    let seller = pair
        .server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "seller")
        .await;
    let contact = |first: &str, phone: &str, owner: &str| {
        format!(
            "INSERT INTO contacts (org_id, first_name, last_name, primary_phone, owner_id, \
             created_at, updated_at) SELECT o.id, '{first}', 'Cliente', '{phone}', u.id, 0, 0 \
             FROM organizations o, users u WHERE u.email = '{owner}' RETURNING id"
        )
    };
    let (admins,): (i64,) =
        sqlx::query_as(&contact("Paula", "5215599990000", "ana@andinas.example"))
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    let (sellers,): (i64,) = sqlx::query_as(&contact(
        "Rosa",
        "+52 1 55 8888 7777",
        "sergio@andinas.example",
    ))
    .fetch_one(&pair.db.pool)
    .await
    .unwrap();
    let line = |channel: &'static str| {
        let db = &pair.db;
        async move {
            let (id,): (i64,) =
                sqlx::query_as("SELECT id FROM accounts WHERE channel = $1 ORDER BY id LIMIT 1")
                    .bind(channel)
                    .fetch_one(&db.pool)
                    .await
                    .unwrap();
            id.to_string()
        }
    };
    let whatsapp = line("whatsapp").await;
    let messenger = line("messenger").await;
    // A seller starts conversations only with their own contacts.
    let refused = start(&seller, admins, &whatsapp).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let started: Value = start(&seller, sellers, &whatsapp)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(started["existed"], false);
    let conversation = started["conversation_id"].as_i64().unwrap();
    let rows = list(&seller, &[]).await;
    assert_eq!(rows.len(), 1, "the starter works the conversation");
    assert_eq!(rows[0]["id"], conversation);
    assert_eq!(rows[0]["customer_key"], "5215588887777");
    // The customer never wrote: only a template may open it.
    let (status, error) = seller
        .error(
            "send_text",
            &[
                ("conversation_id", &conversation.to_string()),
                ("body", "Hola"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error, json!({"Window": "TemplateRequired"}));

    // Facebook and Instagram cannot be started.
    let refused: Value = start(&pair.admin, admins, &messenger)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refused, json!({"Window": "CustomerMustWriteFirst"}));
    // An administrator may start with anyone; starting again finds the same conversation.
    let first: Value = start(&pair.admin, admins, &whatsapp)
        .await
        .json()
        .await
        .unwrap();
    let again: Value = start(&pair.admin, admins, &whatsapp)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["existed"], false);
    assert_eq!(again["existed"], true);
    assert_eq!(again["conversation_id"], first["conversation_id"]);
    assert_eq!(pair.count("SELECT COUNT(*) FROM conversations").await, 2);
    pair.stop().await;
}

async fn a_failed_message_is_retried_and_personalize_is_filled_on_send(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "Hola"}))
        .await;
    let conversation = pair.conversation_on("whatsapp").await.to_string();
    // The provider's own clock says the window closed: the send fails (131047).
    {
        let mut world = pair.sandbox.lock().unwrap();
        for at in world.last_incoming.values_mut() {
            *at -= 25 * 3_600_000;
        }
    }
    let sent = pair
        .admin
        .json(
            "send_text",
            &[
                ("conversation_id", conversation.as_str()),
                ("body", "Hola {first_name}, ¿te ayudo? {sin_campo}"),
            ],
        )
        .await;
    // Filled from what the channel knows (no contact yet): the profile's first name.
    assert_eq!(sent["body"], "Hola Lucía, ¿te ayudo? {sin_campo}");
    let id = sent["id"].as_i64().unwrap();
    let status = |id: i64| {
        let db = &pair.db;
        async move {
            let (status,): (Option<String>,) =
                sqlx::query_as("SELECT status FROM messages WHERE id = $1")
                    .bind(id)
                    .fetch_one(&db.pool)
                    .await
                    .unwrap();
            status.unwrap_or_default()
        }
    };
    eventually("the send to fail", WAIT, || async {
        (status(id).await == "failed").then_some(())
    })
    .await;
    {
        let mut world = pair.sandbox.lock().unwrap();
        for at in world.last_incoming.values_mut() {
            *at += 25 * 3_600_000;
        }
    }
    let retried = pair
        .admin
        .json("retry_message", &[("message_id", &id.to_string())])
        .await;
    assert_eq!(retried["id"], id);
    assert_eq!(retried["status"], "pending");
    assert_eq!(retried["error_code"], Value::Null);
    eventually("the retry to go out", WAIT, || async {
        matches!(status(id).await.as_str(), "sent" | "delivered" | "read").then_some(())
    })
    .await;
    let delivered: Vec<_> = pair
        .business_messages()
        .into_iter()
        .filter(|m| m.text.as_deref() == Some("Hola Lucía, ¿te ayudo? {sin_campo}"))
        .collect();
    assert_eq!(delivered.len(), 1, "delivered once");
    // Only a failed message can be retried.
    let (status_code, _) = pair
        .admin
        .error("retry_message", &[("message_id", &id.to_string())])
        .await;
    assert_eq!(status_code, StatusCode::NOT_FOUND);
    pair.stop().await;
}

/// The browser's offline queue sends a message again when an answer was lost: under the same
/// key the server answers with the message it stored, also when the two sends cross, also
/// after the window has closed since.
async fn a_message_sent_again_under_its_key_is_stored_and_delivered_once(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "¿Tienen envío?"}))
        .await;
    let conversation = pair.conversation_on("whatsapp").await.to_string();
    let send = |body: &'static str, key: &'static str| {
        let form = [
            ("conversation_id", conversation.clone()),
            ("body", body.to_string()),
            ("client_key", key.to_string()),
        ];
        let admin = &pair.admin;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            admin.json("send_text", &form).await
        }
    };
    let first = send("Sí, a todo el país", "18f2a-0001").await;
    let again = send("Sí, a todo el país", "18f2a-0001").await;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["body"], "Sí, a todo el país");
    // Two sends of one key crossing each other.
    let (a, b) = tokio::join!(
        send("Llega en 3 días", "18f2a-0002"),
        send("Llega en 3 días", "18f2a-0002")
    );
    assert_eq!(a["id"], b["id"]);
    assert_ne!(a["id"], first["id"]);
    let stored = pair
        .count("SELECT COUNT(*) FROM messages WHERE direction = 'out'")
        .await;
    assert_eq!(stored, 2);
    eventually("both to be delivered", WAIT, || async {
        (pair.business_messages().len() == 2).then_some(())
    })
    .await;
    let texts: Vec<String> = pair
        .business_messages()
        .into_iter()
        .filter_map(|m| m.text)
        .collect();
    assert_eq!(texts, ["Sí, a todo el país", "Llega en 3 días"]);

    // The window closed since: a new message is refused, the stored one is still answered.
    sqlx::query("UPDATE conversations SET last_incoming_at = last_incoming_at - $1")
        .bind(25 * 3_600_000i64)
        .execute(&pair.db.pool)
        .await
        .unwrap();
    let late = send("Sí, a todo el país", "18f2a-0001").await;
    assert_eq!(late["id"], first["id"]);
    let form = [
        ("conversation_id", conversation.as_str()),
        ("body", "¿Sigues ahí?"),
        ("client_key", "18f2a-0003"),
    ];
    let (status, _) = pair.admin.error("send_text", &form).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let form = [
        ("conversation_id", conversation.as_str()),
        ("body", "hola"),
        ("client_key", "no es una clave"),
    ];
    let (status, error) = pair.admin.error("send_text", &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(pair.business_messages().len(), 2, "nothing more went out");
    pair.stop().await;
}

async fn quick_replies_are_managed_by_administrators_and_read_by_sellers(backend: Backend) {
    let server = TestServer::start(backend).await;
    let admin = server.setup_admin().await;
    let seller = server
        .invite_and_accept(&admin, "sergio@andinas.example", "seller")
        .await;
    let saved = admin
        .json(
            "save_quick_reply",
            &[
                ("short_code", "/Envio"),
                ("body", "Enviamos a todo el país, {first_name}."),
            ],
        )
        .await;
    assert_eq!(saved["short_code"], "envio");
    let (status, error) = admin
        .error(
            "save_quick_reply",
            &[("short_code", "envio"), ("body", "Otra")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error,
        json!({"Invalid": {"field": "ShortCode", "problem": "Taken"}})
    );
    let (_, error) = admin
        .error(
            "save_quick_reply",
            &[("short_code", "dos palabras"), ("body", "x")],
        )
        .await;
    assert_eq!(
        error,
        json!({"Invalid": {"field": "ShortCode", "problem": "Malformed"}})
    );
    let (status, _) = seller
        .error("save_quick_reply", &[("short_code", "mio"), ("body", "x")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let listed = seller.json("quick_replies", &[]).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["body"], "Enviamos a todo el país, {first_name}.");
    let id = saved["id"].to_string();
    let (status, _) = seller.error("delete_quick_reply", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    admin.json("delete_quick_reply", &[("id", &id)]).await;
    assert!(admin
        .json("quick_replies", &[])
        .await
        .as_array()
        .unwrap()
        .is_empty());
    server.stop().await;
}

/// What the kept counts must equal: every open conversation counted by line and assignee, and
/// for each user those unread by them, straight from the conversations.
async fn counted(pool: &sqlx::AnyPool) -> (Vec<(i64, i64, i64)>, Vec<(i64, i64, i64, i64)>) {
    let open = sqlx::query_as(
        "SELECT account_id, COALESCE(assignee_id, 0), COUNT(*) FROM conversations \
         WHERE status = 'open' AND deleted_at IS NULL GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let unread = sqlx::query_as(
        "SELECT u.id, c.account_id, COALESCE(c.assignee_id, 0), COUNT(*) FROM conversations c \
         JOIN users u ON u.org_id = c.org_id \
         LEFT JOIN conversation_reads r ON r.conversation_id = c.id AND r.user_id = u.id \
         WHERE c.status = 'open' AND c.deleted_at IS NULL \
           AND COALESCE(c.last_incoming_id, 0) > COALESCE(r.last_read_id, 0) \
         GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    (open, unread)
}

/// The kept counts, their shards added up, without the places that have come down to zero.
async fn kept(pool: &sqlx::AnyPool) -> (Vec<(i64, i64, i64)>, Vec<(i64, i64, i64, i64)>) {
    let open = sqlx::query_as(
        "SELECT account_id, assignee_id, CAST(SUM(open_count) AS BIGINT) FROM open_tallies \
         GROUP BY 1, 2 HAVING SUM(open_count) <> 0 ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let unread = sqlx::query_as(
        "SELECT user_id, account_id, assignee_id, CAST(SUM(unread_count) AS BIGINT) \
         FROM unread_tallies GROUP BY 1, 2, 3 HAVING SUM(unread_count) <> 0 ORDER BY 1, 2, 3",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    (open, unread)
}

/// A small deterministic generator, so a failing sequence can be replayed.
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

async fn kept_counts_equal_a_full_count_after_any_change(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "Hola"}))
        .await;
    pair.server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "seller")
        .await;
    let pool = &pair.db.pool;
    let (org_id, role_id): (i64, i64) =
        sqlx::query_as("SELECT org_id, role_id FROM users ORDER BY id LIMIT 1")
            .fetch_one(pool)
            .await
            .unwrap();
    let accounts: Vec<(i64,)> = sqlx::query_as("SELECT id FROM accounts ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap();
    let accounts: Vec<i64> = accounts.into_iter().map(|(id,)| id).collect();
    let mut users: Vec<i64> = sqlx::query_as::<_, (i64,)>("SELECT id FROM users ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
        .into_iter()
        .map(|(id,)| id)
        .collect();
    assert_eq!(counted(pool).await, kept(pool).await, "after the migration");

    let mut dice = Dice(0x2545_f491_4f6c_dd1d);
    let mut conversations: Vec<i64> = Vec::new();
    let mut incoming = 1_000i64;
    for step in 0..600 {
        let pick = |dice: &mut Dice, from: &[i64]| from[dice.below(from.len())];
        let assignee = |dice: &mut Dice, users: &[i64]| match dice.below(3) {
            0 => None,
            _ => Some(users[dice.below(users.len())]),
        };
        let what = if conversations.len() < 5 {
            0
        } else {
            dice.below(11)
        };
        let done = match what {
            0 => {
                incoming += 1;
                let last = (dice.below(3) > 0).then_some(incoming);
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO conversations (org_id, account_id, customer_key, status, \
                       assignee_id, last_incoming_id, last_message_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, 1, 1, 1) RETURNING id",
                )
                .bind(org_id)
                .bind(pick(&mut dice, &accounts))
                .bind(format!("tally-{step}"))
                .bind(if dice.below(5) == 0 { "closed" } else { "open" })
                .bind(assignee(&mut dice, &users))
                .bind(last)
                .fetch_one(pool)
                .await
                .unwrap();
                conversations.push(id);
                "new conversation"
            }
            1 | 2 => {
                incoming += 1;
                sqlx::query("UPDATE conversations SET last_incoming_id = $1 WHERE id = $2")
                    .bind(incoming)
                    .bind(pick(&mut dice, &conversations))
                    .execute(pool)
                    .await
                    .unwrap();
                "a message came in"
            }
            3 | 4 => {
                // Read up to the last message, or to an older one (a read from another tab).
                let conversation = pick(&mut dice, &conversations);
                let user = pick(&mut dice, &users);
                let behind = dice.below(3) as i64;
                sqlx::query(
                    "INSERT INTO conversation_reads (org_id, conversation_id, user_id, \
                       last_read_at, last_read_id) \
                     SELECT org_id, id, $2, 1, COALESCE(last_incoming_id, 0) - $3 \
                     FROM conversations WHERE id = $1 \
                     ON CONFLICT (conversation_id, user_id) \
                     DO UPDATE SET last_read_id = excluded.last_read_id",
                )
                .bind(conversation)
                .bind(user)
                .bind(behind)
                .execute(pool)
                .await
                .unwrap();
                "read"
            }
            5 => {
                sqlx::query("UPDATE conversations SET assignee_id = $1 WHERE id = $2")
                    .bind(assignee(&mut dice, &users))
                    .bind(pick(&mut dice, &conversations))
                    .execute(pool)
                    .await
                    .unwrap();
                "assigned"
            }
            6 => {
                sqlx::query(
                    "UPDATE conversations SET status = CASE status WHEN 'open' THEN 'closed' \
                       ELSE 'open' END WHERE id = $1",
                )
                .bind(pick(&mut dice, &conversations))
                .execute(pool)
                .await
                .unwrap();
                "closed or reopened"
            }
            7 => {
                // Moved to another line and written to in the same change.
                incoming += 1;
                sqlx::query(
                    "UPDATE conversations SET account_id = $1, last_incoming_id = $2 WHERE id = $3",
                )
                .bind(pick(&mut dice, &accounts))
                .bind(incoming)
                .bind(pick(&mut dice, &conversations))
                .execute(pool)
                .await
                .unwrap();
                "moved"
            }
            8 => {
                let conversation = pick(&mut dice, &conversations);
                if dice.below(2) == 0 {
                    sqlx::query("UPDATE conversations SET deleted_at = 1 WHERE id = $1")
                        .bind(conversation)
                        .execute(pool)
                        .await
                        .unwrap();
                } else {
                    sqlx::query("DELETE FROM conversations WHERE id = $1")
                        .bind(conversation)
                        .execute(pool)
                        .await
                        .unwrap();
                }
                conversations.retain(|&c| c != conversation);
                "deleted"
            }
            9 => {
                sqlx::query(
                    "DELETE FROM conversation_reads WHERE user_id = $1 AND conversation_id = $2",
                )
                .bind(pick(&mut dice, &users))
                .bind(pick(&mut dice, &conversations))
                .execute(pool)
                .await
                .unwrap();
                "read position removed"
            }
            _ => {
                if dice.below(2) == 0 || users.len() < 3 {
                    let (id,): (i64,) = sqlx::query_as(
                        "INSERT INTO users (org_id, role_id, email, name, status, created_at, \
                           updated_at) VALUES ($1, $2, $3, 'Nuevo', 'active', 1, 1) RETURNING id",
                    )
                    .bind(org_id)
                    .bind(role_id)
                    .bind(format!("u{step}@andinas.example"))
                    .fetch_one(pool)
                    .await
                    .unwrap();
                    users.push(id);
                    "new user"
                } else {
                    let user = *users.last().unwrap();
                    sqlx::query(
                        "UPDATE conversations SET assignee_id = NULL WHERE assignee_id = $1",
                    )
                    .bind(user)
                    .execute(pool)
                    .await
                    .unwrap();
                    sqlx::query("DELETE FROM users WHERE id = $1")
                        .bind(user)
                        .execute(pool)
                        .await
                        .unwrap();
                    users.pop();
                    "user removed"
                }
            }
        };
        assert_eq!(counted(pool).await, kept(pool).await, "step {step}: {done}");
    }

    // Messages arriving while the same users read the same conversations, all at once: the
    // counts must come out as if one change had followed the other.
    let mut tasks = Vec::new();
    for worker in 0..8i64 {
        let pool = pool.clone();
        let conversations = conversations.clone();
        let users = users.clone();
        tasks.push(tokio::spawn(async move {
            let mut dice = Dice(0x9e37_79b9_7f4a_7c15 + worker as u64);
            for round in 0..40i64 {
                let conversation = conversations[dice.below(conversations.len().min(4))];
                if worker % 2 == 0 {
                    sqlx::query("UPDATE conversations SET last_incoming_id = $1 WHERE id = $2")
                        .bind(10_000 + worker * 1_000 + round)
                        .bind(conversation)
                        .execute(&pool)
                        .await
                        .unwrap();
                } else {
                    sqlx::query(
                        "INSERT INTO conversation_reads (org_id, conversation_id, user_id, \
                           last_read_at, last_read_id) \
                         SELECT org_id, id, $2, 1, COALESCE(last_incoming_id, 0) \
                         FROM conversations WHERE id = $1 \
                         ON CONFLICT (conversation_id, user_id) \
                         DO UPDATE SET last_read_id = excluded.last_read_id",
                    )
                    .bind(conversation)
                    .bind(users[dice.below(users.len())])
                    .execute(&pool)
                    .await
                    .unwrap();
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        counted(pool).await,
        kept(pool).await,
        "after concurrent changes"
    );
}

async fn newest_event(pair: &Pair) -> i64 {
    let (id,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM events")
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
    id.unwrap_or(0)
}

/// The page follows the stream from what its list and thread include: both name the newest
/// event they reflect (read with them), an empty list too; older pages of a thread name none.
async fn the_list_and_the_thread_name_the_newest_event_they_include(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "text": "Hola"}))
        .await;
    let lucia = conversation_of(&pair, "5215512345678").await;
    let first = newest_event(&pair).await;
    assert!(first > 0);
    let listed = pair.admin.json("conversations", &[]).await;
    assert_eq!(listed["last_event_id"], first);
    let closed = pair
        .admin
        .json("conversations", &[("query[section]", "closed")])
        .await;
    assert_eq!(closed["conversations"], json!([]));
    assert_eq!(closed["last_event_id"], first, "an empty list too");
    let shown = pair
        .admin
        .json("thread", &[("conversation_id", &lucia.to_string())])
        .await;
    assert_eq!(shown["last_event_id"], first);

    for text in ["¿Tienen talla M?", "¿Y en azul?"] {
        pair.customer_sends(json!({"channel": "whatsapp", "text": text}))
            .await;
    }
    let newer = newest_event(&pair).await;
    assert!(newer > first);
    let listed = pair.admin.json("conversations", &[]).await;
    assert_eq!(listed["last_event_id"], newer);
    let shown = pair
        .admin
        .json("thread", &[("conversation_id", &lucia.to_string())])
        .await;
    assert_eq!(shown["last_event_id"], newer);
    let last = shown["messages"].as_array().unwrap().last().unwrap()["id"].clone();
    let older = pair
        .admin
        .json(
            "thread",
            &[
                ("conversation_id", &lucia.to_string()),
                ("before_id", &last.to_string()),
            ],
        )
        .await;
    assert_eq!(older["last_event_id"], 0);
    assert_eq!(older["messages"].as_array().unwrap().len(), 2);
}

/// The bundle goes out as the release build precompressed it (brotli at its best quality), not
/// compressed again on the way; a file without a precompressed copy is compressed on the fly,
/// and a browser that takes no brotli gets the plain file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bundle_is_served_precompressed() {
    let site = std::env::temp_dir().join(format!("buzon_site_{}", std::process::id()));
    let pkg = site.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let plain = vec![b'w'; 4096];
    std::fs::write(pkg.join("buzon.wasm"), &plain).unwrap();
    std::fs::write(pkg.join("buzon.wasm.br"), b"precompressed").unwrap();
    std::fs::write(pkg.join("buzon.js"), "export const x = 1;\n".repeat(200)).unwrap();
    let server = TestServer::start_with(
        Backend::Sqlite,
        buzon_server::config::ServeArgs {
            site_root: site.clone(),
            ..Default::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    let fetch = |file: &'static str, encoding: &'static str| {
        let request = http
            .get(format!("{}/pkg/{file}", server.base))
            .header("accept-encoding", encoding);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{file}");
            let used = response
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_string());
            (used, response.bytes().await.unwrap().to_vec())
        }
    };

    let (used, body) = fetch("buzon.wasm", "gzip, deflate, br").await;
    assert_eq!(used.as_deref(), Some("br"));
    assert_eq!(body, b"precompressed");
    let (used, body) = fetch("buzon.wasm", "identity").await;
    assert_eq!(used, None);
    assert_eq!(body, plain);
    let (used, body) = fetch("buzon.js", "br").await;
    assert_eq!(used.as_deref(), Some("br"));
    assert!(
        !body.is_empty() && body.len() < 4000,
        "compressed: {} bytes",
        body.len()
    );

    server.stop().await;
    let _ = std::fs::remove_dir_all(&site);
}

/// A request reads for the user its session had last time while it checks the session again
/// (`read_as`): what it read is kept only for the very same user. A role taken away between
/// two requests, or a deactivation, shows in the next list, counts and page.
async fn a_role_change_or_deactivation_reaches_the_very_next_read(backend: Backend) {
    let pair = Pair::start(backend).await;
    pair.customer_sends(json!({"channel": "whatsapp", "from": "5215533334444",
        "name": "Rosa Díaz", "text": "¿Hacen envíos a Quito?"}))
        .await;
    let colleague = pair
        .server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "admin")
        .await;
    let (colleague_id,): (i64,) =
        sqlx::query_as("SELECT id FROM users WHERE email = 'sergio@andinas.example'")
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    // As an administrator, several times over: the session is known by now.
    for _ in 0..3 {
        assert_eq!(names(&list(&colleague, &[]).await), ["Rosa Díaz"]);
        assert_eq!(counts(&colleague).await["counts"]["unassigned"], 1);
        let page = colleague.get("/inbox").await.text().await.unwrap();
        assert!(page.contains("Rosa Díaz"));
    }

    let seller_role = common::role_id(&pair.admin, "seller").await.to_string();
    let response = pair
        .admin
        .call(
            "change_user_role",
            &[
                ("user_id", &colleague_id.to_string()),
                ("role_id", &seller_role),
            ],
        )
        .await;
    assert!(response.status().is_success());
    assert!(
        list(&colleague, &[]).await.is_empty(),
        "a seller's first read after the change sees only what is assigned to them"
    );
    assert_eq!(
        counts(&colleague).await["counts"],
        json!({"open": 0, "unread": 0, "unassigned": 0, "mine": 0, "others": 0})
    );
    let page = colleague.get("/inbox").await.text().await.unwrap();
    assert!(!page.contains("Rosa Díaz"), "the page neither");

    let response = pair
        .admin
        .call(
            "set_user_active",
            &[("user_id", &colleague_id.to_string()), ("active", "false")],
        )
        .await;
    assert!(response.status().is_success());
    let (status, _) = colleague.error("conversations", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = colleague.error("inbox_overview", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    pair.stop().await;
}
