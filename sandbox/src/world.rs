//! The simulated world: the business's accounts, the customers, every message either side
//! wrote, uploaded media, templates, and the faults a test asked for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{json, Value};

pub const GRAPH_VERSION: &str = "v25.0";
pub const WABA_ID: &str = "102290129340398";
pub const FIRST_LINE_ID: u64 = 106_540_352_242_920;
pub const PAGE_ID: &str = "100200300400500";
pub const PAGE_NAME: &str = "Tienda Sandbox";
pub const IG_ID: &str = "17841400000000001";
pub const IG_USERNAME: &str = "tienda.sandbox";
pub const TWILIO_NUMBER: &str = "14155238886";
pub const CUSTOMER_WINDOW_MS: i64 = 24 * 3_600_000;
pub const HUMAN_AGENT_WINDOW_MS: i64 = 7 * 24 * 3_600_000;

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Whatsapp,
    Messenger,
    Instagram,
    Twilio,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Whatsapp => "whatsapp",
            Channel::Messenger => "messenger",
            Channel::Instagram => "instagram",
            Channel::Twilio => "twilio",
        }
    }
}

/// One WhatsApp line of the business.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
}

/// A simulated customer.
#[derive(Debug, Clone, Serialize)]
pub struct Customer {
    pub channel: Channel,
    /// Phone digits (WhatsApp, Twilio), PSID or IGSID.
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub username: Option<String>,
}

impl Customer {
    pub fn name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string()
    }
}

/// A message in the log, from either side.
#[derive(Debug, Clone, Serialize)]
pub struct Logged {
    pub id: String,
    pub channel: Channel,
    /// The business account: line id, page id, IG id or Twilio number.
    pub account: String,
    pub customer: String,
    /// `customer` or `business`.
    pub from: &'static str,
    pub kind: String,
    pub text: Option<String>,
    /// The request body the business sent, as received.
    pub request: Option<Value>,
    pub at: i64,
    /// Delivery state of a business message as the sandbox reported it.
    pub status: Option<String>,
    pub reference: Option<String>,
    /// Where Twilio statuses of this message go.
    pub callback: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StoredMedia {
    pub bytes: Vec<u8>,
    pub mime_type: String,
}

/// A fault to inject into the next matching API calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// Answer 500 without accepting the message.
    ServerError,
    /// Accept the message (it is delivered), but answer only after the client gave up.
    TimeoutAfterAccept,
    /// Hang, then answer 503 without accepting the message.
    TimeoutBeforeAccept,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Behaviour {
    /// Messages per second each line accepts before answering 130429.
    pub rate_limit_mps: u32,
    /// Probability (0..1) of a duplicated or reordered status.
    pub chaos: f64,
    /// Mark business messages read automatically after this many ms (0: only when asked).
    pub auto_read_ms: u64,
    /// How long a timeout fault hangs, in ms.
    pub hang_ms: u64,
    /// Accounts (line, Page, Instagram or Twilio sender ids) whose every send hangs for
    /// `hang_ms`, then answers 503 without accepting it: a provider slow for one business.
    #[serde(default)]
    pub hanging: Vec<String>,
    /// After the first sync of templates, Meta's review decides one change every this many
    /// ms (`review::REVIEW`); 0: templates change only when asked.
    #[serde(default)]
    pub review_ms: u64,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            rate_limit_mps: 80,
            chaos: 0.0,
            auto_read_ms: 1500,
            hang_ms: 25_000,
            hanging: Vec::new(),
            review_ms: 1500,
        }
    }
}

/// Settings fixed at start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub buzon_url: String,
    pub public_url: String,
    pub app_secret: String,
    pub access_token: String,
    pub twilio_account_sid: String,
    pub twilio_auth_token: String,
}

pub struct World {
    pub settings: Settings,
    pub lines: Vec<Line>,
    pub customers: Vec<Customer>,
    pub log: Vec<Logged>,
    pub media: HashMap<String, StoredMedia>,
    pub templates: Vec<Value>,
    pub faults: Vec<Fault>,
    pub behaviour: Behaviour,
    /// Last message of each customer, per (account, customer): the service window.
    pub last_incoming: HashMap<(String, String), i64>,
    /// Accepted sends per line in the current second, for the rate limit.
    pub rate: HashMap<String, (Instant, u32)>,
    /// Every send request that reached the API, accepted or not (tests count duplicates).
    pub send_attempts: u64,
    /// Meta's review of the templates has started (`review::after_sync`).
    pub reviewed: bool,
    counter: u64,
    rng: u64,
}

pub type Shared = Arc<Mutex<World>>;

impl World {
    pub fn new(settings: Settings, lines: usize) -> World {
        let lines = (0..lines.clamp(1, 10))
            .map(|n| Line {
                phone_number_id: (FIRST_LINE_ID + 2 + n as u64).to_string(),
                display_phone_number: format!("52155500000{:02}", n + 1),
                verified_name: if n == 0 {
                    "Ventas Sandbox".to_string()
                } else {
                    format!("Ventas Sandbox {}", n + 1)
                },
            })
            .collect();
        let customer =
            |channel, id: &str, first: &str, last: &str, username: Option<&str>| Customer {
                channel,
                id: id.to_string(),
                first_name: first.to_string(),
                last_name: last.to_string(),
                username: username.map(str::to_string),
            };
        World {
            settings,
            lines,
            customers: vec![
                customer(Channel::Whatsapp, "5215512345678", "Lucía", "Pérez", None),
                customer(Channel::Whatsapp, "5215587654321", "Jorge", "Ramírez", None),
                customer(Channel::Messenger, "6655443322", "Camila", "Rojas", None),
                customer(
                    Channel::Instagram,
                    "7788990011",
                    "Diego",
                    "Hernández",
                    Some("diego.mx"),
                ),
                customer(Channel::Twilio, "5491155556666", "Martín", "Gómez", None),
            ],
            log: Vec::new(),
            media: HashMap::new(),
            templates: default_templates(),
            faults: Vec::new(),
            behaviour: Behaviour::default(),
            last_incoming: HashMap::new(),
            rate: HashMap::new(),
            send_attempts: 0,
            reviewed: false,
            counter: 0,
            rng: 0x2545_f491_4f6c_dd1d,
        }
    }

    pub fn next_number(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// A WhatsApp message id in Meta's style.
    pub fn wamid(&mut self) -> String {
        use base64::Engine;
        let n = self.next_number();
        let raw = format!("SANDBOX{:020}{}", n, now_ms());
        format!(
            "wamid.HBgL{}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    pub fn mid(&mut self) -> String {
        format!("m_sandbox{:010}", self.next_number())
    }

    pub fn media_id(&mut self) -> String {
        format!("{}", 9_000_000_000u64 + self.next_number())
    }

    pub fn twilio_sid(&mut self, prefix: &str) -> String {
        format!("{prefix}{:032x}", self.next_number())
    }

    /// A number in 0..1 from a deterministic generator.
    pub fn chance(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng % 10_000) as f64 / 10_000.0
    }

    pub fn line(&self, id: &str) -> Option<&Line> {
        self.lines.iter().find(|l| l.phone_number_id == id)
    }

    pub fn customer(&self, channel: Channel, id: &str) -> Option<&Customer> {
        self.customers
            .iter()
            .find(|c| c.channel == channel && c.id == id)
    }

    /// The customer, created with a generated name if new.
    pub fn customer_or_new(&mut self, channel: Channel, id: &str, name: Option<&str>) -> Customer {
        if let Some(found) = self.customer(channel, id) {
            return found.clone();
        }
        let (first, last) = match name.map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => match name.split_once(' ') {
                Some((f, l)) => (f.to_string(), l.to_string()),
                None => (name.to_string(), String::new()),
            },
            None => (
                "Cliente".to_string(),
                id.chars().rev().take(4).collect::<String>(),
            ),
        };
        let customer = Customer {
            channel,
            id: id.to_string(),
            first_name: first,
            last_name: last,
            username: None,
        };
        self.customers.push(customer.clone());
        customer
    }

    /// Takes the next queued fault, if any.
    pub fn take_fault(&mut self) -> Option<Fault> {
        if self.faults.is_empty() {
            None
        } else {
            Some(self.faults.remove(0))
        }
    }

    /// Counts an accepted send against the line's per-second limit; `false` when over.
    pub fn within_rate(&mut self, account: &str) -> bool {
        let limit = self.behaviour.rate_limit_mps;
        let entry = self
            .rate
            .entry(account.to_string())
            .or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= Duration::from_secs(1) {
            *entry = (Instant::now(), 0);
        }
        if entry.1 >= limit {
            return false;
        }
        entry.1 += 1;
        true
    }

    pub fn record(&mut self, logged: Logged) {
        self.log.push(logged);
    }

    pub fn set_status(&mut self, id: &str, status: &str) {
        if let Some(entry) = self.log.iter_mut().rev().find(|l| l.id == id) {
            entry.status = Some(status.to_string());
        }
    }

    pub fn template(&self, name: &str, language: &str) -> Option<&Value> {
        self.templates
            .iter()
            .find(|t| t["name"] == name && t["language"] == language)
    }
}

fn default_templates() -> Vec<Value> {
    vec![
        json!({"id": "1001", "name": "seguimiento_pedido", "language": "es_MX", "status": "APPROVED",
               "category": "UTILITY", "components": [
                   {"type": "HEADER", "format": "TEXT", "text": "Tu pedido"},
                   {"type": "BODY", "text": "Hola {{1}}, tu pedido {{2}} está en camino."},
                   {"type": "FOOTER", "text": "Tienda Sandbox"}]}),
        json!({"id": "1002", "name": "retomar_conversacion", "language": "es_MX", "status": "APPROVED",
               "category": "MARKETING", "components": [
                   {"type": "BODY", "text": "Hola {{1}}, ¿seguimos con tu cotización? Responde a este mensaje y te ayudamos."},
                   {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Sí, continuar"}]}]}),
        json!({"id": "1003", "name": "codigo_acceso", "language": "es_MX", "status": "APPROVED",
               "category": "AUTHENTICATION", "components": [
                   {"type": "BODY", "text": "Tu código es {{1}}."}]}),
        json!({"id": "1004", "name": "order_update", "language": "en_US", "status": "APPROVED",
               "category": "UTILITY", "components": [
                   {"type": "BODY", "text": "Hi {{1}}, your order {{2}} has shipped."}]}),
        json!({"id": "1005", "name": "promo_rechazada", "language": "es_MX", "status": "REJECTED",
               "category": "MARKETING", "rejected_reason": "TAG_CONTENT_MISMATCH", "components": [
                   {"type": "BODY", "text": "¡Ofertas!"}]}),
        // Decided by Meta's review after the first sync (`review::REVIEW`).
        json!({"id": "1006", "name": "nueva_coleccion", "language": "es_MX", "status": "PENDING",
               "category": "MARKETING", "components": [
                   {"type": "BODY", "text": "Hola {{1}}, llegó la nueva colección. ¿Te mando el catálogo?"}]}),
        json!({"id": "1007", "name": "liquidacion_total", "language": "es_MX", "status": "PENDING",
               "category": "MARKETING", "components": [
                   {"type": "BODY", "text": "{{1}}"}]}),
        json!({"id": "1008", "name": "recordatorio_pago", "language": "es_MX", "status": "APPROVED",
               "category": "UTILITY", "quality_score": {"score": "GREEN"}, "components": [
                   {"type": "BODY", "text": "Hola {{1}}, te recordamos que tu pago de {{2}} vence mañana."}]}),
    ]
}

/// A tiny valid file of each kind, for customer media when none is given.
pub fn sample_file(kind: &str) -> StoredMedia {
    let (bytes, mime): (Vec<u8>, &str) = match kind {
        "image" => (png(96, 64, [0xF2, 0x8C, 0x28]), "image/png"),
        "sticker" => (b"RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0\x2f\0\0\0\x10\x07\x10\x11\x11\x88\x88\xfe\x07\0".to_vec(), "image/webp"),
        "gif" => (b"GIF89a\x01\0\x01\0\x80\0\0\xff\xff\xff\0\0\0!\xf9\x04\x01\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;".to_vec(), "image/gif"),
        "video" => (b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom\0\0\0\x08free".to_vec(), "video/mp4"),
        "audio" | "voice" => (b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\x01\x13OpusHead\x01\x01\x38\x01\x80\xbb\0\0\0\0\0".to_vec(), "audio/ogg"),
        _ => (b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n".to_vec(), "application/pdf"),
    };
    StoredMedia {
        bytes,
        mime_type: mime.to_string(),
    }
}

/// A valid PNG of one colour (uncompressed deflate, so no compressor is needed).
pub fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= b as u32;
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    // Each scanline: filter type 0, then the pixels.
    let mut scanline = vec![0u8];
    for _ in 0..width {
        scanline.extend_from_slice(&rgb);
    }
    let raw = scanline.repeat(height as usize);
    // zlib stream of stored blocks.
    let mut zlib = vec![0x78, 0x01];
    for (i, block) in raw.chunks(65_535).enumerate() {
        let last = (i + 1) * 65_535 >= raw.len();
        zlib.push(u8::from(last));
        zlib.extend_from_slice(&(block.len() as u16).to_le_bytes());
        zlib.extend_from_slice(&(!(block.len() as u16)).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + byte as u32) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", &zlib);
    chunk(&mut out, b"IEND", &[]);
    out
}
