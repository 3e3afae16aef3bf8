//! The automatic closing scheduler on a large inbox (see `bench/closing.sh`, which
//! migrates the database and adds the organization): 100,000 open conversations on 10
//! accounts, each account in a rule. Measures one scheduler tick when nothing is due (time and
//! CPU), a tick that closes 1,000 due conversations, and how late closes come when 2,000
//! deadlines fall over one minute and the scheduler ticks as the server does.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use app::conversations::lifecycle::closing_rules::ssr::close_due;
use app::db::Db;
use app::epoch::EpochMs;
use app::event_log::Hub;
use clap::Parser;

#[derive(Parser, Debug)]
struct Args {
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 100_000)]
    conversations: i64,
    /// The server's tick (`BUZON_CLOSING_TICK_MS`).
    #[arg(long, default_value_t = 15_000)]
    tick_ms: u64,
    #[arg(long, default_value = "")]
    label: String,
}

const DAY: i64 = 24 * 3_600_000;

/// `WITH RECURSIVE` numbers 1..=n, as SQLite and PostgreSQL both write it.
fn numbers(n: i64) -> String {
    format!(
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n}) \
         SELECT n FROM s"
    )
}

async fn run(db: &Db, sql: &str) {
    sqlx::query(sql).execute(&db.pool).await.expect(sql);
}

/// Ten accounts, each in a rule of one day, and their open conversations, whose customers
/// wrote at some point of the last day: deadlines over the coming day.
async fn seed(db: &Db, conversations: i64) {
    let (org,): (i64,) = sqlx::query_as("SELECT id FROM organizations ORDER BY id LIMIT 1")
        .fetch_one(&db.pool)
        .await
        .expect("an organization");
    let now = EpochMs::now();
    let started = Instant::now();
    run(db, &format!(
        "INSERT INTO accounts (org_id, channel, name, external_id, status, connected_at, created_at) \
         SELECT {org}, 'whatsapp', 'Línea ' || n, '9100' || n, 'connected', 0, 0 FROM ({}) x",
        numbers(10)
    ))
    .await;
    run(db, &format!(
        "INSERT INTO closing_rules (org_id, name, enabled, amount, unit, reason, saved_at, created_at) \
         SELECT {org}, 'Regla ' || n, 1, 1, 'days', 'Sin respuesta', {saved}, {saved} FROM ({}) x",
        numbers(10),
        saved = now - DAY,
    ))
    .await;
    run(
        db,
        &format!(
            "INSERT INTO closing_rule_accounts (org_id, rule_id, account_id, enabled) \
         SELECT {org}, r.id, a.id, 1 FROM closing_rules r JOIN accounts a \
           ON a.name = 'Línea ' || SUBSTR(r.name, 7) AND a.org_id = {org}"
        ),
    )
    .await;
    // The deadline as the rule gives it: a day after the customer's last message.
    run(
        db,
        &format!(
        "INSERT INTO conversations (org_id, account_id, customer_key, status, last_incoming_at, \
           last_message_at, auto_close_at, created_at, updated_at) \
         SELECT {org}, (SELECT MIN(id) FROM accounts WHERE org_id = {org}) + n % 10, \
           '5216' || (10000000 + n), 'open', {start} + n * {step}, {start} + n * {step}, \
           {start} + n * {step} + {DAY}, 0, 0 FROM ({}) x",
        numbers(conversations),
        start = now - DAY + 120_000,
        step = (DAY - 240_000) / conversations,
    ),
    )
    .await;
    let analyze = if db.url.starts_with("sqlite") {
        "ANALYZE"
    } else {
        "ANALYZE conversations"
    };
    run(db, analyze).await;
    println!(
        "seeded {conversations} open conversations on 10 accounts with 10 rules in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// User and system CPU time of this process so far.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let db = Db::connect(&args.database_url).await.expect("the database");
    let hub = Hub::new();
    seed(&db, args.conversations).await;
    let label = args.label;

    // Nothing due: one indexed look at the earliest deadlines.
    let runs = 300;
    let mut times = Vec::with_capacity(runs);
    let cpu_before = cpu();
    for _ in 0..runs {
        let started = Instant::now();
        let closed = close_due(&db, &hub, EpochMs::now()).await.expect("a tick");
        assert_eq!(closed, 0);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let cpu_per_tick = (cpu() - cpu_before).as_secs_f64() * 1000.0 / runs as f64;
    times.sort_by(f64::total_cmp);
    println!("\n{label}: scheduler tick with nothing due ({runs} ticks)");
    println!("| p50 ms | p99 ms | max ms | CPU ms per tick |");
    println!("|---|---|---|---|");
    println!(
        "| {:.2} | {:.2} | {:.2} | {:.3} |",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or_default(),
        cpu_per_tick
    );

    // A thousand due at once (say, after a restart).
    let now = EpochMs::now();
    run(
        &db,
        &format!(
            "UPDATE conversations SET auto_close_at = {due} WHERE id IN \
         (SELECT id FROM conversations WHERE status = 'open' ORDER BY id LIMIT 1000)",
            due = now - 1
        ),
    )
    .await;
    let started = Instant::now();
    let cpu_before = cpu();
    let closed = close_due(&db, &hub, EpochMs::now()).await.expect("a tick");
    println!(
        "\n{label}: a tick closing {closed} due conversations: {:.0} ms ({:.0} ms CPU in this \
         process, which includes SQLite's work but not PostgreSQL's)",
        started.elapsed().as_secs_f64() * 1000.0,
        (cpu() - cpu_before).as_secs_f64() * 1000.0
    );

    // Deadlines falling over one minute, the scheduler ticking as the server does.
    let spread = 60_000;
    let start = EpochMs::now() + 1_000;
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM conversations WHERE status = 'open' ORDER BY id DESC LIMIT 2000",
    )
    .fetch_all(&db.pool)
    .await
    .expect("conversations");
    let mut deadlines = HashMap::new();
    for (i, (id,)) in rows.iter().enumerate() {
        let at = start + (i as i64 * spread) / rows.len() as i64;
        deadlines.insert(*id, at);
        sqlx::query("UPDATE conversations SET auto_close_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(&db.pool)
            .await
            .expect("a deadline");
    }
    let mut late: Vec<f64> = Vec::new();
    let until = Instant::now() + Duration::from_millis(spread as u64 + args.tick_ms + 2_000);
    let mut every = tokio::time::interval(Duration::from_millis(args.tick_ms));
    while Instant::now() < until && late.len() < deadlines.len() {
        every.tick().await;
        let tick = EpochMs::now();
        close_due(&db, &hub, tick).await.expect("a tick");
        let done = EpochMs::now();
        let closed: Vec<(i64,)> = sqlx::query_as(
            "SELECT conversation_id FROM messages WHERE direction = 'system' AND created_at = $1",
        )
        .bind(tick)
        .fetch_all(&db.pool)
        .await
        .expect("closed");
        for (id,) in closed {
            if let Some(deadline) = deadlines.get(&id) {
                late.push((done - *deadline) as f64 / 1000.0);
            }
        }
    }
    late.sort_by(f64::total_cmp);
    println!(
        "\n{label}: {} of {} deadlines over one minute closed, tick every {} s",
        late.len(),
        deadlines.len(),
        args.tick_ms / 1000
    );
    if !late.is_empty() {
        println!("| lateness p50 s | p99 s | max s |");
        println!("|---|---|---|");
        println!(
            "| {:.1} | {:.1} | {:.1} |",
            percentile(&late, 0.5),
            percentile(&late, 0.99),
            late.last().copied().unwrap_or_default()
        );
    }
}
