//! Downloading the files customers send, from the links webhooks carry, without letting a link
//! reach anywhere else. A webhook is signed by whoever holds an account's app secret, so its
//! links are not trusted: a file is fetched only over https, from its provider's own hosts, at
//! public addresses (checked after DNS resolution, and again for the addresses the connection
//! uses), each redirect checked like the first link, and credentials go only to the provider's
//! own API host. Development (the sandbox) names extra origins explicitly.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{RequestBuilder, Response, Url};

use crate::api::Access;
use crate::outbound::CallError;
use crate::Channel;

/// Redirects followed for one file (Twilio's media link redirects once, to its CDN).
const MAX_REDIRECTS: usize = 3;

/// Where received files may come from, and the client that fetches them.
#[derive(Clone, Debug)]
pub struct MediaFetch {
    http: reqwest::Client,
    /// The Graph API's origin, whose hosts get the access token.
    graph: Url,
    /// Twilio's API origin, which alone gets the account's credentials.
    twilio: Url,
    /// Origins development adds (the sandbox): http allowed, private addresses allowed.
    insecure: Arc<Vec<Url>>,
}

/// Why a link is not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    NotAUrl,
    NotHttps,
    ForeignHost,
    PrivateAddress,
    TooManyRedirects,
}

impl Refused {
    fn into_error(self, url: &str) -> CallError {
        let why = match self {
            Refused::NotAUrl => "is not a link",
            Refused::NotHttps => "is not https",
            Refused::ForeignHost => "is not on the provider's hosts",
            Refused::PrivateAddress => "leads to a private or local address",
            Refused::TooManyRedirects => "redirects too many times",
        };
        CallError::Permanent {
            code: "media_refused".into(),
            reason: format!("the media link {why} ({})", host_of(url)),
        }
    }
}

/// A link's host alone: its path and query may carry signatures or tokens.
fn host_of(url: &str) -> String {
    Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

impl MediaFetch {
    pub fn new(graph_url: &str, twilio_url: &str, timeout: Duration) -> MediaFetch {
        let insecure: Arc<Vec<Url>> = Arc::default();
        MediaFetch {
            http: client(timeout, insecure.clone()),
            graph: Url::parse(graph_url).expect("the Graph API's URL parses"),
            twilio: Url::parse(twilio_url).expect("Twilio's API URL parses"),
            insecure,
        }
    }

    /// Development only: files may also come from these origins (`http://127.0.0.1:3300`),
    /// over http and at private addresses. Each must be an origin with nothing after it.
    pub fn allow_insecure_origins(
        mut self,
        origins: &[String],
        timeout: Duration,
    ) -> Result<MediaFetch, String> {
        let mut parsed = Vec::new();
        for origin in origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
            let url = Url::parse(origin).map_err(|e| format!("{origin}: {e}"))?;
            if url.host_str().is_none() || url.path() != "/" || url.query().is_some() {
                return Err(format!(
                    "{origin}: give an origin, like http://127.0.0.1:3300"
                ));
            }
            parsed.push(url);
        }
        self.insecure = Arc::new(parsed);
        self.http = client(timeout, self.insecure.clone());
        Ok(self)
    }

    /// Fetches `url` for `access`'s channel, following redirects that stay allowed.
    pub async fn get(&self, access: &Access, url: &str) -> Result<Response, CallError> {
        let mut at = Url::parse(url).map_err(|_| Refused::NotAUrl.into_error(url))?;
        for _ in 0..=MAX_REDIRECTS {
            self.check(access.channel, &at)
                .map_err(|r| r.into_error(at.as_str()))?;
            if !self.is_insecure(&at) {
                public_addresses(&at)
                    .await
                    .map_err(|r| r.into_error(at.as_str()))?;
            }
            let request = self.credentials(self.http.get(at.clone()), access, &at);
            let response = request.send().await.map_err(|e| CallError::Retry {
                code: "connect".into(),
                reason: format!(
                    "downloading from {}: {}",
                    host_of(at.as_str()),
                    e.without_url()
                ),
            })?;
            if !response.status().is_redirection() {
                return Ok(response);
            }
            let next = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| at.join(l).ok())
                .ok_or_else(|| Refused::NotAUrl.into_error(at.as_str()))?;
            at = next;
        }
        Err(Refused::TooManyRedirects.into_error(url))
    }

    fn is_insecure(&self, url: &Url) -> bool {
        self.insecure.iter().any(|o| o.origin() == url.origin())
    }

    /// Whether `url` may be fetched for a file received on `channel`.
    pub fn check(&self, channel: Channel, url: &Url) -> Result<(), Refused> {
        if self.is_insecure(url) {
            return Ok(());
        }
        if url.scheme() != "https" {
            return Err(Refused::NotHttps);
        }
        let host = url.host_str().ok_or(Refused::NotAUrl)?.to_ascii_lowercase();
        // An address instead of a name is never a provider's.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Err(if is_public(ip) {
                Refused::ForeignHost
            } else {
                Refused::PrivateAddress
            });
        }
        let twilio_cdn = host == "s3-external-1.amazonaws.com"
            && url.path().starts_with("/media.twiliocdn.com/");
        let ours = match channel {
            Channel::Whatsapp => on_hosts(&host, &["fbsbx.com", "fbcdn.net", "whatsapp.net"]),
            Channel::Messenger | Channel::Instagram => on_hosts(
                &host,
                &["fbsbx.com", "fbcdn.net", "cdninstagram.com", "facebook.com"],
            ),
            Channel::Twilio => on_hosts(&host, &["twilio.com", "twiliocdn.com"]) || twilio_cdn,
        };
        let api = match channel {
            Channel::Twilio => &self.twilio,
            _ => &self.graph,
        };
        if ours || url.origin() == api.origin() {
            Ok(())
        } else {
            Err(Refused::ForeignHost)
        }
    }

    /// Meta's token goes to Meta's hosts for WhatsApp's files (which need it), Twilio's
    /// credentials to Twilio's API for this account's own media; nothing goes anywhere else.
    fn credentials(&self, request: RequestBuilder, access: &Access, url: &Url) -> RequestBuilder {
        match access.channel {
            Channel::Whatsapp => {
                let meta = url.scheme() == "https"
                    && url
                        .host_str()
                        .is_some_and(|h| on_hosts(h, &["fbsbx.com", "facebook.com"]));
                if meta || url.origin() == self.graph.origin() {
                    request.bearer_auth(&access.access_token)
                } else {
                    request
                }
            }
            Channel::Twilio => {
                let sid = access.twilio_account_sid.clone().unwrap_or_default();
                let own = url.origin() == self.twilio.origin()
                    && !sid.is_empty()
                    && url
                        .path()
                        .starts_with(&format!("/2010-04-01/Accounts/{sid}/"));
                if own {
                    request.basic_auth(sid, Some(&access.twilio_auth_token))
                } else {
                    request
                }
            }
            Channel::Messenger | Channel::Instagram => request,
        }
    }
}

fn on_hosts(host: &str, domains: &[&str]) -> bool {
    domains.iter().any(|domain| {
        host == *domain
            || host
                .strip_suffix(domain)
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

fn client(timeout: Duration, insecure: Arc<Vec<Url>>) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(Arc::new(PublicOnly { insecure }))
        .user_agent(concat!("Buzon/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client builds")
}

/// The link's host resolved, refused when no public address is left.
async fn public_addresses(url: &Url) -> Result<Vec<SocketAddr>, Refused> {
    let host = url.host_str().ok_or(Refused::NotAUrl)?;
    let port = url.port_or_known_default().unwrap_or(443);
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| Refused::NotAUrl)?
        .collect();
    let public: Vec<SocketAddr> = found.into_iter().filter(|a| is_public(a.ip())).collect();
    if public.is_empty() {
        Err(Refused::PrivateAddress)
    } else {
        Ok(public)
    }
}

/// The resolver of the download client: it connects only to public addresses, so a name that
/// resolves differently on the second lookup (DNS rebinding) still cannot reach inside.
struct PublicOnly {
    insecure: Arc<Vec<Url>>,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let insecure = self
            .insecure
            .iter()
            .any(|o| o.host_str().is_some_and(|h| h.eq_ignore_ascii_case(&host)));
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> =
                found.filter(|a| insecure || is_public(a.ip())).collect();
            if allowed.is_empty() {
                let refused = io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("{host} resolves only to private or local addresses"),
                );
                return Err(Box::new(refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local,
/// unique-local, shared (carrier NAT), multicast, documentation or otherwise reserved.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(ip),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        || (first == 0x0064 && ip.segments()[1] == 0xff9b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetch() -> MediaFetch {
        MediaFetch::new(
            crate::api::META_GRAPH_URL,
            crate::api::TWILIO_API_URL,
            Duration::from_secs(5),
        )
    }

    fn check(channel: Channel, url: &str) -> Result<(), Refused> {
        fetch().check(channel, &Url::parse(url).unwrap())
    }

    #[test]
    fn private_and_local_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "157.240.22.35",
            "31.13.65.1",
            "2a03:2880:f12f::1",
            "54.172.60.1",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn only_the_providers_hosts_over_https() {
        let wa = "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1";
        assert_eq!(check(Channel::Whatsapp, wa), Ok(()));
        assert_eq!(
            check(
                Channel::Messenger,
                "https://scontent.xx.fbcdn.net/v/t1/a.jpg"
            ),
            Ok(())
        );
        assert_eq!(
            check(
                Channel::Instagram,
                "https://scontent.cdninstagram.com/v/a.jpg"
            ),
            Ok(())
        );
        let twilio = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1";
        assert_eq!(check(Channel::Twilio, twilio), Ok(()));
        assert_eq!(
            check(Channel::Twilio, "https://mms.twiliocdn.com/AC1/abc"),
            Ok(())
        );

        let http = "http://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1";
        assert_eq!(check(Channel::Whatsapp, http), Err(Refused::NotHttps));
        for foreign in [
            "https://evil.example/a.jpg",
            "https://lookaside.fbsbx.com.evil.example/a.jpg",
            "https://evilfbcdn.net/a.jpg",
        ] {
            assert_eq!(
                check(Channel::Messenger, foreign),
                Err(Refused::ForeignHost),
                "{foreign}"
            );
        }
        // Another provider's hosts are foreign too.
        assert_eq!(check(Channel::Twilio, wa), Err(Refused::ForeignHost));
        assert_eq!(
            check(Channel::Whatsapp, "https://api.twilio.com/x"),
            Err(Refused::ForeignHost)
        );
        for internal in [
            "https://127.0.0.1/a",
            "https://10.0.0.5/a",
            "https://[::1]/a",
        ] {
            assert_eq!(
                check(Channel::Messenger, internal),
                Err(Refused::PrivateAddress)
            );
        }
        assert_eq!(
            check(Channel::Messenger, "https://157.240.22.35/a.jpg"),
            Err(Refused::ForeignHost)
        );
    }

    #[test]
    fn development_origins_are_explicit_and_exact() {
        let timeout = Duration::from_secs(5);
        let dev = fetch()
            .allow_insecure_origins(&["http://127.0.0.1:3300".into()], timeout)
            .unwrap();
        let url = |u: &str| Url::parse(u).unwrap();
        assert_eq!(
            dev.check(Channel::Messenger, &url("http://127.0.0.1:3300/media/1")),
            Ok(())
        );
        assert_eq!(
            dev.check(Channel::Messenger, &url("http://127.0.0.1:3301/media/1")),
            Err(Refused::NotHttps)
        );
        assert!(fetch()
            .allow_insecure_origins(&["http://127.0.0.1:3300/media".into()], timeout)
            .is_err());
    }

    #[tokio::test]
    async fn a_host_that_resolves_inside_is_refused() {
        // `localhost` is a name, not an address: the check after resolving catches it.
        let url = Url::parse("https://localhost/a.jpg").unwrap();
        assert_eq!(public_addresses(&url).await, Err(Refused::PrivateAddress));
    }

    /// A loopback HTTP server that gives every request `answer` and keeps what it was asked.
    async fn server(answer: String) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        let kept = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                kept.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&request).to_lowercase());
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        (origin, seen)
    }

    fn ok(body: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    fn redirect(to: &str) -> String {
        format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    }

    fn access(channel: Channel) -> Access {
        Access {
            channel,
            external_id: "1".into(),
            access_token: "meta-token".into(),
            business_id: None,
            twilio_account_sid: Some("AC1".into()),
            twilio_auth_token: "twilio-token".into(),
            status_callback: None,
        }
    }

    fn refused(result: Result<Response, CallError>) -> bool {
        matches!(result, Err(CallError::Permanent { code, .. }) if code == "media_refused")
    }

    #[tokio::test]
    async fn internal_addresses_are_never_fetched_not_even_through_a_redirect() {
        let (inside, inside_seen) = server(ok("secret")).await;
        let (dev, dev_seen) = server(redirect(&format!("{inside}/secret"))).await;
        let fetch = fetch()
            .allow_insecure_origins(std::slice::from_ref(&dev), Duration::from_secs(5))
            .unwrap();
        let messenger = access(Channel::Messenger);
        // An internal link as such, over http or https.
        assert!(refused(
            fetch.get(&messenger, &format!("{inside}/secret")).await
        ));
        let https = inside.replace("http://", "https://");
        assert!(refused(
            fetch.get(&messenger, &format!("{https}/secret")).await
        ));
        // An allowed origin that redirects inside.
        assert!(refused(
            fetch.get(&messenger, &format!("{dev}/media/1")).await
        ));
        assert_eq!(dev_seen.lock().unwrap().len(), 1);
        assert!(
            inside_seen.lock().unwrap().is_empty(),
            "nothing reached the inside"
        );
    }

    #[tokio::test]
    async fn credentials_go_to_the_providers_own_host_only() {
        let (cdn, cdn_seen) = server(ok("the file")).await;
        let (twilio, twilio_seen) = server(redirect(&format!("{cdn}/AC1/abc"))).await;
        let (elsewhere, elsewhere_seen) = server(ok("not a file")).await;
        let fetch = MediaFetch::new(crate::api::META_GRAPH_URL, &twilio, Duration::from_secs(5))
            .allow_insecure_origins(&[twilio.clone(), cdn.clone()], Duration::from_secs(5))
            .unwrap();
        let account = access(Channel::Twilio);
        let media = "/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1";
        let response = fetch
            .get(&account, &format!("{twilio}{media}"))
            .await
            .unwrap();
        assert_eq!(response.text().await.unwrap(), "the file");
        assert!(twilio_seen.lock().unwrap()[0].contains("authorization: basic"));
        assert!(
            !cdn_seen.lock().unwrap()[0].contains("authorization"),
            "not after the redirect"
        );
        // Another account's media on Twilio's own host gets no credentials either.
        let other = fetch
            .get(
                &account,
                &format!("{twilio}/2010-04-01/Accounts/AC2/Media/ME1"),
            )
            .await;
        assert!(other.is_ok());
        assert!(!twilio_seen.lock().unwrap()[1].contains("authorization"));
        // A foreign host with a Twilio-looking path is not fetched at all.
        assert!(refused(
            fetch.get(&account, &format!("{elsewhere}{media}")).await
        ));
        assert!(elsewhere_seen.lock().unwrap().is_empty());
    }
}
