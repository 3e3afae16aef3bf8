//! `buzon`: the server binary and its administration commands.

use std::process::ExitCode;

use app::db::Db;
use buzon_server::cli::{self, AccountConnect, ContactAdd, UserAdd};
use buzon_server::config::{
    AccountCommand, Cli, Command, ContactCommand, OrgCommand, ServeArgs, UserCommand,
};
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Rendering a page allocates and frees many small values; with the system allocator a quarter
/// of the server's time went to it (`bench/README.md`). Built without transparent huge pages
/// (`no_thp`), which doubled the idle server's resident memory and bought no speed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("BUZON_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("buzon: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let common = cli.common;
    common
        .create_data_dir()
        .map_err(|e| format!("cannot create {}: {e}", common.data_dir.display()))?;
    let command = cli
        .command
        .unwrap_or_else(|| Command::Serve(Box::new(ServeArgs::parse_from_env())));
    match command {
        Command::Serve(args) => buzon_server::launch(common, *args, shutdown_signal())
            .await
            .map_err(|e| e.to_string()),
        Command::Migrate => {
            let db = open(&common.database_url()).await?;
            println!("migrations applied ({:?})", db.backend);
            Ok(())
        }
        Command::Org(OrgCommand::Add { name, country }) => {
            let db = open(&common.database_url()).await?;
            let id = cli::org_add(&db, &name, country.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            println!("organization {id} created: {name}");
            Ok(())
        }
        Command::User(UserCommand::Add {
            org,
            email,
            name,
            role,
            password_stdin: _,
            language,
        }) => {
            let db = open(&common.database_url()).await?;
            let user = UserAdd {
                org: &org,
                email: &email,
                name: &name,
                role: &role,
                language: &language,
            };
            let id = cli::user_add(&db, user, std::io::stdin())
                .await
                .map_err(|e| e.to_string())?;
            println!("user {id} created: {email}");
            Ok(())
        }
        Command::Contact(ContactCommand::Add {
            org,
            first_name,
            last_name,
            phone,
            email,
            owner,
        }) => {
            let db = open(&common.database_url()).await?;
            let contact = ContactAdd {
                org: &org,
                first_name: &first_name,
                last_name: &last_name,
                phone: phone.as_deref(),
                email: email.as_deref(),
                owner: owner.as_deref(),
            };
            let id = cli::contact_add(&db, contact)
                .await
                .map_err(|e| e.to_string())?;
            println!("contact {id} created: {first_name} {last_name}");
            Ok(())
        }
        Command::Contact(ContactCommand::Import {
            org,
            owner,
            keep_duplicates,
            file,
        }) => {
            let db = open(&common.database_url()).await?;
            let imported = cli::contact_import(
                &db,
                &org,
                owner.as_deref(),
                keep_duplicates,
                &file,
                |done, all| {
                    eprint!("\r{done} / {all} rows");
                },
            )
            .await
            .map_err(|e| e.to_string())?;
            eprintln!();
            for (row, why) in &imported.rejects {
                println!("row {row} refused: {why}");
            }
            println!(
                "{} contacts created, {} skipped (already there), {} rows refused",
                imported.created,
                imported.skipped,
                imported.rejects.len()
            );
            Ok(())
        }
        Command::Account(AccountCommand::Connect {
            org,
            channel,
            external_id,
            name,
            handle,
            business_id,
            account_sid,
            connected_by,
            credentials_stdin: _,
        }) => {
            let secrets = common.secrets().map_err(|e| e.to_string())?;
            let db = open(&common.database_url()).await?;
            let account = AccountConnect {
                org: &org,
                channel: &channel,
                external_id: &external_id,
                name: &name,
                handle: handle.as_deref(),
                business_id: business_id.as_deref(),
                account_sid: account_sid.as_deref(),
                connected_by: connected_by.as_deref(),
            };
            let id = cli::account_connect(&db, &secrets, account, std::io::stdin())
                .await
                .map_err(|e| e.to_string())?;
            println!("account {id} connected: {channel} {external_id}");
            Ok(())
        }
    }
}

/// Opens the database and applies migrations; a failed migration stops here with its reason.
async fn open(url: &str) -> Result<Db, String> {
    let db = Db::connect(url).await.map_err(|e| e.to_string())?;
    db.migrate().await.map_err(|e| e.to_string())?;
    Ok(db)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
