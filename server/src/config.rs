//! Configuration: command-line flags, each with an environment-variable equivalent.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "buzon",
    version,
    about = "Buzón: omnichannel sales inbox with a CRM"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Settings every subcommand shares.
#[derive(Clone, Args)]
pub struct Common {
    /// Where Buzón keeps its files: the SQLite database by default, the server key, media.
    #[arg(long, env = "BUZON_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`. Default: SQLite in the data
    /// directory.
    #[arg(
        long,
        env = "BUZON_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// The key that seals provider credentials in the database, as 64 hexadecimal digits.
    /// Several servers sharing one PostgreSQL database need the same key. Default: read from
    /// (or created in) `secret.key` in the data directory.
    #[arg(long, env = "BUZON_SECRET_KEY", global = true, hide_env_values = true)]
    pub secret_key: Option<String>,
}

/// The database URL without its password, and never the server key.
impl std::fmt::Debug for Common {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Common")
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(app::db::redacted_url),
            )
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Common {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("buzon.db").display()))
    }

    /// Creates the data directory readable by its owner only: it holds the database, the
    /// server key and the files customers sent. A directory that exists is left as it is.
    pub fn create_data_dir(&self) -> std::io::Result<()> {
        if self.data_dir.exists() {
            return Ok(());
        }
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&self.data_dir)
    }

    /// The server key: given, or kept in the data directory.
    pub fn secrets(&self) -> Result<app::secrets::SecretBox, app::secrets::SecretError> {
        match &self.secret_key {
            Some(hex) => app::secrets::SecretBox::from_hex(hex),
            None => app::secrets::SecretBox::load_or_create(&self.data_dir.join("secret.key")),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve(Box<ServeArgs>),
    /// Apply the database migrations and exit.
    Migrate,
    /// Manage organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage connected accounts (WhatsApp lines, Pages, Instagram accounts, Twilio senders).
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage CRM contacts.
    #[command(subcommand)]
    Contact(ContactCommand),
}

#[derive(Debug, Subcommand)]
pub enum ContactCommand {
    /// Add a contact; the phone becomes its primary and WhatsApp phone.
    Add {
        /// The organization's name or id.
        #[arg(long)]
        org: String,
        #[arg(long)]
        first_name: String,
        #[arg(long, default_value = "")]
        last_name: String,
        /// With or without `+`, spaces or dashes: only the digits are kept.
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// The email of the user who owns the contact.
        #[arg(long)]
        owner: Option<String>,
    },
    /// Import contacts from a CSV file (comma or semicolon separated, UTF-8 or Windows-1252),
    /// its columns recognised by their headers (`nombre`, `teléfono`, `email`, `first_name`…,
    /// or a custom field's name). Prints each row refused and why.
    Import {
        /// The organization's name or id.
        #[arg(long)]
        org: String,
        /// The email of the user who owns the contacts (otherwise nobody).
        #[arg(long)]
        owner: Option<String>,
        /// Make the rows that match an existing contact too (by default they are skipped).
        #[arg(long)]
        keep_duplicates: bool,
        file: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Connect an account, or update its settings if the organization already has it. The
    /// credentials are read from standard input as JSON: `{"access_token": …, "app_secret": …,
    /// "verify_token": …, "auth_token": …}` (the ones the channel needs).
    Connect {
        /// The organization's name or id.
        #[arg(long)]
        org: String,
        /// whatsapp, messenger, instagram or twilio.
        #[arg(long)]
        channel: String,
        /// The phone-number id, Page id, Instagram account id, or Twilio number (digits).
        #[arg(long)]
        external_id: String,
        /// How the team calls it, e.g. "Ventas norte".
        #[arg(long)]
        name: String,
        /// The public number or username, as shown to the team.
        #[arg(long)]
        handle: Option<String>,
        /// WhatsApp Business Account id (for templates).
        #[arg(long)]
        business_id: Option<String>,
        /// Twilio account SID.
        #[arg(long)]
        account_sid: Option<String>,
        /// The email of the user who connects it: the one who may delete its conversations.
        #[arg(long)]
        connected_by: Option<String>,
        /// Read the credentials (JSON) from standard input.
        #[arg(long, required = true)]
        credentials_stdin: bool,
    },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, env = "BUZON_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// The address people reach Buzón at (used in links and the same-origin check). Cookies
    /// are marked Secure when it starts with https. Default: http://<listen address>.
    #[arg(long, env = "BUZON_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The folder with the compiled browser assets (pkg/, icons, manifest).
    #[arg(long, env = "BUZON_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// SMTP server for invitation emails, e.g. `smtp://mail.example.com:587?tls=required` or
    /// `smtps://user:pass@mail.example.com`. Without it, admins copy invitation links by hand.
    #[arg(long, env = "BUZON_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of invitation emails.
    #[arg(
        long,
        env = "BUZON_SMTP_FROM",
        default_value = "Buzón <buzon@localhost>"
    )]
    pub smtp_from: String,
    /// How long invitation links stay valid, in hours.
    #[arg(long, env = "BUZON_INVITE_TTL_HOURS", default_value_t = 72)]
    pub invite_ttl_hours: i64,
    /// Behind a reverse proxy or load balancer: take the client's address from the last entry
    /// of `X-Forwarded-For` (for login throttling) instead of the connection's.
    #[arg(long, env = "BUZON_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// The Graph API base, with its version (WhatsApp Cloud API, Messenger, Instagram). Point
    /// it at the sandbox to try Buzón without Meta.
    #[arg(long, env = "BUZON_GRAPH_API_URL", default_value = channels::api::META_GRAPH_URL)]
    pub graph_api_url: String,
    /// Twilio's API base.
    #[arg(long, env = "BUZON_TWILIO_API_URL", default_value = channels::api::TWILIO_API_URL)]
    pub twilio_api_url: String,
    /// Twilio's Content API base (its WhatsApp templates).
    #[arg(
        long,
        env = "BUZON_TWILIO_CONTENT_URL",
        default_value = channels::api::TWILIO_CONTENT_URL
    )]
    pub twilio_content_url: String,
    /// Development only: origins that received files may also be downloaded from, over http
    /// and at private addresses, such as the sandbox's (`http://127.0.0.1:3300`). Without it,
    /// a file comes only from its provider's own hosts, over https, at public addresses.
    #[arg(long, env = "BUZON_INSECURE_MEDIA_ORIGINS", value_delimiter = ',')]
    pub insecure_media_origins: Vec<String>,
    /// How long a provider call may take before its outcome counts as unknown, in seconds.
    #[arg(long, env = "BUZON_PROVIDER_TIMEOUT_SECS", default_value_t = 20)]
    pub provider_timeout_secs: u64,
    /// The first retry delay of a failed send, doubled at each attempt (ms).
    #[arg(long, env = "BUZON_RETRY_BASE_MS", default_value_t = 1000, hide = true)]
    pub retry_base_ms: i64,
    /// How long a send whose outcome is unknown waits for the provider's webhooks (ms).
    #[arg(
        long,
        env = "BUZON_RECONCILE_WAIT_MS",
        default_value_t = 30_000,
        hide = true
    )]
    pub reconcile_wait_ms: i64,
    /// How often the automatic closing rules are applied (ms).
    #[arg(
        long,
        env = "BUZON_CLOSING_TICK_MS",
        default_value_t = 15_000,
        hide = true
    )]
    pub closing_tick_ms: u64,
    /// The bearer token `GET /metrics` asks for. Without it, only this machine may read the
    /// metrics (a request from loopback not forwarded by a proxy).
    #[arg(long, env = "BUZON_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Keep media (received, uploaded and sent files) in this S3-compatible bucket instead of
    /// the data directory: required when several instances share one PostgreSQL database.
    #[arg(long, env = "BUZON_S3_BUCKET")]
    pub s3_bucket: Option<String>,
    /// The S3-compatible server (MinIO, Ceph, R2…); Amazon S3 when absent.
    #[arg(long, env = "BUZON_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,
    /// The bucket's region (or `AWS_REGION`).
    #[arg(long, env = "BUZON_S3_REGION")]
    pub s3_region: Option<String>,
    /// A folder of the bucket to keep the files under.
    #[arg(long, env = "BUZON_S3_PREFIX")]
    pub s3_prefix: Option<String>,
    /// The access key (or `AWS_ACCESS_KEY_ID`).
    #[arg(long, env = "BUZON_S3_ACCESS_KEY_ID", hide_env_values = true)]
    pub s3_access_key_id: Option<String>,
    /// The secret key (or `AWS_SECRET_ACCESS_KEY`).
    #[arg(long, env = "BUZON_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,
    /// The one-time code that creates the first administrator on a fresh installation.
    /// Without it, the server draws one and prints it (with the setup link) on every start
    /// until the first organization exists.
    #[arg(long, env = "BUZON_SETUP_TOKEN", hide_env_values = true)]
    pub setup_token: Option<String>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            listen: "127.0.0.1:3000".parse().expect("valid address"),
            public_url: None,
            site_root: PathBuf::from("target/site"),
            smtp_url: None,
            smtp_from: "Buzón <buzon@localhost>".to_string(),
            invite_ttl_hours: 72,
            trust_proxy: false,
            graph_api_url: channels::api::META_GRAPH_URL.to_string(),
            twilio_api_url: channels::api::TWILIO_API_URL.to_string(),
            twilio_content_url: channels::api::TWILIO_CONTENT_URL.to_string(),
            insecure_media_origins: Vec::new(),
            provider_timeout_secs: 20,
            retry_base_ms: 1000,
            reconcile_wait_ms: 30_000,
            closing_tick_ms: 15_000,
            metrics_token: None,
            setup_token: None,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: None,
            s3_prefix: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization (with its built-in roles).
    Add {
        /// The organization's name.
        #[arg(long)]
        name: String,
        /// The country of phone numbers typed without a prefix (ISO 3166, e.g. MX).
        #[arg(long)]
        country: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an active user in an organization; the password is read from standard input.
    Add {
        /// The organization's name or id.
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// admin, seller, editor, or the name of a custom role.
        #[arg(long, default_value = "seller")]
        role: String,
        /// Read the password from standard input (required; keeps it out of the shell history).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Interface language: es or en.
        #[arg(long, default_value = "es")]
        language: String,
    },
}

impl ServeArgs {
    /// The S3 media store's settings, when a bucket is configured.
    pub fn s3(&self) -> Option<crate::object_media::S3Settings> {
        let bucket = self.s3_bucket.clone().filter(|b| !b.is_empty())?;
        Some(crate::object_media::S3Settings {
            bucket,
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            prefix: self.s3_prefix.clone(),
            access_key_id: self.s3_access_key_id.clone(),
            secret_access_key: self.s3_secret_access_key.clone(),
        })
    }

    /// The serve settings when no subcommand is given: flags absent, environment applies.
    pub fn parse_from_env() -> ServeArgs {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Only::parse_from(["buzon"]).serve
    }
}
