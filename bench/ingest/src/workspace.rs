//! The agent workspace against a running Buzón (see `bench/workspace.sh`, which seeds the
//! database and starts the server): the inbox page's server render time and pages per second,
//! and the conversation list's first page, a deep page, filtered pages and the counts, each
//! through its real server function over HTTP with a signed-in administrator.
//!
//! `seed` fills a database with one organization's conversations and messages first.

use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::Value;

#[derive(Parser, Debug)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Adds 10 lines, `conversations` conversations (one in five closed, one in three
    /// unassigned, one in four unread) and `messages` messages to the organization.
    Seed {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 100_000)]
        conversations: i64,
        #[arg(long, default_value_t = 1_000_000)]
        messages: i64,
    },
    /// Measures the pages and the list requests.
    Measure {
        #[arg(long, default_value = "http://127.0.0.1:3410")]
        base: String,
        /// The administrator's session cookie value.
        #[arg(long)]
        cookie: String,
        /// Requests per measured case.
        #[arg(long, default_value_t = 300)]
        requests: usize,
        #[arg(long, default_value = "")]
        label: String,
    },
}

/// `WITH RECURSIVE` numbers 1..=n, as SQLite and PostgreSQL both write it.
fn numbers(n: i64) -> String {
    format!(
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) \
         SELECT n FROM s"
    )
}

async fn seed(url: &str, conversations: i64, messages: i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("the database");
    let (org, admin): (i64, i64) =
        sqlx::query_as("SELECT org_id, id FROM users ORDER BY id LIMIT 1")
            .fetch_one(&pool)
            .await
            .expect("an administrator");
    let started = Instant::now();
    let statements = [
        format!(
            "INSERT INTO accounts (org_id, channel, name, external_id, status, connected_at, \
             created_at) SELECT {org}, 'whatsapp', 'Línea ' || n, '9000' || n, 'connected', 0, 0 \
             FROM ({}) x",
            numbers(10)
        ),
        format!(
            "INSERT INTO conversations (org_id, account_id, customer_key, customer_name, status, \
             assignee_id, last_incoming_at, last_incoming_id, last_message_at, \
             last_message_preview, last_message_kind, created_at, updated_at) \
             SELECT {org}, (SELECT MIN(id) FROM accounts WHERE org_id = {org}) + n % 10, \
               '5215' || (10000000 + n), 'Cliente ' || n, \
               CASE WHEN n % 5 = 0 THEN 'closed' ELSE 'open' END, \
               CASE WHEN n % 3 = 0 THEN NULL ELSE {admin} END, \
               1700000000000 + n * 10000, n, 1700000000000 + n * 10000, \
               'Hola, ¿tienen stock del modelo ' || n || '?', 'text', 1700000000000, 0 \
             FROM ({}) x",
            numbers(conversations)
        ),
        format!(
            "INSERT INTO messages (org_id, conversation_id, account_id, direction, kind, body, \
             content, created_at) \
             SELECT {org}, c0 + n % {conversations}, a0 + (n % {conversations}) % 10, \
               CASE WHEN n % 2 = 0 THEN 'in' ELSE 'out' END, 'text', 'Mensaje ' || n, '{{}}', \
               1700000000000 + n * 100 \
             FROM ({}) x, (SELECT MIN(id) AS c0 FROM conversations WHERE org_id = {org}) c, \
               (SELECT MIN(id) AS a0 FROM accounts WHERE org_id = {org}) a",
            numbers(messages)
        ),
        // Three conversations in four were read by the administrator up to their last message.
        format!(
            "INSERT INTO conversation_reads (org_id, conversation_id, user_id, last_read_at, \
             last_read_id) SELECT {org}, id, {admin}, 0, last_incoming_id FROM conversations \
             WHERE org_id = {org} AND id % 4 <> 0"
        ),
    ];
    for sql in statements {
        sqlx::query(&sql).execute(&pool).await.expect("seeding");
    }
    // Statistics for the planners, and on PostgreSQL the dead row versions of the one bulk
    // transaction cleared (the kept counts were updated once per row), as a maintained
    // database has them. The kept counts' tables are also rewritten: in one transaction none
    // of their updates could be pruned, which left 256 rows in over a thousand pages, while
    // the server's traffic (one message per transaction) keeps them at a few pages (30,000
    // single updates of such a table: 6 pages, 99% of the updates HOT).
    let analyze: &[&str] = if url.starts_with("sqlite") {
        &["ANALYZE"]
    } else {
        &["VACUUM FULL open_tallies, unread_tallies", "VACUUM ANALYZE"]
    };
    for sql in analyze {
        sqlx::query(sql).execute(&pool).await.expect("analyze");
    }
    println!(
        "seeded {conversations} conversations and {messages} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

struct Bench {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Bench {
    async fn page(&self, path: &str) -> usize {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", format!("buzon_session={}", self.cookie))
            .header("accept", "text/html")
            .send()
            .await
            .expect("the page");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.bytes().await.expect("the body").len()
    }

    async fn call(&self, endpoint: &str, form: &[(&str, String)]) -> Value {
        let response = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .header("cookie", format!("buzon_session={}", self.cookie))
            .form(form)
            .send()
            .await
            .expect("the request");
        let status = response.status();
        let body = response.text().await.expect("the answer");
        assert!(status.is_success(), "{endpoint}: {status} {body}");
        serde_json::from_str(&body).expect("json")
    }

    /// Times `requests` sequential runs of `run`, after a few to warm up.
    async fn time<F, Fut>(&self, label: &str, requests: usize, mut run: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        for _ in 0..10 {
            run().await;
        }
        let mut took = Vec::with_capacity(requests);
        for _ in 0..requests {
            let start = Instant::now();
            run().await;
            took.push(start.elapsed());
        }
        took.sort();
        println!(
            "| {label} | {:.2} | {:.2} | {:.2} |",
            percentile(&took, 0.5),
            percentile(&took, 0.99),
            percentile(&took, 1.0)
        );
    }
}

async fn measure(base: String, cookie: String, requests: usize, label: String) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(16)
        .build()
        .unwrap();
    let bench = Bench { http, base, cookie };
    let first = bench.call("conversations", &[]).await;
    let rows = first["conversations"].as_array().unwrap().len();
    // A page about 40,000 rows deep: walk there once by keyset.
    let mut before = None;
    for _ in 0..800 {
        let mut form = Vec::new();
        if let Some((at, id)) = &before {
            form.push(("before_at", format!("{at}")));
            form.push(("before_id", format!("{id}")));
        }
        let page = bench.call("conversations", &form).await;
        let last = page["conversations"].as_array().unwrap().last().cloned();
        let Some(last) = last else { break };
        before = Some((
            last["last_message_at"].as_i64().unwrap(),
            last["id"].as_i64().unwrap(),
        ));
    }
    let (deep_at, deep_id) = before.expect("a deep page");
    let size = bench.page("/inbox").await;
    println!("\n{label}: first page {rows} rows, inbox page {size} bytes");
    println!("| case | p50 ms | p99 ms | max ms |\n|---|---|---|---|");
    bench
        .time("GET /inbox (server render)", requests, || async {
            bench.page("/inbox").await;
        })
        .await;
    bench
        .time("list, first page", requests, || async {
            bench.call("conversations", &[]).await;
        })
        .await;
    bench
        .time("list, page ~40,000 rows deep", requests, || async {
            bench
                .call(
                    "conversations",
                    &[
                        ("before_at", deep_at.to_string()),
                        ("before_id", deep_id.to_string()),
                    ],
                )
                .await;
        })
        .await;
    for (case, key, value) in [
        ("list, Unassigned", "query[section]", "unassigned"),
        ("list, Assigned to me", "query[section]", "mine"),
        ("list, Unread", "query[unread]", "true"),
        ("list, Closed", "query[section]", "closed"),
    ] {
        bench
            .time(case, requests, || async {
                bench
                    .call("conversations", &[(key, value.to_string())])
                    .await;
            })
            .await;
    }
    bench
        .time("list, one line", requests, || async {
            bench
                .call(
                    "conversations",
                    &[(
                        "query[account_id]",
                        first["conversations"][0]["account_id"].to_string(),
                    )],
                )
                .await;
        })
        .await;
    for (case, search) in [
        ("list, search by name", "cliente 4711"),
        ("list, search by number", "+52 15 1000 4711"),
        ("list, search by two letters", "te"),
    ] {
        bench
            .time(case, requests / 3, || async {
                bench
                    .call("conversations", &[("query[search]", search.to_string())])
                    .await;
            })
            .await;
    }
    bench
        .time("counts (tabs and sections)", requests / 3, || async {
            bench.call("inbox_overview", &[]).await;
        })
        .await;
    // Pages per second with 8 concurrent readers for 5 s.
    let bench = std::sync::Arc::new(bench);
    let until = Instant::now() + Duration::from_secs(5);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let bench = bench.clone();
        tasks.push(tokio::spawn(async move {
            let mut pages = 0u64;
            while Instant::now() < until {
                bench.page("/inbox").await;
                pages += 1;
            }
            pages
        }));
    }
    let mut pages = 0;
    for task in tasks {
        pages += task.await.unwrap();
    }
    println!(
        "\n{label}: {:.0} inbox pages/s with 8 concurrent readers",
        pages as f64 / 5.0
    );
}

#[tokio::main]
async fn main() {
    match Args::parse().command {
        Command::Seed {
            database_url,
            conversations,
            messages,
        } => seed(&database_url, conversations, messages).await,
        Command::Measure {
            base,
            cookie,
            requests,
            label,
        } => measure(base, cookie, requests, label).await,
    }
}
