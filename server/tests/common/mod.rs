//! The test harness: the real server on a random port, on a fresh SQLite file or a fresh
//! PostgreSQL database per test, and an HTTP client per person that keeps its own cookies.
#![allow(dead_code)]

/// The live stream from a test.
pub mod live;
/// Connected accounts and signed provider webhooks.
pub mod meta;
/// Buzón with the sandbox playing the providers.
pub mod pair;
/// A real S3-compatible server (moto's) for the media store.
pub mod s3;

use std::path::PathBuf;
use std::sync::Arc;

use app::db::Db;
use buzon_server::config::{Common, ServeArgs};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per database backend.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    $crate::common::within_limit(super::$name($crate::common::Backend::Sqlite)).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    $crate::common::within_limit(super::$name($crate::common::Backend::Postgres)).await
                }
            }
        )*
    };
}

/// Fails a test that has not finished in three minutes, so that a hang shows up as one failed
/// test instead of a test run that never ends.
pub async fn within_limit(test: impl std::future::Future<Output = ()>) {
    if tokio::time::timeout(std::time::Duration::from_secs(180), test)
        .await
        .is_err()
    {
        panic!("the test did not finish within three minutes");
    }
}

/// The PostgreSQL server the tests create their databases in.
pub fn postgres_admin_url() -> String {
    std::env::var("BUZON_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

fn unique(prefix: &str) -> String {
    use rand::Rng;
    format!(
        "{prefix}_{}_{:08x}",
        std::process::id(),
        rand::thread_rng().gen::<u32>()
    )
}

/// A database that exists for one test and is removed afterwards.
pub struct TestDb {
    pub url: String,
    dir: Option<PathBuf>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(unique("buzon_test"));
                std::fs::create_dir_all(&dir).unwrap();
                TestDb {
                    url: format!("sqlite://{}", dir.join("buzon.db").display()),
                    dir: Some(dir),
                    pg_name: None,
                }
            }
            Backend::Postgres => {
                let name = unique("buzon_test");
                let admin = Db::connect(&postgres_admin_url())
                    .await
                    .expect("PostgreSQL must be running for the test suite (see README)");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin.pool)
                    .await
                    .unwrap();
                admin.pool.close().await;
                let base = postgres_admin_url();
                let server = base.rsplit_once('/').map(|(s, _)| s).unwrap_or(&base);
                TestDb {
                    url: format!("{server}/{name}"),
                    dir: None,
                    pg_name: Some(name),
                }
            }
        }
    }

    /// The same database for a second server; dropping it removes nothing.
    pub fn shared(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            dir: None,
            pg_name: None,
        }
    }

    /// A direct connection, for the few things tests arrange behind the server's back.
    pub async fn connect(&self) -> Db {
        Db::connect(&self.url).await.unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(name) = self.pg_name.clone() {
            // Drop runs outside async; a short-lived runtime on its own thread does the cleanup.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async move {
                    if let Ok(admin) = Db::connect(&postgres_admin_url()).await {
                        let _ =
                            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                                .execute(&admin.pool)
                                .await;
                    }
                });
            })
            .join();
        }
    }
}

/// The server key of every test server (tests seal credentials with it too).
pub const TEST_SECRET_KEY: &str =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The setup token every test server is started with (`ServeArgs::setup_token`).
pub const TEST_SETUP_TOKEN: &str = "prueba-de-instalacion";

/// The real server, serving a test database on a random port.
pub struct TestServer {
    pub base: String,
    pub db: TestDb,
    /// Media and other files of this server.
    pub data_dir: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, ServeArgs::default()).await
    }

    pub async fn start_with(backend: Backend, args: ServeArgs) -> TestServer {
        Self::start_on(TestDb::new(backend).await, args).await
    }

    /// Serves an existing test database.
    pub async fn start_on(db: TestDb, mut args: ServeArgs) -> TestServer {
        // The operator's setup token, unless a test asks for a drawn one (an empty token).
        args.setup_token
            .get_or_insert_with(|| TEST_SETUP_TOKEN.to_string());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
            .with_test_writer()
            .try_init();
        let data_dir = std::env::temp_dir().join(unique("buzon_data"));
        let common = Common {
            data_dir: data_dir.clone(),
            database_url: Some(db.url.clone()),
            secret_key: Some(TEST_SECRET_KEY.to_string()),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = buzon_server::build_state(&common, &args, addr)
            .await
            .unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let timing = buzon_server::delivery::Timing {
                retry_base_ms: args.retry_base_ms,
                reconcile_wait_ms: args.reconcile_wait_ms,
            };
            buzon_server::serve(listener, state, timing, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        TestServer {
            base: format!("http://{addr}"),
            db,
            data_dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// Stops the server and waits for it, so the test database can be dropped.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }

    /// Sets up the first organization and returns its administrator's client.
    pub async fn setup_admin(&self) -> Client {
        let admin = self.client();
        let response = admin
            .call(
                "setup",
                &[
                    ("token", TEST_SETUP_TOKEN),
                    ("organization", "Ventas Andinas"),
                    ("name", "Ana Admin"),
                    ("email", "ana@andinas.example"),
                    ("password", "clave-segura-1"),
                    ("language", "es"),
                ],
            )
            .await;
        assert!(
            response.status().is_success(),
            "setup failed: {}",
            response.status()
        );
        admin
    }

    /// Invites `email` as `admin` with a role (a built-in key such as `seller`, or a custom
    /// role's name), has the invitee accept, and returns the invitee's signed-in client.
    pub async fn invite_and_accept(&self, admin: &Client, email: &str, role: &str) -> Client {
        let role_id = role_id(admin, role).await;
        let outcome = admin
            .json(
                "invite_user",
                &[("email", email), ("role_id", &role_id.to_string())],
            )
            .await;
        let link = outcome["link"]
            .as_str()
            .expect("an invitation link")
            .to_string();
        let token = link.rsplit('/').next().unwrap().to_string();
        let invitee = self.client();
        let response = invitee
            .call(
                "accept_invite",
                &[
                    ("token", &token),
                    ("name", "Sergio Seller"),
                    ("password", "vendedor-123"),
                ],
            )
            .await;
        assert!(
            response.status().is_success(),
            "accept failed: {}",
            response.status()
        );
        invitee
    }
}

/// One person's browser: a cookie jar and the server's address.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub jar: Arc<Jar>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str) -> Client {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            // A request the server never answers fails the test instead of hanging it.
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap();
        Client {
            base: base.to_string(),
            jar,
            http,
        }
    }

    /// The underlying HTTP client, sharing this person's cookies.
    pub fn raw(&self) -> &reqwest::Client {
        &self.http
    }

    /// Calls a server function with form-encoded arguments, as an `ActionForm` does.
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(format!("{}/api/{endpoint}", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Calls a server function and returns its successful JSON answer.
    pub async fn json(&self, endpoint: &str, form: &[(&str, &str)]) -> Value {
        let response = self.call(endpoint, form).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(status.is_success(), "{endpoint} answered {status}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Calls a server function that must fail; returns the status and the error.
    pub async fn error(&self, endpoint: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let response = self.call(endpoint, form).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(
            !status.is_success(),
            "{endpoint} unexpectedly succeeded: {body}"
        );
        (
            status,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    /// Calls a server function with a JSON body.
    pub async fn call_json(&self, endpoint: &str, body: &Value) -> Response {
        self.http
            .post(format!("{}/api/{endpoint}", self.base))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Posts the login form; returns where the server redirected to.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self
            .http
            .post(format!("{}/login", self.base))
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        response.headers()["location"].to_str().unwrap().to_string()
    }

    /// Opens a page as a browser does.
    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .unwrap()
    }

    /// The signed-in user as the server sees them (`null` when signed out).
    pub async fn me(&self) -> Value {
        self.json("me", &[]).await
    }

    /// The value of the session cookie this client holds.
    /// The same person (the same session) on another instance of the server.
    pub fn on_instance(&self, base: &str) -> Client {
        let other = Client::new(base);
        if let Some(session) = self.session_cookie() {
            let url = base.parse().unwrap();
            other
                .jar
                .add_cookie_str(&format!("buzon_session={session}; Path=/"), &url);
        }
        other
    }

    pub fn session_cookie(&self) -> Option<String> {
        let url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .unwrap()
            .split("; ")
            .find_map(|c| c.strip_prefix("buzon_session=").map(str::to_string))
    }
}

/// The id of a role by its built-in key, from an administrator's view of the team.
pub async fn role_id(admin: &Client, builtin: &str) -> i64 {
    let team = admin.json("team", &[]).await;
    let wanted = match builtin {
        "admin" => "Administrator",
        "seller" => "Seller",
        "editor" => "Editor",
        other => other,
    };
    team["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["builtin"] == wanted || r["name"] == builtin)
        .and_then(|r| r["id"].as_i64())
        .unwrap_or_else(|| panic!("no role {builtin}"))
}

/// The session cookie a response sets, with its attributes.
pub fn session_cookie_set(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("buzon_session="))
}

/// Resets the process's peak resident memory to what it holds now (Linux `clear_refs`), and
/// returns that, in KiB: a test in a binary of its own measures its own peak from here.
pub fn peak_memory_reset() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").expect("the peak memory can be reset");
    peak_memory_kib()
}

/// The process's peak resident memory since the last reset, in KiB.
pub fn peak_memory_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}
