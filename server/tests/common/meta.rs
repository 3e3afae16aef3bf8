//! Connected accounts and signed webhooks for tests: a fixture with one account of every
//! channel, and bodies shaped like the providers' own.
#![allow(dead_code)]

use app::accounts::store::{connect, Credentials, NewAccount};
use app::db::Db;
use app::secrets::SecretBox;
use channels::signature::{ascii_json, meta_signature};
use channels::Channel;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::{Backend, Client, TestServer, TEST_SECRET_KEY};

pub const APP_SECRET: &str = "meta-app-secret";
pub const VERIFY_TOKEN: &str = "verify-me";
pub const LINE: &str = "106540352242922";
pub const PAGE: &str = "100200300";
pub const IG: &str = "17841400000000000";
pub const TWILIO_NUMBER: &str = "14155238886";
pub const TWILIO_TOKEN: &str = "twilio-auth-token";

pub struct Fixture {
    pub server: TestServer,
    pub db: Db,
    pub http: reqwest::Client,
    pub org_id: i64,
    /// The organization's administrator, signed in.
    pub admin: Client,
}

impl Fixture {
    pub async fn new(backend: Backend) -> Fixture {
        let server = TestServer::start(backend).await;
        let admin = server.setup_admin().await;
        let db = server.db.connect().await;
        let (org_id,): (i64,) = sqlx::query_as("SELECT id FROM organizations")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        let fixture = Fixture {
            server,
            db,
            http: reqwest::Client::new(),
            org_id,
            admin,
        };
        for (channel, external_id) in [
            (Channel::Whatsapp, LINE),
            (Channel::Whatsapp, "L2"),
            (Channel::Messenger, PAGE),
            (Channel::Instagram, IG),
            (Channel::Twilio, TWILIO_NUMBER),
        ] {
            fixture.connect(channel, external_id, APP_SECRET).await;
        }
        fixture
    }

    pub async fn connect(&self, channel: Channel, external_id: &str, app_secret: &str) -> i64 {
        let secrets = SecretBox::from_hex(TEST_SECRET_KEY).unwrap();
        let account = NewAccount {
            channel,
            name: format!("{} {external_id}", channel.as_str()),
            external_id: external_id.to_string(),
            display_handle: None,
            config: json!({}),
            credentials: Credentials {
                access_token: "token".into(),
                app_secret: app_secret.into(),
                verify_token: VERIFY_TOKEN.into(),
                auth_token: TWILIO_TOKEN.into(),
            },
            connected_by: None,
        };
        connect(&self.db, &secrets, self.org_id, &account)
            .await
            .unwrap()
    }

    pub async fn post_meta(&self, channel: &str, body: &Value, secret: Option<&str>) -> StatusCode {
        let bytes = ascii_json(body);
        let mut request = self
            .http
            .post(format!("{}/webhooks/{channel}", self.server.base))
            .header("content-type", "application/json")
            .body(bytes.clone());
        if let Some(secret) = secret {
            request = request.header(
                "x-hub-signature-256",
                meta_signature(secret.as_bytes(), bytes.as_bytes()),
            );
        }
        request.send().await.unwrap().status()
    }

    pub async fn post_whatsapp(&self, body: &Value) -> StatusCode {
        self.post_meta("whatsapp", body, Some(APP_SECRET)).await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&self.db.pool).await.unwrap();
        n
    }

    pub async fn messages(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM messages").await
    }

    pub async fn conversations(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM conversations").await
    }

    pub async fn events(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM events").await
    }

    pub async fn status_of(&self, provider_id: &str) -> (String, Option<String>, Option<String>) {
        sqlx::query_as(
            "SELECT status, error_code, error_reason FROM messages WHERE provider_id = $1",
        )
        .bind(provider_id)
        .fetch_one(&self.db.pool)
        .await
        .unwrap()
    }

    /// An outgoing message Buzón sent on the line, as the outbox will leave it.
    pub async fn outgoing(&self, provider_id: &str, customer: &str, at: i64) {
        let (account_id,): (i64,) =
            sqlx::query_as("SELECT id FROM accounts WHERE external_id = $1")
                .bind(LINE)
                .fetch_one(&self.db.pool)
                .await
                .unwrap();
        let (conversation_id,): (i64,) = sqlx::query_as(
            "INSERT INTO conversations (org_id, account_id, customer_key, status, last_message_at, \
             created_at, updated_at) VALUES ($1, $2, $3, 'open', $4, $4, $4) \
             ON CONFLICT (account_id, customer_key) DO UPDATE SET updated_at = excluded.updated_at \
             RETURNING id",
        )
        .bind(self.org_id)
        .bind(account_id)
        .bind(customer)
        .bind(at)
        .fetch_one(&self.db.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO messages (org_id, conversation_id, account_id, direction, kind, body, \
             provider_id, status, created_at) VALUES ($1, $2, $3, 'out', 'text', 'hola', $4, 'pending', $5)",
        )
        .bind(self.org_id)
        .bind(conversation_id)
        .bind(account_id)
        .bind(provider_id)
        .bind(at)
        .execute(&self.db.pool)
        .await
        .unwrap();
    }

    pub async fn stop(self) {
        self.db.pool.close().await;
        self.server.stop().await;
    }
}

pub fn whatsapp(line: &str, value: Value) -> Value {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({"display_phone_number": "15550783881", "phone_number_id": line});
    json!({"object": "whatsapp_business_account",
           "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}]})
}

pub fn text_from(customer: &str, id: &str, text: &str) -> Value {
    whatsapp(
        LINE,
        json!({
            "contacts": [{"profile": {"name": "Lucía Pérez"}, "wa_id": customer}],
            "messages": [{"from": customer, "id": id, "timestamp": "1760000000", "type": "text",
                          "text": {"body": text}}]
        }),
    )
}

pub fn status(id: &str, status: &str, extra: Value) -> Value {
    let mut item = json!({"id": id, "status": status, "timestamp": "1760000100",
                          "recipient_id": "5215512345678"});
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            item[k] = v;
        }
    }
    whatsapp(LINE, json!({"statuses": [item]}))
}
