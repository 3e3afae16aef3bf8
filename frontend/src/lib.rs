//! The browser entry point: hydrates the server-rendered page.
#![recursion_limit = "512"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    // Built to abort at once (the release build, `scripts/lib.sh`), a panic runs no hook: the
    // hook would only be code the page downloads for nothing.
    #[cfg(not(panic = "immediate-abort"))]
    console_error_panic_hook::set_once();
    remember_time_zone();
    keep_offline();
    // Hydration waits for the code of a page split out of the first bundle, and for that of
    // the open conversation when the page was rendered with one, so that every view is
    // hydrated at once, as the server rendered it (`kit::split::now_or_later`).
    wasm_bindgen_futures::spawn_local(async {
        if !split_code_loaded().await {
            // The page stays as the server rendered it (its links and forms work as plain
            // ones), and says so.
            leptos::logging::error!("Buzón: part of the page's code could not be loaded");
            app::kit::split::tell_not_loaded();
            return;
        }
        let body = leptos::prelude::document()
            .body()
            .expect("the page has a body");
        leptos::mount::hydrate_from(body, app::App).forget();
        // Marks the page interactive: styles and browser tests can tell hydration has happened.
        if let Some(root) = leptos::prelude::document().document_element() {
            let _ = root.set_attribute("data-hydrated", "");
        }
    });
}

/// Fetches the split-out code the rendered page shows, trying three times a second apart.
async fn split_code_loaded() -> bool {
    for attempt in 0..3 {
        if attempt > 0 {
            pause(1_000).await;
        }
        if app::shell::load_rendered_page().await.is_ok()
            && app::conversations::chat::load_rendered_chat().await.is_ok()
        {
            return true;
        }
    }
    false
}

async fn pause(milliseconds: i32) {
    let timer = js_sys::Promise::new(&mut |done, _| {
        if let Some(window) = web_sys::window() {
            let _ =
                window.set_timeout_with_callback_and_timeout_and_arguments_0(&done, milliseconds);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(timer).await;
}

/// Tells the server the browser's time zone (minutes east of UTC) for the next pages.
fn remember_time_zone() {
    use wasm_bindgen::JsCast;
    let offset = -(js_sys::Date::new_0().get_timezone_offset() as i32);
    let document = web_sys::window().and_then(|w| w.document());
    if let Some(html) = document.and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok()) {
        let _ = html.set_cookie(&format!(
            "tz={offset}; Path=/; Max-Age=31536000; SameSite=Lax"
        ));
    }
}

/// Registers the service worker that keeps the app shell and recent conversations readable
/// offline (`public/sw.js`).
fn keep_offline() {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return;
    };
    // Browsers offer service workers only on https and on this machine's own addresses.
    let offered = js_sys::Reflect::get(&navigator, &"serviceWorker".into())
        .is_ok_and(|workers| !workers.is_undefined());
    if offered {
        let _ = navigator.service_worker().register("/sw.js");
    }
}
