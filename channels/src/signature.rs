//! Webhook signatures. Meta signs the raw body with the app secret (HMAC-SHA256, hex); Twilio
//! signs the configured URL followed by the sorted form parameters with the auth token
//! (HMAC-SHA1, base64). Both are checked in constant time over the exact bytes received.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing")]
    Missing,
    #[error("the signature header is malformed")]
    Malformed,
    #[error("the signature does not match")]
    Mismatch,
}

/// The `X-Hub-Signature-256` value for `body`: `sha256=<lowercase hex>`.
pub fn meta_signature(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks an `X-Hub-Signature-256` header against the raw body.
pub fn verify_meta(
    app_secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let hex_digest = header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    let expected = hex::decode(hex_digest).map_err(|_| SignatureError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes any key length");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// The `X-Twilio-Signature` value for a form POST to `url` with `params`.
pub fn twilio_signature(auth_token: &[u8], url: &str, params: &[(String, String)]) -> String {
    base64::engine::general_purpose::STANDARD.encode(twilio_mac(auth_token, url, params))
}

/// Checks an `X-Twilio-Signature` header. `url` is the full URL Twilio was configured with.
pub fn verify_twilio(
    auth_token: &[u8],
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let expected = base64::engine::general_purpose::STANDARD
        .decode(header.trim())
        .map_err(|_| SignatureError::Malformed)?;
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token).expect("HMAC takes any key length");
    mac.update(&twilio_payload(url, params));
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

fn twilio_mac(auth_token: &[u8], url: &str, params: &[(String, String)]) -> Vec<u8> {
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token).expect("HMAC takes any key length");
    mac.update(&twilio_payload(url, params));
    mac.finalize().into_bytes().to_vec()
}

fn twilio_payload(url: &str, params: &[(String, String)]) -> Vec<u8> {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut payload = url.as_bytes().to_vec();
    for (name, value) in sorted {
        payload.extend_from_slice(name.as_bytes());
        payload.extend_from_slice(value.as_bytes());
    }
    payload
}

/// JSON with every non-ASCII character escaped as `\uXXXX` (lowercase hex, surrogate pairs
/// above the BMP), the way Meta serialises webhook bodies.
pub fn ascii_json(value: &serde_json::Value) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_signature_matches_the_documented_vector() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        assert_eq!(
            meta_signature(b"app_secret_123", body),
            "sha256=02fe0c96d28c59ddb7cf81eff0ca05809b360ba73b63c28210b5906a0a107d1f"
        );
    }

    #[test]
    fn meta_verification_accepts_only_the_right_signature() {
        let body = br#"{"object":"page","entry":[]}"#;
        let good = meta_signature(b"secret", body);
        assert_eq!(verify_meta(b"secret", body, Some(&good)), Ok(()));
        assert_eq!(
            verify_meta(b"secret", body, None),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_meta(b"other", body, Some(&good)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_meta(
                b"secret",
                b"{\"object\":\"page\",\"entry\":[1]}",
                Some(&good)
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_meta(b"secret", body, Some("sha1=abcd")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_meta(b"secret", body, Some("sha256=zz")),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn signature_covers_the_escaped_bytes_not_the_decoded_text() {
        let value = serde_json::json!({"text": "¿Tienen envío? 😮"});
        let escaped = ascii_json(&value);
        assert_eq!(
            escaped,
            r#"{"text":"\u00bfTienen env\u00edo? \ud83d\ude2e"}"#
        );
        let signature = meta_signature(b"s", escaped.as_bytes());
        assert_eq!(
            verify_meta(b"s", escaped.as_bytes(), Some(&signature)),
            Ok(())
        );
        // The same JSON re-serialised with raw UTF-8 is different bytes: it must not verify.
        let decoded = value.to_string();
        assert_eq!(
            verify_meta(b"s", decoded.as_bytes(), Some(&signature)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn twilio_signature_matches_the_documented_vector() {
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
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            twilio_signature(b"12345", url, &params),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
        assert_eq!(
            verify_twilio(b"12345", url, &params, Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")),
            Ok(())
        );
        assert_eq!(
            verify_twilio(b"12346", url, &params, Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_twilio(b"12345", url, &params, None),
            Err(SignatureError::Missing)
        );
        let mut reordered = params.clone();
        reordered.reverse();
        assert_eq!(
            verify_twilio(
                b"12345",
                url,
                &reordered,
                Some("0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
            ),
            Ok(()),
            "parameters are signed sorted by name, whatever order they arrive in"
        );
    }
}
