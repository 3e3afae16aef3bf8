//! Which page an address shows, and moving between the pages without loading the document
//! again: a link to one of them is followed in place (the browser's history keeps it, so back
//! and forward work), any other link loads as usual.

use leptos::prelude::*;

/// The pages, by address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    Home,
    Inbox,
    Contacts,
    Settings,
    Users,
    Profile,
    Login,
    Setup,
    Invite(String),
    NotFound,
}

/// The addresses the server renders as pages (`Page::at` names what each shows). Every other
/// address is a file or the "not found" page.
pub const PAGE_ROUTES: &[&str] = &[
    "/",
    "/inbox",
    "/contacts",
    "/settings",
    "/users",
    "/profile",
    "/login",
    "/setup",
    "/invite/{token}",
];

impl Page {
    /// The page at `path` (no query); a trailing slash is ignored.
    pub fn at(path: &str) -> Page {
        let trimmed = path.trim_end_matches('/');
        match trimmed {
            "" => Page::Home,
            "/inbox" => Page::Inbox,
            "/contacts" => Page::Contacts,
            "/settings" => Page::Settings,
            "/users" => Page::Users,
            "/profile" => Page::Profile,
            "/login" => Page::Login,
            "/setup" => Page::Setup,
            _ => match trimmed.strip_prefix("/invite/") {
                Some(token) if !token.is_empty() && !token.contains('/') => {
                    Page::Invite(decode(token, false))
                }
                _ => Page::NotFound,
            },
        }
    }

    /// Whether the page is shown inside the signed-in frame (navigation and the signed-in
    /// user around it).
    pub fn in_frame(&self) -> bool {
        matches!(
            self,
            Page::Home
                | Page::Inbox
                | Page::Contacts
                | Page::Settings
                | Page::Users
                | Page::Profile
        )
    }
}

/// The address shown, given once through the context by the application.
#[derive(Clone, Copy)]
pub struct Location {
    /// The path, without the query.
    pub path: RwSignal<String>,
    /// The query, without its `?`.
    pub search: RwSignal<String>,
}

impl Location {
    /// Shows `href` (a path with an optional query), as a new entry of the browser's history,
    /// or in place of the current one when `replace` or when it is the address shown already.
    pub fn go(&self, href: &str, replace: bool) {
        #[cfg(feature = "hydrate")]
        {
            let shown = self.path.with_untracked(|path| {
                self.search
                    .with_untracked(|search| split(href) == (path.as_str(), search.as_str()))
            });
            let replace = replace || shown;
            if let Ok(history) = window().history() {
                let nothing = wasm_bindgen::JsValue::NULL;
                let _ = if replace {
                    history.replace_state_with_url(&nothing, "", Some(href))
                } else {
                    history.push_state_with_url(&nothing, "", Some(href))
                };
            }
            window().scroll_to_with_x_and_y(0.0, 0.0);
        }
        let _ = replace;
        let (path, search) = split(href);
        self.search.set(search.to_string());
        self.path.set(path.to_string());
    }

    /// What the browser's address says now (after back or forward).
    #[cfg(feature = "hydrate")]
    fn follow_browser(&self) {
        let location = window().location();
        let path = location.pathname().unwrap_or_default();
        let search = location.search().unwrap_or_default();
        self.search.set(search.trim_start_matches('?').to_string());
        self.path.set(path);
    }
}

fn split(href: &str) -> (&str, &str) {
    let href = href.split('#').next().unwrap_or_default();
    href.split_once('?').unwrap_or((href, ""))
}

/// Reads the address of the page being rendered (the request's on the server, the browser's
/// in the browser), gives it through the context, and in the browser follows links to pages,
/// back and forward.
pub fn provide_location() -> Location {
    #[cfg(feature = "ssr")]
    let (path, search) = use_context::<axum::http::request::Parts>()
        .map(|parts| {
            (
                parts.uri.path().to_string(),
                parts.uri.query().unwrap_or_default().to_string(),
            )
        })
        .unwrap_or_else(|| ("/".into(), String::new()));
    #[cfg(not(feature = "ssr"))]
    let (path, search) = {
        let location = window().location();
        (
            location.pathname().unwrap_or_default(),
            location
                .search()
                .unwrap_or_default()
                .trim_start_matches('?')
                .to_string(),
        )
    };
    let location = Location {
        path: RwSignal::new(path),
        search: RwSignal::new(search),
    };
    provide_context(location);
    #[cfg(feature = "hydrate")]
    follow_links(location);
    location
}

/// A click on a link to one of the pages shows it in place; a click with a modifier key (a new
/// tab), on a download, on a link to another window, marked `rel="external"` or to a place
/// in a page (`#`), or on any other address, is left to the browser.
#[cfg(feature = "hydrate")]
fn follow_links(location: Location) {
    use wasm_bindgen::JsCast;
    let clicks = window_event_listener(leptos::ev::click, move |ev| {
        if ev.default_prevented()
            || ev.button() != 0
            || ev.meta_key()
            || ev.ctrl_key()
            || ev.shift_key()
            || ev.alt_key()
        {
            return;
        }
        let Some(link) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("a[href]").ok().flatten())
        else {
            return;
        };
        let attribute = |name: &str| link.get_attribute(name).unwrap_or_default();
        let target = attribute("target");
        if link.has_attribute("download")
            || !(target.is_empty() || target == "_self")
            || attribute("rel").split_whitespace().any(|r| r == "external")
        {
            return;
        }
        let href = attribute("href");
        // A link to a place in a page is the browser's to follow.
        if !href.starts_with('/') || href.starts_with("//") || href.contains('#') {
            return;
        }
        if Page::at(split(&href).0) == Page::NotFound {
            return;
        }
        ev.prevent_default();
        location.go(&href, false);
    });
    let moves = window_event_listener(leptos::ev::popstate, move |_| location.follow_browser());
    on_cleanup(move || {
        clicks.remove();
        moves.remove();
    });
}

pub fn use_location() -> Location {
    expect_context::<Location>()
}

/// Shows another address: `navigate(href)` adds it to the browser's history.
pub fn use_navigate() -> impl Fn(&str) + Clone + Send + Sync + 'static {
    let location = use_location();
    move |href: &str| location.go(href, false)
}

/// The query of the address shown, decoded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(search: &str) -> Query {
        Query(
            search
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    (decode(key, true), decode(value, true))
                })
                .collect(),
        )
    }

    /// The first value given for `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }
}

/// The query of the address, as long as it shows the page that asks: once another page
/// replaces it, the page being taken down keeps its own (and does not change on its way out).
pub fn use_query_map() -> Memo<Query> {
    let location = use_location();
    let here = location.path.with_untracked(|path| Page::at(path));
    Memo::new(move |before: Option<&Query>| {
        if location.path.with(|path| Page::at(path) != here) {
            return before.cloned().unwrap_or_default();
        }
        location.search.with(|search| Query::parse(search))
    })
}

/// A query's or path's part as written: `%XX` a byte, and in a query `+` a space.
fn decode(text: &str, query: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' if query => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push((high << 4) | low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(digit: u8) -> Option<u8> {
    (digit as char).to_digit(16).map(|d| d as u8)
}

/// Sends the browser to `path`: on the server a redirect answers the request, in the browser
/// the address is replaced once the view is shown.
#[component]
pub fn Redirect(path: &'static str) -> impl IntoView {
    #[cfg(feature = "ssr")]
    leptos_axum::redirect(path);
    #[cfg(not(feature = "ssr"))]
    {
        let location = use_location();
        Effect::new(move |_| location.go(path, true));
    }
}

/// A link to a page of the navigation, marked as the current one while that page (or one
/// under it) is shown.
#[component]
pub fn NavLink(href: &'static str, children: Children) -> impl IntoView {
    let location = use_location();
    let current = move || {
        location.path.with(|path| {
            (path == href
                || path
                    .strip_prefix(href)
                    .is_some_and(|rest| rest.starts_with('/')))
            .then_some("page")
        })
    };
    view! {
        <a href=href aria-current=current>
            {children()}
        </a>
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_address_names_its_page() {
        assert_eq!(Page::at("/"), Page::Home);
        assert_eq!(Page::at(""), Page::Home);
        assert_eq!(Page::at("/inbox"), Page::Inbox);
        assert_eq!(Page::at("/inbox/"), Page::Inbox);
        assert_eq!(Page::at("/settings"), Page::Settings);
        assert_eq!(Page::at("/invite/abc%2Dd"), Page::Invite("abc-d".into()));
        assert_eq!(Page::at("/invite/a+b"), Page::Invite("a+b".into()));
        assert_eq!(Page::at("/invite/"), Page::NotFound);
        assert_eq!(Page::at("/invite/a/b"), Page::NotFound);
        assert_eq!(Page::at("/inboxes"), Page::NotFound);
        assert_eq!(Page::at("/media/3"), Page::NotFound);
        assert!(Page::at("/profile").in_frame());
        assert!(!Page::at("/login").in_frame());
        assert!(!Page::NotFound.in_frame());
    }

    #[test]
    fn every_page_the_server_renders_is_a_page() {
        for route in PAGE_ROUTES {
            let path = route.replace("{token}", "t");
            assert_ne!(Page::at(&path), Page::NotFound, "{route}");
        }
    }

    #[test]
    fn a_query_reads_back_decoded() {
        let query = Query::parse("c=12&q=Ana+Mar%C3%ADa&u&q=second&bad=%zz%4");
        assert_eq!(query.get("c").as_deref(), Some("12"));
        assert_eq!(query.get("q").as_deref(), Some("Ana María"));
        assert_eq!(query.get("u").as_deref(), Some(""));
        assert_eq!(query.get("bad").as_deref(), Some("%zz%4"));
        assert_eq!(query.get("missing"), None);
        assert_eq!(Query::parse(""), Query::default());
    }

    #[test]
    fn an_address_splits_into_path_and_query() {
        assert_eq!(split("/inbox?c=1#m"), ("/inbox", "c=1"));
        assert_eq!(split("/inbox"), ("/inbox", ""));
    }
}
