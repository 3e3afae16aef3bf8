//! Webhook ingest against a running Buzón (see `bench/ingest.sh`, which sets one up):
//! messages per second durably stored, acknowledgement latency, webhook-to-WebSocket delivery
//! latency with connected agents, server CPU per message, server memory, and a raw SQLite
//! insert baseline with the same durability settings.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use channels::signature::{ascii_json, meta_signature};
use clap::Parser;
use futures_util::StreamExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser, Debug)]
struct Args {
    /// Buzón's address.
    #[arg(long, default_value = "http://127.0.0.1:3400")]
    base: String,
    /// The server's process id (CPU and memory are read from /proc).
    #[arg(long)]
    pid: u32,
    #[arg(long, default_value = "bench-app-secret")]
    app_secret: String,
    /// Phone-number ids of the connected lines, comma separated.
    #[arg(long)]
    lines: String,
    /// Distinct customers writing.
    #[arg(long, default_value_t = 2000)]
    customers: usize,
    /// Concurrent webhook senders in the throughput phase.
    #[arg(long, default_value_t = 64)]
    senders: usize,
    /// Seconds of the throughput phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Messages per second in the latency phase.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Session cookies of agents to connect to the live stream (one per line in this file).
    #[arg(long)]
    agent_cookies: Option<String>,
    /// An SQLite file for the raw insert baseline.
    #[arg(long)]
    baseline_db: Option<String>,
    /// A label for the printed results (e.g. the backend).
    #[arg(long, default_value = "")]
    label: String,
}

fn micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index] as f64 / 1000.0
}

/// utime + stime of the process, in milliseconds.
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks * 1000.0 / 100.0
}

/// (resident, peak resident) in KiB.
fn memory_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The microseconds after `bench ` in an event's text.
fn bench_time(text: &str) -> Option<u64> {
    let start = text.find("\"bench ")? + "\"bench ".len();
    let digits = text[start..].bytes().take_while(u8::is_ascii_digit).count();
    text[start..start + digits].parse().ok()
}

struct Sender {
    http: reqwest::Client,
    url: String,
    secret: String,
    lines: Vec<String>,
    customers: usize,
    counter: AtomicU64,
}

impl Sender {
    /// Posts one webhook with one message; returns the acknowledgement latency in µs.
    async fn one(&self, run: &str) -> Option<u64> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let line = &self.lines[(n as usize) % self.lines.len()];
        let customer = 5_215_500_000_000u64 + (n % self.customers as u64);
        let sent = micros();
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{
            "field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1", "phone_number_id": line},
            "contacts": [{"profile": {"name": format!("Cliente {customer}")}, "wa_id": customer.to_string()}],
            "messages": [{"from": customer.to_string(), "id": format!("wamid.{run}.{n}"),
                "timestamp": (sent / 1_000_000).to_string(), "type": "text",
                "text": {"body": format!("bench {sent}")}}]}}]}]});
        let bytes = ascii_json(&body);
        let signature = meta_signature(self.secret.as_bytes(), bytes.as_bytes());
        let response = self
            .http
            .post(&self.url)
            .header("x-hub-signature-256", signature)
            .body(bytes)
            .send()
            .await
            .ok()?;
        response
            .status()
            .is_success()
            .then(|| micros().saturating_sub(sent))
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let sender = Arc::new(Sender {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(args.senders * 2)
            .build()
            .unwrap(),
        url: format!("{}/webhooks/whatsapp", args.base),
        secret: args.app_secret.clone(),
        lines: args.lines.split(',').map(str::to_string).collect(),
        customers: args.customers,
        counter: AtomicU64::new(0),
    });
    let label = if args.label.is_empty() {
        String::new()
    } else {
        format!("[{}] ", args.label)
    };

    // Agents on the live stream.
    let (rss_before_agents, _) = memory_kib(args.pid);
    // One list per agent, so a thousand agents do not contend for one lock.
    let mut deliveries: Vec<Arc<Mutex<Vec<u64>>>> = Vec::new();
    let stop = Arc::new(AtomicBool::new(false));
    let mut agents = 0usize;
    if let Some(path) = &args.agent_cookies {
        let cookies = std::fs::read_to_string(path).unwrap();
        for cookie in cookies.lines().filter(|l| !l.is_empty()) {
            let ws = args.base.replacen("http://", "ws://", 1);
            let mut request = format!("{ws}/api/live").into_client_request().unwrap();
            request
                .headers_mut()
                .insert("cookie", format!("buzon_session={cookie}").parse().unwrap());
            let Ok((mut socket, _)) = tokio_tungstenite::connect_async(request).await else {
                eprintln!("an agent could not connect");
                continue;
            };
            agents += 1;
            let mine = Arc::new(Mutex::new(Vec::new()));
            deliveries.push(mine.clone());
            let stop = stop.clone();
            tokio::spawn(async move {
                while let Some(Ok(message)) = socket.next().await {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    // The send time is in the message body ("bench <µs>"); finding it in the
                    // text keeps this end from costing more than the server it measures.
                    if let Message::Text(text) = message {
                        if let Some(sent) = bench_time(&text) {
                            mine.lock().unwrap().push(micros().saturating_sub(sent));
                        }
                    }
                }
            });
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let (rss_with_agents, _) = memory_kib(args.pid);
    if agents > 0 {
        println!(
            "{label}idle agents: {agents} connected, server RSS {:.1} MiB -> {:.1} MiB = {:.1} KiB per agent",
            rss_before_agents as f64 / 1024.0,
            rss_with_agents as f64 / 1024.0,
            (rss_with_agents as f64 - rss_before_agents as f64) / agents as f64
        );
    }

    // Phase 1: as many messages as the server takes.
    let cpu_start = cpu_ms(args.pid);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let acked = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.senders {
        let (sender, acked) = (sender.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                if let Some(latency) = sender.one("t").await {
                    acked.fetch_add(1, Ordering::Relaxed);
                    latencies.push(latency);
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_used = cpu_ms(args.pid) - cpu_start;
    let stored = acked.load(Ordering::Relaxed);
    latencies.sort_unstable();
    println!(
        "{label}throughput: {stored} messages acknowledged (stored) in {elapsed:.1} s = {:.0} msg/s with {} concurrent senders; ack p50 {:.1} ms, p99 {:.1} ms; server CPU {:.3} ms per message",
        stored as f64 / elapsed,
        args.senders,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        cpu_used / stored.max(1) as f64
    );
    for list in &deliveries {
        list.lock().unwrap().clear();
    }

    // Phase 2: a steady rate, for latencies.
    let rate = args.rate.max(1);
    let total = rate * 5;
    let interval = Duration::from_nanos(1_000_000_000 / rate);
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let steady = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::with_capacity(total as usize);
    let steady_started = Instant::now();
    for _ in 0..total {
        ticker.tick().await;
        let (sender, steady) = (sender.clone(), steady.clone());
        handles.push(tokio::spawn(async move {
            if let Some(latency) = sender.one("s").await {
                steady.lock().unwrap().push(latency);
            }
        }));
    }
    for handle in handles {
        let _ = handle.await;
    }
    let steady_elapsed = steady_started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut steady = steady.lock().unwrap().clone();
    steady.sort_unstable();
    println!(
        "{label}steady {rate} msg/s for {steady_elapsed:.1} s: {} acknowledged; ack p50 {:.1} ms, p99 {:.1} ms",
        steady.len(),
        percentile(&steady, 0.5),
        percentile(&steady, 0.99)
    );
    if agents > 0 {
        let mut delivered: Vec<u64> = deliveries
            .iter()
            .flat_map(|list| list.lock().unwrap().clone())
            .collect();
        delivered.sort_unstable();
        println!(
            "{label}delivery to {agents} agents: {} deliveries; webhook-to-WebSocket p50 {:.1} ms, p99 {:.1} ms",
            delivered.len(),
            percentile(&delivered, 0.5),
            percentile(&delivered, 0.99)
        );
    }
    stop.store(true, Ordering::Relaxed);
    let (rss, peak) = memory_kib(args.pid);
    println!(
        "{label}server memory: {:.1} MiB resident now, {:.1} MiB peak",
        rss as f64 / 1024.0,
        peak as f64 / 1024.0
    );

    if let Some(path) = &args.baseline_db {
        baseline(path, stored as f64 / elapsed, &label).await;
    }
}

/// Raw inserts into SQLite with Buzón's settings (WAL, synchronous FULL), one row per
/// message with a unique provider id, committed in groups like Buzón's writer does.
async fn baseline(path: &str, buzon_rate: f64, label: &str) {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    use sqlx::ConnectOptions;
    let _ = std::fs::remove_file(path);
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .connect()
        .await
        .unwrap();
    sqlx::query(
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, account_id BIGINT NOT NULL, \
         provider_id TEXT NOT NULL, body TEXT, created_at BIGINT NOT NULL, \
         UNIQUE (account_id, provider_id))",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    for group in [1usize, 32] {
        let count = 20_000usize;
        let started = Instant::now();
        let mut n = 0;
        while n < count {
            let mut tx = sqlx::Connection::begin(&mut conn).await.unwrap();
            for _ in 0..group {
                sqlx::query(
                    "INSERT INTO messages (account_id, provider_id, body, created_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(1i64)
                .bind(format!("wamid.{group}.{n}"))
                .bind("bench baseline")
                .bind(n as i64)
                .execute(&mut *tx)
                .await
                .unwrap();
                n += 1;
            }
            tx.commit().await.unwrap();
        }
        let rate = count as f64 / started.elapsed().as_secs_f64();
        println!(
            "{label}raw SQLite baseline, {group} row(s) per commit: {rate:.0} rows/s; Buzón reached {:.1}% of it",
            buzon_rate / rate * 100.0
        );
    }
}
