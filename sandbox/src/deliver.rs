//! Webhooks to Buzón, signed the way Meta and Twilio sign them, and retried like they do when
//! the answer is not a 2xx.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;
use sha2::Sha256;

use crate::world::{Channel, Shared};

/// JSON with every non-ASCII character escaped as `\uXXXX`, as Meta sends it.
pub fn ascii_json(value: &Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

pub fn meta_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub fn twilio_signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(token.as_bytes()).expect("any key length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client builds")
}

/// Posts a Meta webhook and waits for the first answer; redeliveries continue in the
/// background when it is not a 2xx. Returns the first HTTP status (0 when unreachable).
pub async fn meta(world: &Shared, channel: Channel, payload: Value) -> u16 {
    let (url, secret) = {
        let world = world.lock().unwrap();
        (
            format!("{}/webhooks/{}", world.settings.buzon_url, channel.as_str()),
            world.settings.app_secret.clone(),
        )
    };
    let body = ascii_json(&payload);
    let signature = meta_signature(&secret, body.as_bytes());
    let send = move || {
        client()
            .post(&url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", &signature)
            .body(body.clone())
            .send()
    };
    let first = send().await.map(|r| r.status().as_u16()).unwrap_or(0);
    if !(200..300).contains(&first) {
        tokio::spawn(async move {
            // Meta retries failed deliveries with growing delays.
            for delay in [1u64, 3, 10, 30, 60] {
                tokio::time::sleep(Duration::from_secs(delay)).await;
                if let Ok(response) = send().await {
                    if response.status().is_success() {
                        return;
                    }
                }
            }
            tracing::warn!("webhook given up after retries");
        });
    }
    first
}

/// Posts a Twilio form webhook to `url` (which the signature covers).
pub async fn twilio(world: &Shared, url: &str, params: Vec<(String, String)>) -> u16 {
    let token = world.lock().unwrap().settings.twilio_auth_token.clone();
    let signature = twilio_signature(&token, url, &params);
    let body = serde_urlencoded::to_string(&params).unwrap_or_default();
    client()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_published_vectors() {
        assert_eq!(
            meta_signature(
                "app_secret_123",
                br#"{"object":"whatsapp_business_account","entry":[]}"#
            ),
            "sha256=02fe0c96d28c59ddb7cf81eff0ca05809b360ba73b63c28210b5906a0a107d1f"
        );
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            twilio_signature(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
        assert_eq!(
            ascii_json(&serde_json::json!("ñ😀")),
            r#""\u00f1\ud83d\ude00""#
        );
    }
}
