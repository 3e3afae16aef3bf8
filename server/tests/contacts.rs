//! The CRM's contacts on both databases: listed a page at a time (keyset), searched across
//! names, numbers, email, company and usernames, filtered and ordered; created from the
//! Contacts page; edited field by field with the server's validation and a history of every
//! change; numbers kept in E.164 whichever way they were typed, and WhatsApp customers linked
//! by them; every rule of who sees, edits, gives away and deletes a contact.

mod common;

use std::time::Duration;

use common::live::{next_event, open_with};
use common::meta::*;
use common::{Backend, Client};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_databases!(
    contacts_are_listed_a_page_at_a_time_searched_and_filtered,
    fields_are_edited_one_at_a_time_with_validation_and_history,
    roles_decide_who_sees_edits_gives_away_and_deletes,
    whatsapp_customers_are_linked_by_their_number_in_any_form,
    each_line_links_or_creates_the_contacts_of_new_conversations,
    edits_reach_the_open_screens_of_those_who_may_see_the_contact,
    custom_fields_hold_their_kind_and_fill_personalize,
    duplicates_are_found_as_contacts_change_and_merged_with_undo,
);

/// Creates a contact from the Contacts page; its id.
async fn create(client: &Client, first: &str, last: &str, phone: &str, email: &str) -> i64 {
    let id = client
        .json(
            "add_contact",
            &[
                ("first_name", first),
                ("last_name", last),
                ("phone", phone),
                ("email", email),
                ("company", ""),
            ],
        )
        .await;
    id.as_i64().unwrap()
}

/// A seller and an editor of the fixture's organization, signed in.
async fn seller_and_editor(f: &Fixture) -> (Client, Client) {
    let seller = f
        .server
        .invite_and_accept(&f.admin, "sergio@andinas.example", "seller")
        .await;
    let editor = f
        .server
        .invite_and_accept(&f.admin, "eva@andinas.example", "editor")
        .await;
    (seller, editor)
}

/// A contact's page as `client` reads it.
async fn page_of(client: &Client, id: i64) -> Value {
    client
        .json("contact", &[("contact_id", &id.to_string())])
        .await
}

async fn update(client: &Client, id: i64, field: &str, value: &str) -> reqwest::Response {
    client
        .call(
            "update_contact",
            &[
                ("contact_id", &id.to_string()),
                ("field", field),
                ("value", value),
            ],
        )
        .await
}

async fn updated(client: &Client, id: i64, field: &str, value: &str) -> Value {
    let response = update(client, id, field, value).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{field} = {value}: {body}");
    body
}

async fn refused(client: &Client, id: i64, field: &str, value: &str) -> (StatusCode, Value) {
    let response = update(client, id, field, value).await;
    (response.status(), response.json().await.unwrap())
}

fn invalid(field: &str, problem: &str) -> Value {
    json!({"Invalid": {"field": field, "problem": problem}})
}

/// The list with this query (form fields of `ContactQuery`).
async fn list(client: &Client, query: &[(&str, &str)]) -> Value {
    let form: Vec<(String, &str)> = query
        .iter()
        .map(|(key, value)| (format!("query[{key}]"), *value))
        .collect();
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    client.json("contacts", &form).await
}

fn names(page: &Value) -> Vec<String> {
    page["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["first_name"].as_str().unwrap(),
                c["last_name"].as_str().unwrap()
            )
            .trim()
            .to_string()
        })
        .collect()
}

async fn contacts_are_listed_a_page_at_a_time_searched_and_filtered(backend: Backend) {
    let f = Fixture::new(backend).await;
    f.admin
        .json("save_default_country", &[("country", "mx")])
        .await;
    // 60 contacts: a page of 50, then the rest, in name order whatever the accents and case.
    for n in 0..58 {
        create(
            &f.admin,
            &format!("Cliente {n:02}"),
            "",
            "",
            &format!("c{n}@example.com"),
        )
        .await;
    }
    let lucia = create(&f.admin, "lucía", "Pérez", "55 1234 5678", "").await;
    let alvaro = create(&f.admin, "Álvaro", "Núñez", "", "alvaro@example.com").await;
    let first = list(&f.admin, &[]).await;
    assert_eq!(first["contacts"].as_array().unwrap().len(), 50);
    assert_eq!(first["has_more"], true);
    assert_eq!(
        names(&first)[0],
        "Álvaro Núñez",
        "accents sort with their letter"
    );
    let last = &first["contacts"][49];
    let cursor = last["cursor"].clone();
    let second = list(
        &f.admin,
        &[
            ("after_key", cursor[0].as_str().unwrap()),
            ("after_id", &cursor[1].to_string()),
        ],
    )
    .await;
    assert_eq!(second["has_more"], false);
    let rest = names(&second);
    assert_eq!(rest.len(), 10);
    assert_eq!(rest.last().unwrap(), "lucía Pérez");
    assert!(
        names(&first).iter().all(|n| !rest.contains(n)),
        "no row on both pages"
    );
    // Lucía's number shows as Mexico writes it.
    assert_eq!(second["contacts"][9]["phone"], "55 1234 5678");

    // Search: a number as typed, the company, the Facebook ID, an accent-less name.
    updated(&f.admin, lucia, "company", "Ferretería Andina").await;
    updated(&f.admin, alvaro, "facebook_id", "24681357").await;
    for (search, expected) in [
        ("1234 5678", "lucía Pérez"),
        ("andina", "lucía Pérez"),
        ("24681357", "Álvaro Núñez"),
        ("alvaro nu", "Álvaro Núñez"),
        // Each word anywhere, in any order.
        ("perez LUCIA", "lucía Pérez"),
        ("núñez álv", "Álvaro Núñez"),
        // A whole number or email is that one (not every one containing it).
        ("+52 55 1234 5678", "lucía Pérez"),
        ("C5@example.com", "Cliente 05"),
    ] {
        let found = list(&f.admin, &[("search", search)]).await;
        assert_eq!(names(&found), [expected], "searching {search:?}");
    }
    // Filters: the source, a conversation open now; the order of recent activity.
    let from_page = list(&f.admin, &[("created_from", "contacts")]).await;
    assert_eq!(from_page["contacts"].as_array().unwrap().len(), 50);
    assert!(
        list(&f.admin, &[("created_from", "whatsapp")]).await["contacts"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    updated(&f.admin, lucia, "whatsapp_phone", "+52 1 55 1234 5678").await;
    f.post_whatsapp(&text_from("5215512345678", "w.1", "hola"))
        .await;
    // Her conversation moves on now (a later message): she is the most recent.
    sqlx::query("UPDATE conversations SET last_message_at = $1")
        .bind(app::epoch::EpochMs::now().0 + 60_000)
        .execute(&f.db.pool)
        .await
        .unwrap();
    let open = list(&f.admin, &[("open_conversation", "true")]).await;
    assert_eq!(names(&open), ["lucía Pérez"]);
    let recent = list(&f.admin, &[("sort", "Activity")]).await;
    assert_eq!(names(&recent)[0], "lucía Pérez", "she wrote last");
    let cursor = recent["contacts"][49]["cursor"].clone();
    let older = list(
        &f.admin,
        &[
            ("sort", "Activity"),
            ("after_key", cursor[0].as_str().unwrap()),
            ("after_id", &cursor[1].to_string()),
        ],
    )
    .await;
    assert_eq!(older["contacts"].as_array().unwrap().len(), 10);
    f.stop().await;
}

async fn fields_are_edited_one_at_a_time_with_validation_and_history(backend: Backend) {
    let f = Fixture::new(backend).await;
    // Without a country, a number needs its prefix.
    let (status, error) = f
        .admin
        .error(
            "add_contact",
            &[
                ("first_name", "Marta"),
                ("last_name", ""),
                ("phone", "55 1234 5678"),
                ("email", ""),
                ("company", ""),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error, invalid("Phone", "Malformed"));
    // A first name and a way to reach them (R47).
    let (_, error) = f
        .admin
        .error(
            "add_contact",
            &[
                ("first_name", "Marta"),
                ("last_name", "Solís"),
                ("phone", ""),
                ("email", ""),
                ("company", "Andina"),
            ],
        )
        .await;
    assert_eq!(error, invalid("Contact", "Required"));
    let marta = create(&f.admin, "Marta", "Solís", "+52 55 1234 5678", "").await;

    let (status, error) = refused(&f.admin, marta, "first_name", "  ").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error, invalid("FirstName", "Required"));
    assert_eq!(
        refused(&f.admin, marta, "primary_phone", "hola").await.1,
        invalid("Phone", "Malformed")
    );
    assert_eq!(
        refused(&f.admin, marta, "primary_phone", "").await.1,
        invalid("Contact", "Required"),
        "her only way to be reached"
    );
    assert_eq!(
        refused(&f.admin, marta, "email", "marta@").await.1,
        invalid("Email", "Malformed")
    );
    assert_eq!(
        refused(&f.admin, marta, "password", "x").await.1,
        invalid("Contact", "Unknown")
    );
    f.admin
        .json("save_default_country", &[("country", "MX")])
        .await;
    let detail = updated(&f.admin, marta, "primary_phone", "(55) 8765-4321").await;
    assert_eq!(detail["contact"]["primary_phone"], "+525587654321");
    assert_eq!(detail["primary_display"], "55 8765 4321");
    updated(&f.admin, marta, "email", " Marta@Andina.MX ").await;
    let detail = updated(&f.admin, marta, "primary_phone", "").await;
    assert_eq!(
        detail["contact"]["primary_phone"],
        Value::Null,
        "the email reaches her"
    );
    let detail = updated(&f.admin, marta, "instagram_username", "@Marta.Solis").await;
    assert_eq!(detail["contact"]["instagram_username"], "marta.solis");
    assert_eq!(
        refused(&f.admin, marta, "instagram_username", "marta solís")
            .await
            .1,
        invalid("InstagramUsername", "Malformed")
    );
    // A WhatsApp number is one contact's.
    let jorge = create(&f.admin, "Jorge", "", "", "jorge@example.com").await;
    updated(&f.admin, jorge, "whatsapp_phone", "55 1111 2222").await;
    assert_eq!(
        refused(&f.admin, marta, "whatsapp_phone", "+52 1 55 1111 2222")
            .await
            .1,
        invalid("WhatsappPhone", "Taken")
    );
    // Secondary phones, with a label; the same number twice is refused.
    let detail = f
        .admin
        .json(
            "add_contact_phone",
            &[
                ("contact_id", &marta.to_string()),
                ("phone", "33 1234 0000"),
                ("label", "Oficina"),
            ],
        )
        .await;
    let phone = &detail["phones"][0];
    assert_eq!(phone["phone"], "+523312340000");
    assert_eq!(phone["label"], "Oficina");
    let (_, error) = f
        .admin
        .error(
            "add_contact_phone",
            &[
                ("contact_id", &marta.to_string()),
                ("phone", "+52 33 1234 0000"),
            ],
        )
        .await;
    assert_eq!(error, invalid("Phone", "Taken"));
    let detail = f
        .admin
        .json(
            "remove_contact_phone",
            &[
                ("contact_id", &marta.to_string()),
                ("phone_id", &phone["id"].to_string()),
            ],
        )
        .await;
    assert_eq!(detail["phones"], json!([]));
    // Saving what is there changes nothing and says nothing.
    updated(&f.admin, marta, "company", "Andina").await;
    let detail = updated(&f.admin, marta, "company", " Andina ").await;
    // The history: who changed what, from what to what, oldest first.
    let history: Vec<(String, Option<String>, Value, Value)> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["field"].as_str().map(str::to_string),
                e["old_value"].clone(),
                e["new_value"].clone(),
            )
        })
        .collect();
    let kinds: Vec<&str> = history.iter().map(|(k, ..)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "changed",
            "changed",
            "changed",
            "changed",
            "phone_added",
            "phone_removed",
            "changed"
        ],
        "{history:?}"
    );
    assert_eq!(
        history[1],
        (
            "changed".into(),
            Some("primary_phone".into()),
            json!("+525512345678"),
            json!("+525587654321")
        )
    );
    assert_eq!(history[7].3, json!("Andina"));
    assert!(detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["who"] == "Ana Admin"));
    f.stop().await;
}

async fn roles_decide_who_sees_edits_gives_away_and_deletes(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (seller, editor) = seller_and_editor(&f).await;
    let seller_id = seller.me().await["id"].as_i64().unwrap();
    let mine = create(&seller, "Sonia", "", "", "sonia@example.com").await;
    let theirs = create(&f.admin, "Tomás", "", "", "tomas@example.com").await;
    // A seller lists, opens and edits their own contacts only.
    assert_eq!(names(&list(&seller, &[]).await), ["Sonia"]);
    let (status, _) = seller
        .error("contact", &[("contact_id", &theirs.to_string())])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        refused(&seller, theirs, "company", "X").await.0,
        StatusCode::NOT_FOUND
    );
    let detail = updated(&seller, mine, "company", "Sonia SA").await;
    assert_eq!(detail["may_edit"], true);
    assert_eq!(detail["may_manage"], false);
    assert_eq!(detail["owners"], json!([]));
    // …nor gives it away, nor deletes it.
    assert_eq!(
        refused(&seller, mine, "owner_id", &seller_id.to_string())
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (status, _) = seller
        .error("delete_contact", &[("contact_id", &mine.to_string())])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A conversation given to them brings its contact within reach.
    updated(&f.admin, theirs, "whatsapp_phone", "+52 55 4444 3333").await;
    f.post_whatsapp(&text_from("5215544443333", "w.9", "hola"))
        .await;
    sqlx::query("UPDATE conversations SET assignee_id = $1")
        .bind(seller_id)
        .execute(&f.db.pool)
        .await
        .unwrap();
    let detail = page_of(&seller, theirs).await;
    assert_eq!(detail["conversations"].as_array().unwrap().len(), 1);
    assert_eq!(names(&list(&seller, &[]).await), ["Sonia", "Tomás"]);

    // An editor keeps every contact without the inbox: lists, edits, gives away, deletes.
    assert_eq!(names(&list(&editor, &[]).await), ["Sonia", "Tomás"]);
    let detail = updated(&editor, mine, "company", "Sonia y Asociados").await;
    assert_eq!(detail["may_manage"], true);
    assert!(
        detail["conversations"].as_array().unwrap().is_empty(),
        "no conversations without the inbox"
    );
    let admin_id = f.admin.me().await["id"].as_i64().unwrap();
    let detail = updated(&editor, mine, "owner_id", &admin_id.to_string()).await;
    assert_eq!(detail["contact"]["owner_id"], admin_id);
    assert_eq!(
        detail["history"].as_array().unwrap().last().unwrap()["new_value"],
        "Ana Admin"
    );
    assert_eq!(
        refused(&editor, mine, "owner_id", "999999").await.1,
        invalid("Owner", "Unknown")
    );
    // Given away, the seller no longer reaches it.
    assert_eq!(names(&list(&seller, &[]).await), ["Tomás"]);
    editor
        .json("delete_contact", &[("contact_id", &theirs.to_string())])
        .await;
    let (contact,): (Option<i64>,) = sqlx::query_as("SELECT contact_id FROM conversations")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    assert_eq!(contact, None, "the conversation stays, without its contact");
    assert_eq!(names(&list(&editor, &[]).await), ["Sonia"]);
    // Only who manages settings chooses the organization's country.
    let (status, _) = editor
        .error("save_default_country", &[("country", "AR")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, error) = f
        .admin
        .error("save_default_country", &[("country", "XX")])
        .await;
    assert_eq!(error, invalid("Country", "Unknown"));
    f.stop().await;
}

async fn whatsapp_customers_are_linked_by_their_number_in_any_form(backend: Backend) {
    let f = Fixture::new(backend).await;
    f.admin
        .json("save_default_country", &[("country", "MX")])
        .await;
    // Typed the way a person in Mexico writes it; WhatsApp writes the same mobile `521…`.
    let paula = create(&f.admin, "Paula", "Gómez", "", "paula@example.com").await;
    updated(&f.admin, paula, "whatsapp_phone", "55 9999 0000").await;
    f.post_whatsapp(&text_from("5215599990000", "w.1", "¿Tienen envío?"))
        .await;
    let (linked,): (Option<i64>,) = sqlx::query_as("SELECT contact_id FROM conversations")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    assert_eq!(linked, Some(paula));
    let detail = page_of(&f.admin, paula).await;
    let conversation = &detail["conversations"][0];
    assert_eq!(conversation["channel"], "whatsapp");
    assert_eq!(conversation["open"], true);
    assert_eq!(conversation["preview"], "¿Tienen envío?");
    // Her last activity follows her conversation's newest message (never backwards: the
    // message above was sent before she was created here).
    let activity = || async {
        let (activity, at): (i64, i64) = sqlx::query_as(
            "SELECT c.last_activity_at, v.last_message_at FROM contacts c \
             JOIN conversations v ON v.contact_id = c.id",
        )
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
        (activity, at)
    };
    let (before, at) = activity().await;
    assert!(before > at);
    sqlx::query("UPDATE conversations SET last_message_at = $1")
        .bind(before + 5_000)
        .execute(&f.db.pool)
        .await
        .unwrap();
    assert_eq!(activity().await, (before + 5_000, before + 5_000));
    // A contact made from a conversation takes the number in E.164, and says where it came
    // from.
    f.post_whatsapp(&text_from("5491155556666", "w.2", "hola"))
        .await;
    let (conversation_id,): (i64,) =
        sqlx::query_as("SELECT id FROM conversations WHERE customer_key = '5491155556666'")
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
    let made = f
        .admin
        .json(
            "create_contact",
            &[
                ("conversation_id", &conversation_id.to_string()),
                ("contact[first_name]", "Martín"),
                ("contact[last_name]", "Gómez"),
                ("contact[consent]", "true"),
            ],
        )
        .await;
    assert_eq!(made["whatsapp_phone"], "+5491155556666");
    let detail = page_of(&f.admin, made["id"].as_i64().unwrap()).await;
    assert_eq!(detail["created_from"], "whatsapp");
    assert_eq!(detail["history"][0]["kind"], "created");
    // Linking a Messenger conversation to her stores the Facebook ID she wrote from (R27).
    let page = json!({"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": [
        {"sender": {"id": "24681357"}, "recipient": {"id": PAGE},
         "timestamp": 1_760_000_000_000_i64, "message": {"mid": "m_1", "text": "hola"}}]}]});
    assert_eq!(
        f.post_meta("messenger", &page, Some(APP_SECRET)).await,
        StatusCode::OK
    );
    let (messenger,): (i64,) =
        sqlx::query_as("SELECT id FROM conversations WHERE customer_key = '24681357'")
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
    let linked = f
        .admin
        .json(
            "link_contact",
            &[
                ("conversation_id", &messenger.to_string()),
                ("contact_id", &paula.to_string()),
            ],
        )
        .await;
    assert_eq!(linked["facebook_id"], "24681357");
    let detail = page_of(&f.admin, paula).await;
    let learned = detail["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (
            learned["kind"].as_str(),
            learned["field"].as_str(),
            learned["who"].as_str()
        ),
        (Some("learned"), Some("facebook_id"), Some("Ana Admin"))
    );
    f.stop().await;
}

/// A conversation's contact, if it has one.
async fn contact_of(f: &Fixture, customer: &str) -> Option<i64> {
    let (contact,): (Option<i64>,) =
        sqlx::query_as("SELECT contact_id FROM conversations WHERE customer_key = $1")
            .bind(customer)
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
    contact
}

async fn account(f: &Fixture, external_id: &str) -> String {
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM accounts WHERE external_id = $1")
        .bind(external_id)
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    id.to_string()
}

/// A message from `customer` (with a profile name) on WhatsApp line `line`.
fn message_on(line: &str, customer: &str, name: &str, id: &str) -> Value {
    whatsapp(
        line,
        json!({
            "contacts": [{"profile": {"name": name}, "wa_id": customer}],
            "messages": [{"from": customer, "id": id, "timestamp": "1760000000", "type": "text",
                          "text": {"body": "hola"}}]
        }),
    )
}

/// R26, R28, R46: a customer who writes is linked to the contact with their number (its
/// WhatsApp phone, else its primary or a secondary phone, which then becomes its WhatsApp
/// phone), or gets one made, or neither, as each line says.
async fn each_line_links_or_creates_the_contacts_of_new_conversations(backend: Backend) {
    let f = Fixture::new(backend).await;
    f.admin
        .json("save_default_country", &[("country", "MX")])
        .await;
    let by_primary = create(&f.admin, "Ana", "Primaria", "55 2222 3333", "").await;
    let by_secondary = create(&f.admin, "Beto", "Secundario", "", "beto@example.com").await;
    f.admin
        .json(
            "add_contact_phone",
            &[
                ("contact_id", &by_secondary.to_string()),
                ("phone", "+52 55 4444 5555"),
            ],
        )
        .await;
    f.post_whatsapp(&message_on(LINE, "5215522223333", "Ana P.", "w.1"))
        .await;
    f.post_whatsapp(&message_on(LINE, "5215544445555", "Beto S.", "w.2"))
        .await;
    assert_eq!(contact_of(&f, "5215522223333").await, Some(by_primary));
    assert_eq!(contact_of(&f, "5215544445555").await, Some(by_secondary));
    let detail = page_of(&f.admin, by_primary).await;
    assert_eq!(detail["contact"]["whatsapp_phone"], "+525522223333");
    let learned = detail["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(learned["kind"], "learned");
    assert_eq!(learned["field"], "whatsapp_phone");
    assert_eq!(
        learned["who"],
        Value::Null,
        "Buzón learned it, not a person"
    );
    let detail = page_of(&f.admin, by_secondary).await;
    assert_eq!(detail["contact"]["whatsapp_phone"], "+525544445555");

    // The business wrote first to a primary phone; the number that answers is learned too.
    let colombian = create(&f.admin, "Camilo", "Ruiz", "+57 300 123 4567", "").await;
    let line_id = account(&f, LINE).await;
    f.admin
        .json(
            "start_conversation",
            &[
                ("contact_id", &colombian.to_string()),
                ("account_id", &line_id),
            ],
        )
        .await;
    f.post_whatsapp(&message_on(LINE, "573001234567", "Camilo", "w.3"))
        .await;
    assert_eq!(contact_of(&f, "573001234567").await, Some(colombian));
    let detail = page_of(&f.admin, colombian).await;
    assert_eq!(detail["contact"]["whatsapp_phone"], "+573001234567");

    // Off: nobody is linked; create: a contact is made from the profile.
    let (status, error) = f
        .admin
        .error("set_contact_mode", &[("id", &line_id), ("mode", "always")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error, invalid("Contact", "Unknown"));
    f.admin
        .json("set_contact_mode", &[("id", &line_id), ("mode", "off")])
        .await;
    let known = create(&f.admin, "Dora", "", "55 6666 7777", "").await;
    f.post_whatsapp(&message_on(LINE, "5215566667777", "Dora", "w.4"))
        .await;
    assert_eq!(contact_of(&f, "5215566667777").await, None);
    let second = account(&f, "L2").await;
    f.admin
        .json("set_contact_mode", &[("id", &second), ("mode", "create")])
        .await;
    f.post_whatsapp(&message_on("L2", "5215588889999", "Rocío Luna", "w.5"))
        .await;
    let made = contact_of(&f, "5215588889999")
        .await
        .expect("a contact made");
    let detail = page_of(&f.admin, made).await;
    assert_eq!(detail["contact"]["first_name"], "Rocío");
    assert_eq!(detail["contact"]["last_name"], "Luna");
    assert_eq!(detail["contact"]["whatsapp_phone"], "+525588889999");
    assert_eq!(detail["created_from"], "whatsapp");
    // On the line that creates, a known number is linked, not made again.
    f.post_whatsapp(&message_on("L2", "5215566667777", "Dora", "w.6"))
        .await;
    let (linked,): (Option<i64>,) = sqlx::query_as(
        "SELECT v.contact_id FROM conversations v JOIN accounts a ON a.id = v.account_id \
         WHERE a.external_id = 'L2' AND v.customer_key = '5215566667777'",
    )
    .fetch_one(&f.db.pool)
    .await
    .unwrap();
    assert_eq!(linked, Some(known));
    let accounts = f.admin.json("accounts", &[]).await;
    let modes: Vec<&str> = accounts["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["external_id"] == LINE || a["external_id"] == "L2")
        .map(|a| a["contact_mode"].as_str().unwrap())
        .collect();
    assert!(
        modes.contains(&"Off") && modes.contains(&"CreateAndAssociate"),
        "{modes:?}"
    );
    f.stop().await;
}

async fn edits_reach_the_open_screens_of_those_who_may_see_the_contact(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (seller, editor) = seller_and_editor(&f).await;
    let hers = create(&seller, "Sonia", "", "", "sonia@example.com").await;
    let theirs = create(&f.admin, "Tomás", "", "", "tomas@example.com").await;
    // The Contacts page follows the notices alone; an editor, without the inbox, may too, but
    // not the inbox's whole stream.
    let mut admin_page = open_with(&f.admin, "only=notices").await.unwrap();
    let mut editor_page = open_with(&editor, "only=notices").await.unwrap();
    assert!(
        open_with(&editor, "").await.is_err(),
        "no inbox stream for an editor"
    );
    let mut seller_inbox = open_with(&seller, "after=0").await.unwrap();
    let quiet = Duration::from_millis(400);
    let wait = Duration::from_secs(5);
    tokio::time::sleep(Duration::from_millis(100)).await;

    updated(&editor, theirs, "company", "Tomás SA").await;
    let told = json!({"contact": theirs});
    assert_eq!(next_event(&mut admin_page, wait).await, Some(told.clone()));
    assert_eq!(next_event(&mut editor_page, wait).await, Some(told));
    assert_eq!(
        next_event(&mut seller_inbox, quiet).await,
        None,
        "a seller is not told of a contact out of reach"
    );
    // Saving what is stored changes nothing and tells nobody.
    updated(&editor, theirs, "company", "Tomás SA").await;
    assert_eq!(next_event(&mut admin_page, quiet).await, None);

    // Her own contact's changes reach the seller's inbox (its panel), a phone added too.
    seller
        .json(
            "add_contact_phone",
            &[
                ("contact_id", &hers.to_string()),
                ("phone", "+52 55 1111 2222"),
                ("label", "Oficina"),
            ],
        )
        .await;
    let told = json!({"contact": hers});
    assert_eq!(
        next_event(&mut seller_inbox, wait).await,
        Some(told.clone())
    );
    assert_eq!(next_event(&mut admin_page, wait).await, Some(told));
    f.stop().await;
}

/// A WhatsApp text of now from `customer` on the first line.
fn text_now(customer: &str, id: &str, text: &str) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    whatsapp(
        LINE,
        json!({
            "contacts": [{"profile": {"name": "Lucía Pérez"}, "wa_id": customer}],
            "messages": [{"from": customer, "id": id, "timestamp": now, "type": "text",
                          "text": {"body": text}}]
        }),
    )
}

async fn define(client: &Client, name: &str, kind: &str, options: &str) -> Value {
    client
        .json(
            "save_contact_field",
            &[("name", name), ("kind", kind), ("options", options)],
        )
        .await
}

async fn set_value(
    client: &Client,
    contact: i64,
    field: &Value,
    value: &str,
) -> (StatusCode, Value) {
    let response = client
        .call(
            "set_contact_value",
            &[
                ("contact_id", &contact.to_string()),
                ("field_id", &field["id"].to_string()),
                ("value", value),
            ],
        )
        .await;
    (response.status(), response.json().await.unwrap())
}

/// The contact's value of the custom field named `name`, as its page gives it.
fn value_of(page: &Value, name: &str) -> Value {
    page["custom"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["field"]["name"] == name)
        .map(|v| v["value"].clone())
        .unwrap()
}

async fn custom_fields_hold_their_kind_and_fill_personalize(backend: Backend) {
    let f = Fixture::new(backend).await;
    let seller = f
        .server
        .invite_and_accept(&f.admin, "sergio@andinas.example", "seller")
        .await;
    // Only who manages settings defines them.
    let (status, _) = seller
        .error(
            "save_contact_field",
            &[("name", "Nivel"), ("kind", "text"), ("options", "")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let client_id = define(&f.admin, "Número de cliente", "id", "").await;
    assert_eq!(client_id["key"], "numero_de_cliente");
    let budget = define(&f.admin, "Presupuesto", "number", "").await;
    let birthday = define(&f.admin, "Cumpleaños", "date", "").await;
    let level = define(&f.admin, "Nivel", "choice", "Oro\nPlata\n\nOro").await;
    assert_eq!(level["options"], json!(["Oro", "Plata"]));
    let interests = define(&f.admin, "Intereses", "choices", "Sofás\nMesas\nSillas").await;
    for (name, kind, options, error) in [
        ("nivel", "text", "", invalid("FieldName", "Taken")),
        ("Email", "text", "", invalid("FieldName", "Taken")),
        ("Color", "choice", " \n ", invalid("Options", "Required")),
        ("Color", "colour", "", invalid("FieldType", "Unknown")),
    ] {
        let (status, body) = f
            .admin
            .error(
                "save_contact_field",
                &[("name", name), ("kind", kind), ("options", options)],
            )
            .await;
        assert_eq!(
            (status, body),
            (StatusCode::UNPROCESSABLE_ENTITY, error),
            "{name}"
        );
    }
    let fields = seller.json("contact_fields", &[]).await;
    assert_eq!(fields.as_array().unwrap().len(), 5, "a seller reads them");

    // Each value as its kind reads it; a refused one changes nothing.
    let lucia = create(&seller, "Lucía", "Pérez", "", "lucia@example.com").await;
    let jorge = create(&f.admin, "Jorge", "", "", "jorge@example.com").await;
    let (status, page) = set_value(&seller, lucia, &budget, "1.234,50").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(value_of(&page, "Presupuesto"), "1234.50");
    for (field, value, error) in [
        (&budget, "mucho", invalid("CustomValue", "Malformed")),
        (&birthday, "2023-02-29", invalid("CustomValue", "Malformed")),
        (&level, "Bronce", invalid("CustomValue", "Unknown")),
        (
            &interests,
            "Mesas\nCamas",
            invalid("CustomValue", "Unknown"),
        ),
    ] {
        assert_eq!(
            set_value(&seller, lucia, field, value).await,
            (StatusCode::UNPROCESSABLE_ENTITY, error),
            "{value}"
        );
    }
    set_value(&seller, lucia, &birthday, "1990-05-17").await;
    set_value(&seller, lucia, &level, "Oro").await;
    let (_, page) = set_value(&seller, lucia, &interests, "Sillas\nSofás").await;
    assert_eq!(
        value_of(&page, "Intereses"),
        "Sofás\nSillas",
        "in the field's order"
    );
    assert_eq!(value_of(&page, "Cumpleaños"), "1990-05-17");
    let last = page["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (&last["field"], &last["new_value"]),
        (&json!("Intereses"), &json!("Sofás, Sillas"))
    );
    // An ID belongs to one contact of the organization.
    let (status, _) = set_value(&seller, lucia, &client_id, "C-0042").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        set_value(&f.admin, jorge, &client_id, " C-0042 ").await,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            invalid("CustomValue", "Taken")
        )
    );
    // A seller sets values only on contacts within reach.
    assert_eq!(
        set_value(&seller, jorge, &level, "Oro").await.0,
        StatusCode::NOT_FOUND
    );
    // Cleared, the ID is free again.
    set_value(&seller, lucia, &client_id, "").await;
    let (status, page) = set_value(&f.admin, jorge, &client_id, "C-0042").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(value_of(&page, "Número de cliente"), "C-0042");

    // Personalize fills them from the conversation's contact, by their keys.
    set_value(&f.admin, jorge, &level, "Plata").await;
    updated(&f.admin, jorge, "whatsapp_phone", "+52 55 4444 3333").await;
    f.post_whatsapp(&text_now("5215544443333", "w.custom", "hola"))
        .await;
    let (conversation,): (i64,) = sqlx::query_as("SELECT id FROM conversations")
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    let sent = f
        .admin
        .json(
            "send_text",
            &[
                ("conversation_id", &conversation.to_string()),
                (
                    "body",
                    "{first_name}: cliente {numero_de_cliente}, nivel {nivel}, {cumpleanos}.",
                ),
            ],
        )
        .await;
    assert_eq!(sent["body"], "Jorge: cliente C-0042, nivel Plata, .");

    // Renamed, a field keeps its values; deleted, its values go with it.
    let renamed = f
        .admin
        .json(
            "save_contact_field",
            &[
                ("field_id", &level["id"].to_string()),
                ("name", "Categoría"),
                ("kind", "text"),
                ("options", "Oro\nPlata\nBronce"),
            ],
        )
        .await;
    assert_eq!(
        (&renamed["kind"], &renamed["key"]),
        (&json!("Choice"), &json!("categoria"))
    );
    assert_eq!(
        value_of(&page_of(&f.admin, jorge).await, "Categoría"),
        "Plata"
    );
    f.admin
        .json(
            "delete_contact_field",
            &[("field_id", &level["id"].to_string())],
        )
        .await;
    let (left,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM contact_field_values WHERE field_id = $1")
            .bind(level["id"].as_i64().unwrap())
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
    assert_eq!(left, 0);
    f.stop().await;
}

/// The ids of the contacts `page` offers as possible duplicates, with why.
fn duplicates(page: &Value) -> Vec<(i64, String)> {
    page["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["id"].as_i64().unwrap(),
                d["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn add_phone(client: &Client, contact: i64, phone: &str) -> Value {
    client
        .json(
            "add_contact_phone",
            &[
                ("contact_id", &contact.to_string()),
                ("phone", phone),
                ("label", ""),
            ],
        )
        .await
}

async fn merge(client: &Client, kept: i64, merged: i64, taken: &str) -> reqwest::Response {
    client
        .call(
            "merge_contacts",
            &[
                ("kept_id", &kept.to_string()),
                ("merged_id", &merged.to_string()),
                ("taken", taken),
            ],
        )
        .await
}

async fn duplicates_are_found_as_contacts_change_and_merged_with_undo(backend: Backend) {
    let f = Fixture::new(backend).await;
    let (seller, _) = seller_and_editor(&f).await;
    f.admin
        .json("save_default_country", &[("country", "MX")])
        .await;
    let jorge = create(&f.admin, "Jorge", "Ramírez", "55 1111 2222", "").await;
    let luis = create(&f.admin, "Jorge Luis", "Ramirez", "55 3333 4444", "").await;
    assert!(duplicates(&page_of(&f.admin, jorge).await).is_empty());
    // A number in common makes them possible duplicates, both ways; removing it, not any more.
    let page = add_phone(&f.admin, luis, "+52 55 1111 2222").await;
    assert_eq!(duplicates(&page), [(jorge, "Phone".to_string())]);
    assert_eq!(
        duplicates(&page_of(&f.admin, jorge).await),
        [(luis, "Phone".to_string())]
    );
    assert_eq!(
        names(&list(&f.admin, &[("duplicates", "true")]).await).len(),
        2
    );
    let phone_id = page["phones"][0]["id"].to_string();
    f.admin
        .json(
            "remove_contact_phone",
            &[("contact_id", &luis.to_string()), ("phone_id", &phone_id)],
        )
        .await;
    assert!(duplicates(&page_of(&f.admin, jorge).await).is_empty());
    assert!(names(&list(&f.admin, &[("duplicates", "true")]).await).is_empty());
    add_phone(&f.admin, luis, "55 1111 2222").await;

    // The same name counts with the same company, written either way; said to be two people,
    // they are not offered again whatever changes.
    let marta = create(&f.admin, "Marta", "Solís", "", "marta@example.com").await;
    let other_marta = create(&f.admin, "marta", "solis", "", "msolis@example.com").await;
    assert!(
        duplicates(&page_of(&f.admin, marta).await).is_empty(),
        "a name alone"
    );
    updated(&f.admin, marta, "company", "Muebles Sol").await;
    let page = updated(&f.admin, other_marta, "company", "muebles sol.").await;
    assert_eq!(duplicates(&page), [(marta, "Name".to_string())]);
    let (status, _) = seller
        .error(
            "dismiss_duplicate",
            &[
                ("contact_id", &marta.to_string()),
                ("other_id", &other_marta.to_string()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    f.admin
        .json(
            "dismiss_duplicate",
            &[
                ("contact_id", &marta.to_string()),
                ("other_id", &other_marta.to_string()),
            ],
        )
        .await;
    updated(&f.admin, marta, "email", "marta.solis@example.com").await;
    assert!(duplicates(&page_of(&f.admin, other_marta).await).is_empty());

    // Luis has a customer number and a WhatsApp conversation.
    let client_id = define(&f.admin, "Número de cliente", "id", "").await;
    set_value(&f.admin, luis, &client_id, "C-7").await;
    updated(&f.admin, luis, "email", "luis@example.com").await;
    f.post_whatsapp(&text_from("5215533334444", "w.luis", "hola"))
        .await;
    let conversation_contact = || async {
        let (contact,): (Option<i64>,) = sqlx::query_as("SELECT contact_id FROM conversations")
            .fetch_one(&f.db.pool)
            .await
            .unwrap();
        contact
    };
    assert_eq!(conversation_contact().await, Some(luis));

    // Only who keeps the CRM merges.
    assert_eq!(
        merge(&seller, jorge, luis, "").await.status(),
        StatusCode::FORBIDDEN
    );
    let response = merge(
        &f.admin,
        jorge,
        luis,
        &format!("email,custom:{}", client_id["id"]),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.unwrap();
    assert_eq!(page["contact"]["id"], jorge);
    assert_eq!(
        page["contact"]["first_name"], "Jorge",
        "the kept name stays"
    );
    assert_eq!(page["contact"]["email"], "luis@example.com");
    assert_eq!(value_of(&page, "Número de cliente"), "C-7");
    let others: Vec<&str> = page["phones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phone"].as_str().unwrap())
        .collect();
    assert_eq!(
        others,
        ["+525533334444"],
        "Luis's number is kept as another phone"
    );
    assert!(duplicates(&page).is_empty());
    assert_eq!(page["merges"].as_array().unwrap().len(), 1);
    assert_eq!(
        page["history"].as_array().unwrap().last().unwrap()["kind"],
        "merged"
    );
    assert_eq!(conversation_contact().await, Some(jorge));
    // The merged contact's old link leads to the one kept; lists and searches no longer have it.
    assert_eq!(page_of(&f.admin, luis).await["contact"]["id"], jorge);
    assert!(!names(&list(&f.admin, &[]).await).contains(&"Jorge Luis Ramirez".to_string()));
    // A number of the merged contact now finds the contact kept.
    let found = f
        .admin
        .json("search_contacts", &[("query", "55 3333 4444")])
        .await;
    assert_eq!(found[0]["id"], jorge);

    // Undone: each has its own again.
    let merge_id = page["merges"][0]["id"].to_string();
    let page = f.admin.json("undo_merge", &[("merge_id", &merge_id)]).await;
    assert_eq!(page["contact"]["email"], Value::Null);
    assert!(page["phones"].as_array().unwrap().is_empty());
    assert_eq!(value_of(&page, "Número de cliente"), Value::Null);
    assert_eq!(duplicates(&page), [(luis, "Phone".to_string())]);
    let luis_page = page_of(&f.admin, luis).await;
    assert_eq!(luis_page["contact"]["id"], luis);
    assert_eq!(value_of(&luis_page, "Número de cliente"), "C-7");
    assert_eq!(luis_page["contact"]["email"], "luis@example.com");
    assert_eq!(conversation_contact().await, Some(luis));
    let (status, error) = f
        .admin
        .error("undo_merge", &[("merge_id", &merge_id)])
        .await;
    assert_eq!(
        (status, error),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            invalid("Contact", "Expired")
        )
    );

    // Merged again, then the contact kept is deleted: the merged one goes with it, the
    // conversation stays.
    assert_eq!(
        merge(&f.admin, jorge, luis, "").await.status(),
        StatusCode::OK
    );
    f.admin
        .json("delete_contact", &[("contact_id", &jorge.to_string())])
        .await;
    assert_eq!(conversation_contact().await, None);
    let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM contacts WHERE id IN ($1, $2)")
        .bind(jorge)
        .bind(luis)
        .fetch_one(&f.db.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    f.stop().await;
}
