//! Buzón and the sandbox side by side: the sandbox plays Meta and Twilio (and the customers),
//! Buzón's provider base URLs point at it, and its accounts are connected in Buzón.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use app::accounts::store::{connect, Credentials, NewAccount};
use app::db::Db;
use app::secrets::SecretBox;
use buzon_server::config::ServeArgs;
use channels::Channel;
use sandbox::world::{Fault, Settings, Shared};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::{Backend, Client, TestServer, TEST_SECRET_KEY};

pub const APP_SECRET: &str = "sandbox-app-secret";
pub const ACCESS_TOKEN: &str = "sandbox-access-token";
pub const TWILIO_SID: &str = "AC00000000000000000000000000sandbox";
pub const TWILIO_TOKEN: &str = "sandbox-twilio-token";

pub struct Pair {
    pub server: TestServer,
    pub db: Db,
    pub admin: Client,
    pub sandbox: Shared,
    pub sandbox_url: String,
    pub http: reqwest::Client,
    /// What the server was started with: another instance on the same database starts so.
    pub args: ServeArgs,
    task: tokio::task::JoinHandle<()>,
}

impl Pair {
    pub async fn start(backend: Backend) -> Pair {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut ServeArgs)) -> Pair {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sandbox_url = format!("http://{}", listener.local_addr().unwrap());
        let world = sandbox::world(
            Settings {
                buzon_url: String::new(),
                public_url: sandbox_url.clone(),
                app_secret: APP_SECRET.into(),
                access_token: ACCESS_TOKEN.into(),
                twilio_account_sid: TWILIO_SID.into(),
                twilio_auth_token: TWILIO_TOKEN.into(),
            },
            2,
        );
        // Templates change only when a test asks: counts read after a sync stay put.
        world.lock().unwrap().behaviour.review_ms = 0;
        let router = sandbox::router(world.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        let mut args = ServeArgs {
            graph_api_url: format!("{sandbox_url}/v25.0"),
            twilio_api_url: sandbox_url.clone(),
            twilio_content_url: sandbox_url.clone(),
            insecure_media_origins: vec![sandbox_url.clone()],
            provider_timeout_secs: 5,
            retry_base_ms: 50,
            reconcile_wait_ms: 2_000,
            ..ServeArgs::default()
        };
        tweak(&mut args);
        let server = TestServer::start_with(backend, args.clone()).await;
        world.lock().unwrap().settings.buzon_url = server.base.clone();
        let admin = server.setup_admin().await;
        let db = server.db.connect().await;
        let pair = Pair {
            server,
            db,
            admin,
            sandbox: world,
            sandbox_url,
            http: reqwest::Client::new(),
            args,
            task,
        };
        pair.connect_all().await;
        pair
    }

    async fn connect_all(&self) {
        let (org_id,): (i64,) = sqlx::query_as("SELECT id FROM organizations")
            .fetch_one(&self.db.pool)
            .await
            .unwrap();
        let secrets = SecretBox::from_hex(TEST_SECRET_KEY).unwrap();
        let lines: Vec<String> = self
            .sandbox
            .lock()
            .unwrap()
            .lines
            .iter()
            .map(|l| l.phone_number_id.clone())
            .collect();
        let mut accounts = vec![
            (
                Channel::Messenger,
                sandbox::world::PAGE_ID.to_string(),
                json!({}),
            ),
            (
                Channel::Instagram,
                sandbox::world::IG_ID.to_string(),
                json!({}),
            ),
            (
                Channel::Twilio,
                sandbox::world::TWILIO_NUMBER.to_string(),
                json!({"account_sid": TWILIO_SID}),
            ),
        ];
        for line in lines {
            accounts.push((
                Channel::Whatsapp,
                line,
                json!({"business_id": sandbox::world::WABA_ID}),
            ));
        }
        for (channel, external_id, config) in accounts {
            let account = NewAccount {
                channel,
                name: format!("{} sandbox", channel.as_str()),
                external_id,
                display_handle: None,
                config,
                credentials: Credentials {
                    access_token: ACCESS_TOKEN.into(),
                    app_secret: APP_SECRET.into(),
                    verify_token: "sandbox-verify-token".into(),
                    auth_token: TWILIO_TOKEN.into(),
                },
                connected_by: None,
            };
            connect(&self.db, &secrets, org_id, &account).await.unwrap();
        }
    }

    /// A customer writes (see the sandbox's `/sandbox/api/send`); returns the message id.
    pub async fn customer_sends(&self, send: Value) -> String {
        let answer: Value = self
            .http
            .post(format!("{}/sandbox/api/send", self.sandbox_url))
            .json(&send)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["webhook_status"], 200, "{answer}");
        answer["id"].as_str().unwrap().to_string()
    }

    pub fn fault(&self, fault: Fault, count: usize) {
        let mut world = self.sandbox.lock().unwrap();
        for _ in 0..count {
            world.faults.push(fault);
        }
    }

    /// What the business sent, as the sandbox received it.
    pub fn business_messages(&self) -> Vec<sandbox::world::Logged> {
        self.sandbox
            .lock()
            .unwrap()
            .log
            .iter()
            .filter(|l| l.from == "business")
            .cloned()
            .collect()
    }

    pub fn send_attempts(&self) -> u64 {
        self.sandbox.lock().unwrap().send_attempts
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&self.db.pool).await.unwrap();
        n
    }

    /// The only conversation's id (after one customer wrote).
    pub async fn conversation_id(&self) -> i64 {
        let (id,): (i64,) = sqlx::query_as("SELECT id FROM conversations ORDER BY id LIMIT 1")
            .fetch_one(&self.db.pool)
            .await
            .unwrap();
        id
    }

    /// The conversation on the account of `channel` (`whatsapp`, `messenger`, ...).
    pub async fn conversation_on(&self, channel: &str) -> i64 {
        let (id,): (i64,) = sqlx::query_as(
            "SELECT c.id FROM conversations c JOIN accounts a ON a.id = c.account_id \
             WHERE a.channel = $1 ORDER BY c.id LIMIT 1",
        )
        .bind(channel)
        .fetch_one(&self.db.pool)
        .await
        .unwrap();
        id
    }

    /// The account of the first WhatsApp line.
    pub async fn first_whatsapp_account(&self) -> i64 {
        let (id,): (i64,) = sqlx::query_as(
            "SELECT id FROM accounts WHERE channel = 'whatsapp' ORDER BY id LIMIT 1",
        )
        .fetch_one(&self.db.pool)
        .await
        .unwrap();
        id
    }

    /// Syncs an account's templates as its administrator; how many are approved.
    pub async fn sync_templates(&self, account_id: i64) -> Value {
        self.admin
            .json("sync_templates", &[("account_id", &account_id.to_string())])
            .await
    }

    pub async fn stop(self) {
        self.task.abort();
        self.db.pool.close().await;
        self.server.stop().await;
    }
}

/// Polls `check` until it returns `Some`, failing after `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if start.elapsed() > limit {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
