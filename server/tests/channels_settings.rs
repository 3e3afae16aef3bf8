//! Connecting accounts from the settings page: admins only, credentials sealed and never sent
//! back, bound only once the provider (the sandbox) answers for them with the token given, at
//! most ten WhatsApp lines, the connection test, disconnection keeping history.

mod common;

use common::pair::{Pair, ACCESS_TOKEN, APP_SECRET};
use common::Backend;
use reqwest::StatusCode;
use sandbox::world::Line;
use serde_json::{json, Value};

on_both_databases!(
    an_admin_connects_a_line_whose_secrets_never_come_back,
    missing_credentials_and_other_roles_are_refused,
    an_organization_has_at_most_ten_whatsapp_lines,
    the_connection_test_calls_the_provider_and_edits_keep_unsent_secrets,
    a_line_is_bound_only_when_the_provider_answers_for_it_with_the_token_given,
);

/// Gives the sandbox's business more WhatsApp lines (the provider knows them, and the
/// sandbox's token reaches them).
fn provider_has_lines(pair: &Pair, ids: &[&str]) {
    let mut world = pair.sandbox.lock().unwrap();
    for id in ids {
        world.lines.push(Line {
            phone_number_id: id.to_string(),
            display_phone_number: format!("52{id}"),
            verified_name: format!("Línea {id}"),
        });
    }
}

fn whatsapp_form<'a>(external_id: &'a str, token: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("channel", "whatsapp"),
        ("name", "Ventas norte"),
        ("external_id", external_id),
        ("handle", "+52 55 1234 5678"),
        ("business_id", "102290129340398"),
        ("access_token", token),
        ("app_secret", APP_SECRET),
        ("verify_token", "verificame"),
    ]
}

async fn an_admin_connects_a_line_whose_secrets_never_come_back(backend: Backend) {
    let pair = Pair::start(backend).await;
    provider_has_lines(&pair, &["555000111222"]);
    let saved = pair
        .admin
        .json("save_account", &whatsapp_form("555000111222", ACCESS_TOKEN))
        .await;
    assert_eq!(saved["name"], "Ventas norte");
    assert_eq!(saved["has_access_token"], true);
    let listed = pair.admin.json("accounts", &[]).await;
    let text = listed.to_string();
    assert!(!text.contains(ACCESS_TOKEN) && !text.contains(APP_SECRET));
    assert!(listed["webhook_base"]
        .as_str()
        .unwrap()
        .ends_with("/webhooks"));
    let (sealed,): (Vec<u8>,) =
        sqlx::query_as("SELECT secrets FROM accounts WHERE external_id = '555000111222'")
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    assert!(
        !sealed
            .windows(ACCESS_TOKEN.len())
            .any(|w| w == ACCESS_TOKEN.as_bytes()),
        "sealed at rest"
    );

    let id = saved["id"].as_i64().unwrap().to_string();
    pair.admin.json("disconnect_account", &[("id", &id)]).await;
    let listed = pair.admin.json("accounts", &[]).await;
    let line = listed["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["external_id"] == "555000111222")
        .unwrap()
        .clone();
    assert_eq!(line["connected"], false);
    pair.stop().await;
}

async fn missing_credentials_and_other_roles_are_refused(backend: Backend) {
    let pair = Pair::start(backend).await;
    let mut form = whatsapp_form("555000111333", "");
    form.retain(|(k, _)| *k != "access_token");
    let (status, error) = pair.admin.error("save_account", &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error,
        json!({"Invalid": {"field": "AccessToken", "problem": "Required"}})
    );
    let (status, error) = pair
        .admin
        .error("save_account", &whatsapp_form("not-a-number", "t"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error,
        json!({"Invalid": {"field": "ExternalId", "problem": "Malformed"}})
    );

    let seller = pair
        .server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "seller")
        .await;
    let (status, _) = seller.error("accounts", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = seller
        .error("save_account", &whatsapp_form("555000111444", "t"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        pair.count("SELECT COUNT(*) FROM accounts WHERE external_id LIKE '555000111%'")
            .await,
        0
    );
    pair.stop().await;
}

async fn an_organization_has_at_most_ten_whatsapp_lines(backend: Backend) {
    // The sandbox pair already connected two lines.
    let pair = Pair::start(backend).await;
    let ids: Vec<String> = (0..8).map(|n| format!("55500020000{n}")).collect();
    let mut all: Vec<&str> = ids.iter().map(String::as_str).collect();
    all.push("555000299999");
    provider_has_lines(&pair, &all);
    for id in &ids {
        pair.admin
            .json("save_account", &whatsapp_form(id, ACCESS_TOKEN))
            .await;
    }
    let (status, error) = pair
        .admin
        .error("save_account", &whatsapp_form("555000299999", ACCESS_TOKEN))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Account", "problem": {"TooMany": {"max": 10}}}})
    );
    // Saving a connected line again is an edit, not an eleventh line.
    pair.admin
        .json("save_account", &whatsapp_form("555000200001", ACCESS_TOKEN))
        .await;
    // Disconnecting one frees its place.
    let (id,): (i64,) =
        sqlx::query_as("SELECT id FROM accounts WHERE external_id = '555000200000'")
            .fetch_one(&pair.db.pool)
            .await
            .unwrap();
    pair.admin
        .json("disconnect_account", &[("id", &id.to_string())])
        .await;
    pair.admin
        .json("save_account", &whatsapp_form("555000299999", ACCESS_TOKEN))
        .await;
    // ...and reconnecting the disconnected one would take an eleventh place.
    let (status, error) = pair
        .admin
        .error("save_account", &whatsapp_form("555000200000", ACCESS_TOKEN))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["Invalid"]["problem"]["TooMany"]["max"], 10);
    assert_eq!(
        pair.count(
            "SELECT COUNT(*) FROM accounts WHERE channel = 'whatsapp' AND status = 'connected'"
        )
        .await,
        10
    );
    pair.stop().await;
}

async fn the_connection_test_calls_the_provider_and_edits_keep_unsent_secrets(backend: Backend) {
    let pair = Pair::start(backend).await;
    let line = pair.sandbox.lock().unwrap().lines[0]
        .phone_number_id
        .clone();
    let listed = pair.admin.json("accounts", &[]).await;
    let account: Value = listed["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["external_id"] == line.as_str())
        .unwrap()
        .clone();
    let id = account["id"].as_i64().unwrap().to_string();
    let name = pair.admin.json("test_account", &[("id", &id)]).await;
    assert_eq!(name, "Ventas Sandbox");

    // A wrong token: the provider's own refusal, translated, and nothing saved.
    let edit = |token: &'static str| {
        vec![
            ("id", id.clone()),
            ("channel", "whatsapp".to_string()),
            ("name", "Ventas".to_string()),
            ("external_id", line.clone()),
            ("access_token", token.to_string()),
        ]
    };
    let form = edit("wrong-token");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, error) = pair.admin.error("save_account", &form).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(error["Provider"]["code"], "190");
    assert_eq!(
        pair.admin.json("test_account", &[("id", &id)]).await,
        "Ventas Sandbox",
        "the stored token is untouched"
    );

    // Saving without a token keeps the stored one; the app secret was never resent either.
    let form = edit("");
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pair.admin.json("save_account", &form).await;
    assert_eq!(
        pair.admin.json("test_account", &[("id", &id)]).await,
        "Ventas Sandbox"
    );
    // The provider stops accepting the token: the test says so.
    pair.sandbox.lock().unwrap().settings.access_token = "rotated".into();
    let (status, error) = pair.admin.error("test_account", &[("id", &id)]).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(error["Provider"]["code"], "190");
    pair.sandbox.lock().unwrap().settings.access_token = ACCESS_TOKEN.into();
    // Webhooks still verify with the untouched app secret.
    pair.customer_sends(json!({"channel": "whatsapp", "text": "¿siguen ahí?"}))
        .await;
    pair.stop().await;
}

/// Nobody binds a Page or number their token does not reach: the provider is asked first,
/// and only what it answers for is stored; one already bound elsewhere is said to be taken.
async fn a_line_is_bound_only_when_the_provider_answers_for_it_with_the_token_given(
    backend: Backend,
) {
    let pair = Pair::start(backend).await;
    // A number the provider does not know for this business, with a valid token.
    let (status, error) = pair
        .admin
        .error("save_account", &whatsapp_form("555000777000", ACCESS_TOKEN))
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(error["Provider"]["code"], "100");
    // A number the provider knows, with someone else's token.
    provider_has_lines(&pair, &["555000777001"]);
    let (_, error) = pair
        .admin
        .error(
            "save_account",
            &whatsapp_form("555000777001", "token-ajeno"),
        )
        .await;
    assert_eq!(error["Provider"]["code"], "190");
    assert_eq!(
        pair.count("SELECT COUNT(*) FROM accounts WHERE external_id LIKE '555000777%'")
            .await,
        0
    );
    pair.admin
        .json("save_account", &whatsapp_form("555000777001", ACCESS_TOKEN))
        .await;

    // Bound to another organization already: taken, whoever asks.
    sqlx::query("INSERT INTO organizations (name, created_at) VALUES ('Costa Ventas', 0)")
        .execute(&pair.db.pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE accounts SET org_id = (SELECT id FROM organizations WHERE name = 'Costa Ventas') \
         WHERE external_id = '555000777001'",
    )
    .execute(&pair.db.pool)
    .await
    .unwrap();
    let (status, error) = pair
        .admin
        .error("save_account", &whatsapp_form("555000777001", ACCESS_TOKEN))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        error,
        json!({"Invalid": {"field": "Account", "problem": "Taken"}})
    );
    pair.stop().await;
}

on_both_databases!(business_app_contacts_and_history_are_imported);

async fn business_app_contacts_and_history_are_imported(backend: Backend) {
    let pair = Pair::start(backend).await;
    let line = pair.sandbox.lock().unwrap().lines[0]
        .phone_number_id
        .clone();
    let (id,): (i64,) = sqlx::query_as("SELECT id FROM accounts WHERE external_id = $1")
        .bind(&line)
        .fetch_one(&pair.db.pool)
        .await
        .unwrap();
    pair.admin
        .json("import_business_app", &[("id", &id.to_string())])
        .await;
    common::pair::eventually(
        "the imported history",
        std::time::Duration::from_secs(10),
        || async {
            (pair
                .count("SELECT COUNT(*) FROM messages WHERE provider_id LIKE 'wamid.HISTORY%'")
                .await
                == 2)
                .then_some(())
        },
    )
    .await;
    let contacts: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT first_name, last_name, whatsapp_phone FROM contacts ORDER BY first_name",
    )
    .fetch_all(&pair.db.pool)
    .await
    .unwrap();
    assert_eq!(
        contacts,
        vec![
            (
                "Pedro".to_string(),
                "Salas".to_string(),
                Some("+525530002222".to_string())
            ),
            (
                "Rosa".to_string(),
                "Martínez".to_string(),
                Some("+525530001111".to_string())
            ),
        ]
    );
    let (direction, sent_from, status): (String, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT direction, sent_from, status FROM messages WHERE provider_id = 'wamid.HISTORY2'",
    )
    .fetch_one(&pair.db.pool)
    .await
    .unwrap();
    assert_eq!(
        (direction.as_str(), sent_from.as_deref(), status.as_deref()),
        ("out", Some("history"), Some("read"))
    );
    // Importing again changes nothing.
    pair.admin
        .json("import_business_app", &[("id", &id.to_string())])
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(pair.count("SELECT COUNT(*) FROM contacts").await, 2);
    assert_eq!(
        pair.count("SELECT COUNT(*) FROM messages WHERE provider_id LIKE 'wamid.HISTORY%'")
            .await,
        2
    );
    // A seller cannot start an import.
    let seller = pair
        .server
        .invite_and_accept(&pair.admin, "sergio@andinas.example", "seller")
        .await;
    let (status, _) = seller
        .error("import_business_app", &[("id", &id.to_string())])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    pair.stop().await;
}
