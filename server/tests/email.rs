//! Invitations by email, through a real SMTP server (Python's aiosmtpd) that the test starts.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use buzon_server::config::ServeArgs;
use common::{role_id, Backend, TestServer};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_databases!(
    invitation_is_emailed_and_its_link_signs_the_invitee_in,
    an_unreachable_mail_server_creates_no_invitation,
);

/// aiosmtpd storing every message it receives in a maildir.
struct SmtpServer {
    port: u16,
    maildir: PathBuf,
    child: Child,
}

impl SmtpServer {
    async fn start() -> SmtpServer {
        let port = free_port();
        let maildir =
            std::env::temp_dir().join(format!("buzon_mail_{}_{port}", std::process::id()));
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with aiosmtpd (pip install aiosmtpd) is needed by the email tests");
        // Owned at once, so the process is killed and reaped on every path (see Drop).
        let server = SmtpServer {
            port,
            maildir,
            child,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not start on port {port}");
    }

    /// The raw messages delivered so far.
    fn messages(&self) -> Vec<String> {
        read_dir(&self.maildir.join("new"))
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

fn read_dir(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Decodes a quoted-printable body.
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn invitation_is_emailed_and_its_link_signs_the_invitee_in(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let server = TestServer::start_with(
        backend,
        ServeArgs {
            smtp_url: Some(format!("smtp://127.0.0.1:{}", smtp.port)),
            public_url: Some("https://buzon.andinas.example".to_string()),
            ..ServeArgs::default()
        },
    )
    .await;
    let admin = server.setup_admin().await;
    let seller_role = role_id(&admin, "seller").await.to_string();
    let outcome = admin
        .json(
            "invite_user",
            &[
                ("email", "sergio@andinas.example"),
                ("role_id", &seller_role),
            ],
        )
        .await;
    // Emailed, so the admin is not handed the link.
    assert_eq!(
        outcome,
        json!({"email": "sergio@andinas.example", "link": null})
    );

    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert!(message.contains("To: sergio@andinas.example"), "{message}");
    let (_, body) = message
        .split_once("\n\n")
        .or_else(|| message.split_once("\r\n\r\n"))
        .unwrap();
    let body = quoted_printable(body);
    assert!(
        body.contains("Ana Admin te invitó a unirte a Ventas Andinas"),
        "{body}"
    );
    let link = body
        .split_whitespace()
        .find(|w| w.starts_with("https://buzon.andinas.example/invite/"))
        .unwrap_or_else(|| panic!("no invitation link in {body}"));
    let token = link.rsplit('/').next().unwrap();

    let invitee = server.client();
    let response = invitee
        .call(
            "accept_invite",
            &[
                ("token", token),
                ("name", "Sergio"),
                ("password", "vendedor-123"),
            ],
        )
        .await;
    assert!(response.status().is_success());
    // Served under https, the session cookie is Secure as well as HttpOnly and SameSite=Lax.
    let cookie = common::session_cookie_set(&response).expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert_eq!(invitee.me().await["role"]["builtin"], "Seller");
    server.stop().await;
}

async fn an_unreachable_mail_server_creates_no_invitation(backend: Backend) {
    let server = TestServer::start_with(
        backend,
        ServeArgs {
            smtp_url: Some(format!("smtp://127.0.0.1:{}", free_port())),
            ..ServeArgs::default()
        },
    )
    .await;
    let admin = server.setup_admin().await;
    let seller_role = role_id(&admin, "seller").await.to_string();
    let (status, error) = admin
        .error(
            "invite_user",
            &[
                ("email", "sergio@andinas.example"),
                ("role_id", &seller_role),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(error, Value::String("EmailNotSent".into()));
    let team = admin.json("team", &[]).await;
    assert_eq!(team["members"].as_array().unwrap().len(), 1);
    server.stop().await;
}
