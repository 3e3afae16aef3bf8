//! `buzon-sandbox`: see the library's documentation.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use sandbox::world::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "buzon-sandbox",
    about = "A local Meta Graph API and Twilio for trying Buzón"
)]
struct Cli {
    #[arg(long, env = "SANDBOX_LISTEN", default_value = "127.0.0.1:3300")]
    listen: SocketAddr,
    /// Where Buzón receives webhooks.
    #[arg(
        long,
        env = "SANDBOX_BUZON_URL",
        default_value = "http://127.0.0.1:3000"
    )]
    buzon_url: String,
    /// This sandbox's own address, as Buzón reaches it (media links).
    #[arg(long, env = "SANDBOX_PUBLIC_URL")]
    public_url: Option<String>,
    #[arg(long, env = "SANDBOX_APP_SECRET", default_value = "sandbox-app-secret")]
    app_secret: String,
    #[arg(
        long,
        env = "SANDBOX_ACCESS_TOKEN",
        default_value = "sandbox-access-token"
    )]
    access_token: String,
    #[arg(
        long,
        env = "SANDBOX_TWILIO_ACCOUNT_SID",
        default_value = "AC00000000000000000000000000sandbox"
    )]
    twilio_account_sid: String,
    #[arg(
        long,
        env = "SANDBOX_TWILIO_AUTH_TOKEN",
        default_value = "sandbox-twilio-token"
    )]
    twilio_auth_token: String,
    /// How many WhatsApp lines the business has (1 to 10).
    #[arg(long, env = "SANDBOX_LINES", default_value_t = 1)]
    lines: usize,
    /// Probability (0 to 1) of duplicated or reordered statuses.
    #[arg(long, env = "SANDBOX_CHAOS", default_value_t = 0.0)]
    chaos: f64,
    /// Customers write on their own every this many seconds (0: only when asked).
    #[arg(long, env = "SANDBOX_DEMO_EVERY", default_value_t = 0)]
    demo_every: u64,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let public_url = cli
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", cli.listen));
    let world = sandbox::world(
        Settings {
            buzon_url: cli.buzon_url.trim_end_matches('/').to_string(),
            public_url: public_url.trim_end_matches('/').to_string(),
            app_secret: cli.app_secret.clone(),
            access_token: cli.access_token.clone(),
            twilio_account_sid: cli.twilio_account_sid.clone(),
            twilio_auth_token: cli.twilio_auth_token.clone(),
        },
        cli.lines,
    );
    world.lock().unwrap().behaviour.chaos = cli.chaos.clamp(0.0, 1.0);
    if cli.demo_every > 0 {
        tokio::spawn(sandbox::demo(
            world.clone(),
            Duration::from_secs(cli.demo_every),
        ));
    }
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {}: {e}", cli.listen));
    tracing::info!(address = %cli.listen, buzon = %cli.buzon_url, "sandbox is listening; open /sandbox");
    axum::serve(listener, sandbox::router(world))
        .await
        .expect("the sandbox server runs");
}
