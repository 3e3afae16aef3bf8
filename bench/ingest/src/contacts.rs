//! The CRM's contacts at a million (see `bench/contacts.sh`, which seeds the database and
//! starts the server): searches by name, by any number and by email, and the list's first and
//! a deep page, each through its real server function over HTTP with a signed-in
//! administrator; the matching of an incoming WhatsApp conversation to its contact, called as
//! ingest calls it; and an import's rows per second, run as the import worker runs it.

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
    /// Adds `contacts` contacts, each with a primary (and WhatsApp) phone and a secondary one.
    Seed {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 1_000_000)]
        contacts: i64,
    },
    /// Measures the searches and the list over HTTP.
    Measure {
        #[arg(long, default_value = "http://127.0.0.1:3420")]
        base: String,
        #[arg(long)]
        cookie: String,
        #[arg(long, default_value_t = 300)]
        requests: usize,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Times the contact matching of new WhatsApp conversations, and an import.
    Direct {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 2_000)]
        matches: usize,
        #[arg(long, default_value_t = 100_000)]
        import_rows: usize,
        #[arg(long, default_value = "")]
        label: String,
    },
}

const FIRST: [&str; 10] = [
    "Lucía", "Jorge", "María", "José", "Ana", "Luis", "Carmen", "Pedro", "Sofía", "Miguel",
];
const LAST: [&str; 10] = [
    "Pérez",
    "Ramírez",
    "González",
    "Hernández",
    "López",
    "Martínez",
    "Sánchez",
    "Torres",
    "Flores",
    "Rivera",
];

/// `WITH RECURSIVE` numbers 1..=n, as SQLite and PostgreSQL both write it.
fn numbers(n: i64) -> String {
    format!(
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) \
         SELECT n FROM s"
    )
}

/// `CASE n % 10 WHEN 0 THEN 'a' …`: one of `names` by a number.
fn pick(names: &[&str], by: &str) -> String {
    let cases: String = names
        .iter()
        .enumerate()
        .map(|(i, name)| format!(" WHEN {i} THEN '{name}'"))
        .collect();
    format!("CASE {by} % {}{cases} END", names.len())
}

async fn seed(url: &str, contacts: i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.expect("the database");
    let (org, admin): (i64, i64) =
        sqlx::query_as("SELECT org_id, id FROM users ORDER BY id LIMIT 1")
            .fetch_one(&pool)
            .await
            .expect("an administrator");
    let started = Instant::now();
    // Numbers of Mexico City mobiles: +52 55 1000 0001 and on; the second +52 33 ….
    let statements = [
        format!(
            "INSERT INTO contacts (org_id, first_name, last_name, email, company, primary_phone, \
             whatsapp_phone, owner_id, created_from, last_activity_at, created_at, updated_at) \
             SELECT {org}, {} || ' ' || n, {}, 'cliente' || n || '@example.com', \
               'Empresa ' || (n % 5000), '+5255' || (10000000 + n), \
               CASE WHEN n % 2 = 0 THEN '+5255' || (10000000 + n) END, \
               CASE WHEN n % 3 = 0 THEN NULL ELSE {admin} END, 'import', \
               1700000000000 + n * 1000, 1700000000000, 0 \
             FROM ({}) x",
            pick(&FIRST, "n"),
            pick(&LAST, "(n / 10)"),
            numbers(contacts)
        ),
        format!(
            "INSERT INTO contact_phones (org_id, contact_id, phone, label, created_at) \
             SELECT {org}, id, '+5233' || (10000000 + id), 'Oficina', 0 FROM contacts \
             WHERE org_id = {org}"
        ),
    ];
    for sql in statements {
        sqlx::query(&sql).execute(&pool).await.expect("seeding");
    }
    let analyze: &[&str] = if url.starts_with("sqlite") {
        &["ANALYZE"]
    } else {
        &["VACUUM ANALYZE"]
    };
    for sql in analyze {
        sqlx::query(sql).execute(&pool).await.expect("analyze");
    }
    println!(
        "seeded {contacts} contacts and {} phones in {:.1} s",
        contacts * 2,
        started.elapsed().as_secs_f64()
    );
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

fn report(label: &str, mut took: Vec<Duration>) {
    took.sort();
    println!(
        "| {label} | {:.2} | {:.2} | {:.2} |",
        percentile(&took, 0.5),
        percentile(&took, 0.99),
        percentile(&took, 1.0)
    );
}

struct Bench {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Bench {
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

    /// Times `requests` calls, each with the form `form(i)` (a different contact each time),
    /// after a few to warm up; checks each finds something.
    async fn time(
        &self,
        label: &str,
        requests: usize,
        endpoint: &str,
        form: impl Fn(usize) -> Vec<(&'static str, String)>,
        found: impl Fn(&Value) -> bool,
    ) {
        for i in 0..10 {
            self.call(endpoint, &form(i + 1_000_000)).await;
        }
        let mut took = Vec::with_capacity(requests);
        for i in 0..requests {
            let form = form(i);
            let start = Instant::now();
            let answer = self.call(endpoint, &form).await;
            took.push(start.elapsed());
            assert!(found(&answer), "{label}: nothing found for {form:?}");
        }
        report(label, took);
    }
}

/// A contact number spread over the million.
fn someone(i: usize) -> usize {
    (i * 7919) % 900_000 + 1000
}

async fn measure(base: String, cookie: String, requests: usize, label: String) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(16)
        .build()
        .unwrap();
    let bench = Bench { http, base, cookie };
    let any = |v: &Value| v.as_array().is_some_and(|a| !a.is_empty());
    let listed = |v: &Value| v["contacts"].as_array().is_some_and(|a| !a.is_empty());
    println!("\n{label}\n| case | p50 ms | p99 ms | max ms |\n|---|---|---|---|");
    let name = |i: usize| {
        let n = someone(i);
        format!("{} {n}", FIRST[n % 10])
    };
    bench
        .time(
            "search by name (panel)",
            requests,
            "search_contacts",
            |i| vec![("query", name(i))],
            any,
        )
        .await;
    bench
        .time(
            "search by primary phone, as typed",
            requests,
            "search_contacts",
            |i| {
                let n = 10_000_000 + someone(i);
                vec![("query", format!("55 {} {:04}", n / 10_000, n % 10_000))]
            },
            any,
        )
        .await;
    bench
        .time(
            "search by secondary phone",
            requests,
            "search_contacts",
            |i| vec![("query", format!("+52 33 {}", 10_000_000 + someone(i)))],
            any,
        )
        .await;
    bench
        .time(
            "search by email",
            requests,
            "search_contacts",
            |i| vec![("query", format!("cliente{}@example.com", someone(i)))],
            any,
        )
        .await;
    bench
        .time(
            "list, search by name",
            requests,
            "contacts",
            |i| vec![("query[search]", name(i))],
            listed,
        )
        .await;
    bench
        .time(
            "list, first page by name",
            requests,
            "contacts",
            |_| Vec::new(),
            listed,
        )
        .await;
    bench
        .time(
            "list, first page by last activity",
            requests,
            "contacts",
            |_| vec![("query[sort]", "Activity".to_string())],
            listed,
        )
        .await;
    // Deep pages: the keyset of a row about half way down, read once.
    let deep = bench
        .call("contacts", &[("query[search]", "lucía 500000".to_string())])
        .await;
    let cursor = deep["contacts"][0]["cursor"].clone();
    let (key, id) = (
        cursor[0].as_str().expect("a cursor").to_string(),
        cursor[1].to_string(),
    );
    bench
        .time(
            "list, a page about 400,000 rows deep by name",
            requests,
            "contacts",
            |_| {
                vec![
                    ("query[after_key]", key.clone()),
                    ("query[after_id]", id.clone()),
                ]
            },
            listed,
        )
        .await;
    bench
        .time(
            "list, owner filter, by last activity",
            requests,
            "contacts",
            |_| {
                vec![
                    ("query[sort]", "Activity".to_string()),
                    ("query[owner]", "1".to_string()),
                ]
            },
            listed,
        )
        .await;
}

async fn direct(url: &str, matches: usize, import_rows: usize, label: String) {
    use app::auto_contacts::ContactMode;
    use app::contacts::import::ssr as imports;
    use app::event_log::Hub;
    use buzon_server::ingest::{AccountRef, Ingest};
    use channels::inbound::{Content, Customer, Inbound, Message};
    use channels::Channel;
    let db = app::db::Db::connect(url).await.expect("the database");
    println!("\n{label}\n| case | p50 ms | p99 ms | max ms |\n|---|---|---|---|");
    // A new customer's first message through ingest, committed, with the line linking nobody
    // (`off`) and linking the contact with the number: the difference is what matching adds.
    let ingest = Ingest::start(db.clone(), Hub::new(), Default::default());
    let (org, account): (i64, i64) = sqlx::query_as(
        "SELECT org_id, id FROM accounts WHERE channel = 'whatsapp' ORDER BY id LIMIT 1",
    )
    .fetch_one(&db.pool)
    .await
    .expect("a WhatsApp line");
    // The cases take turns, message by message, so that the database's growth and its
    // checkpoints weigh on each alike.
    let cases = [
        (
            "ingest, new customer: line links nobody (off)",
            ContactMode::Off,
            // Contacts with this primary phone (the odd ones have no WhatsApp phone).
            (|i: usize| format!("5255{}", 10_000_001 + (i + 200_000) * 2)) as fn(usize) -> String,
        ),
        (
            "ingest, new customer: contact found by WhatsApp phone",
            ContactMode::Associate,
            |i| format!("5255{}", 10_000_000 + (i + 1_000) * 2),
        ),
        (
            "ingest, new customer: found by a secondary phone (learned)",
            ContactMode::Associate,
            |i| format!("5233{}", 10_000_001 + (i + 1_000) * 2),
        ),
        (
            "ingest, new customer: nobody has the number",
            ContactMode::Associate,
            |i| format!("5281{}", 10_000_000 + i),
        ),
    ];
    let mut took = vec![Vec::with_capacity(matches); cases.len()];
    let mut sent = 0;
    for i in 0..matches {
        for (k, (_, mode, number)) in cases.iter().enumerate() {
            sent += 1;
            let route = AccountRef {
                id: account,
                org_id: org,
                channel: Channel::Whatsapp,
                contact_mode: *mode,
            };
            let message = Inbound::Message(Message {
                account: "900100".to_string(),
                customer: Customer {
                    key: number(i),
                    name: Some("Cliente".to_string()),
                    ..Default::default()
                },
                provider_id: format!("wamid.bench.{sent}"),
                outgoing: false,
                sent_from: None,
                at_ms: 1_800_000_000_000 + sent,
                content: Content::Text {
                    body: "hola".to_string(),
                },
                reply_to: None,
                story: None,
                forwarded: false,
                history_status: None,
                echo_metadata: None,
                referral: false,
            });
            let routes = [("900100".to_string(), route)].into_iter().collect();
            let start = Instant::now();
            ingest.store(routes, vec![message]).await.expect("stored");
            took[k].push(start.elapsed());
        }
    }
    for ((case, ..), took) in cases.iter().zip(took) {
        report(case, took);
    }
    // An import of new contacts, with a few rows refused and some matching contacts there.
    let mut file = String::from("nombre;apellido;teléfono;correo;empresa\n");
    for n in 0..import_rows {
        let phone = match n % 50 {
            0 => "no es un número".to_string(),
            1 => format!("55 {}", 10_000_000 + n),
            _ => format!("81 {}", 10_000_000 + n),
        };
        file.push_str(&format!(
            "{} {n};{};{phone};importado{n}@example.com;Importadora {}\n",
            FIRST[n % 10],
            LAST[n % 7],
            n % 300
        ));
    }
    let preview = imports::create(&db, org, None, "bench.csv", file.as_bytes())
        .await
        .expect("the file");
    imports::queue(&db, preview.id, &preview.mapping, Default::default())
        .await
        .unwrap();
    let start = Instant::now();
    imports::run(&db, preview.id, |_, _| {})
        .await
        .expect("the import");
    let took = start.elapsed().as_secs_f64();
    let done = imports::progress(&db, preview.id).await.unwrap();
    println!(
        "\n{label}: import of {import_rows} rows in {took:.1} s, {:.0} rows/s \
         ({} created, {} skipped as already there, {} refused)",
        import_rows as f64 / took,
        done.created,
        done.skipped,
        done.rejected
    );
}

#[tokio::main]
async fn main() {
    match Args::parse().command {
        Command::Seed {
            database_url,
            contacts,
        } => seed(&database_url, contacts).await,
        Command::Measure {
            base,
            cookie,
            requests,
            label,
        } => measure(base, cookie, requests, label).await,
        Command::Direct {
            database_url,
            matches,
            import_rows,
            label,
        } => direct(&database_url, matches, import_rows, label).await,
    }
}
