//! moto's S3 server for the tests of the S3 media store: a real S3-compatible endpoint that
//! answers signed requests (buckets, objects, multipart uploads). `scripts/test` installs it
//! in a virtual environment; `BUZON_TEST_MOTO_SERVER` names its `moto_server`.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BUCKET: &str = "buzon-media";
pub const ACCESS_KEY_ID: &str = "AKIAPRUEBA";
pub const SECRET_ACCESS_KEY: &str = "secreto-de-prueba";

pub struct Moto {
    pub endpoint: String,
    child: Child,
}

impl Moto {
    /// Starts moto on a free port and creates the bucket.
    pub async fn start() -> Moto {
        let program = std::env::var("BUZON_TEST_MOTO_SERVER").unwrap_or_else(|_| {
            format!(
                "{}/.cache/buzon/moto-venv/bin/moto_server",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start {program} (scripts/test installs moto's server): {err}")
            });
        let moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
        };
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(&moto.endpoint).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let created = http
            .put(format!("{}/{BUCKET}", moto.endpoint))
            .send()
            .await
            .expect("moto answers");
        assert!(created.status().is_success(), "{}", created.status());
        moto
    }

    /// The server flags that keep media in this bucket.
    pub fn configure(&self, args: &mut buzon_server::config::ServeArgs) {
        args.s3_bucket = Some(BUCKET.into());
        args.s3_endpoint = Some(self.endpoint.clone());
        args.s3_region = Some("us-east-1".into());
        args.s3_prefix = Some("media".into());
        args.s3_access_key_id = Some(ACCESS_KEY_ID.into());
        args.s3_secret_access_key = Some(SECRET_ACCESS_KEY.into());
    }

    /// The keys in the bucket (moto answers a plain listing).
    pub async fn keys(&self) -> Vec<String> {
        let listing = reqwest::get(format!("{}/{BUCKET}?list-type=2", self.endpoint))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        listing
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
