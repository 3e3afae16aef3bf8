//! Code split out of the first bundle (`cargo leptos build --split`): a view whose code is
//! fetched when it is first shown. The fetch can fail (offline, the server restarting, the page
//! being left while it runs): the view then says so and offers to try again, instead of
//! stopping the whole page.

use leptos::prelude::*;
use std::future::Future;
use std::pin::Pin;

use crate::i18n::*;
use crate::kit::locale::use_locale;

/// A piece of the code that could not be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unloaded;

#[cfg(feature = "hydrate")]
impl From<leptos::wasm_split::SplitLoaderError> for Unloaded {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Unloaded {
        Unloaded
    }
}

/// Declares `fn $name(args) -> AnyView` split out of the first bundle: calling it gives a
/// future of its view (`Err(Unloaded)` when its code could not be fetched), and
/// `$fetch().await` fetches the code without showing it. On the server both are immediate, and
/// a page rendered with the view names its code for the browser to preload.
macro_rules! split {
    (
        $(#[$attr:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> AnyView, fetched by $fetch:ident
        $body:block
    ) => {
        $(#[$attr])*
        #[cfg(feature = "hydrate")]
        #[::leptos::wasm_split::wasm_split(
            $name,
            wasm_split_path = ::leptos::wasm_split,
            preload($fetch),
            fallible
        )]
        fn $name($($arg: $ty),*) -> Result<AnyView, $crate::kit::split::Unloaded> {
            Ok($body)
        }

        $(#[$attr])*
        #[cfg(not(feature = "hydrate"))]
        async fn $name($($arg: $ty),*) -> Result<AnyView, $crate::kit::split::Unloaded> {
            #[cfg(feature = "ssr")]
            ::leptos::prefetch_lazy_fn_on_server(stringify!($name));
            Ok($body)
        }

        #[cfg(not(feature = "hydrate"))]
        async fn $fetch() -> Result<(), $crate::kit::split::Unloaded> {
            Ok(())
        }
    };
}
pub(crate) use split;

type Loading = Pin<Box<dyn Future<Output = Result<AnyView, Unloaded>> + Send>>;

/// Fetches a piece's code again: whether it is in now.
type FetchAgain = std::sync::Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool>>> + Send + Sync>;

/// Gives a split view.
type Load = std::sync::Arc<dyn Fn() -> Loading + Send + Sync>;

/// A split view: `load` gives it, `fetch` fetches its code (the pair `split!` declares). Shown
/// at once when its code is there (always on the server, and in the browser once fetched),
/// else when it comes. Shown at once, it hydrates like any view, and replaces the view before
/// it in place. When its code cannot be fetched, a notice offers to try again.
pub fn now_or_later<P, Fetching, E, L, Fut>(fetch: P, load: L) -> AnyView
where
    P: Fn() -> Fetching + Send + Sync + 'static,
    Fetching: Future<Output = Result<(), E>> + 'static,
    L: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AnyView, Unloaded>> + Send + 'static,
{
    // Made into trait objects at once: one copy of what follows serves every split view.
    show_split(
        std::sync::Arc::new(move || {
            let fetching = fetch();
            Box::pin(async move { fetching.await.is_ok() })
        }),
        std::sync::Arc::new(move || Box::pin(load())),
    )
}

fn show_split(fetch: FetchAgain, load: Load) -> AnyView {
    use std::task::{Context, Poll, Waker};
    let mut first = load();
    match first.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(shown)) => return shown,
        Poll::Ready(Err(Unloaded)) => first = Box::pin(async { Err(Unloaded) }),
        Poll::Pending => {}
    }
    // The first attempt goes on where it is; once "try again" has fetched the code, the view
    // is built again, at once.
    let first = std::sync::Mutex::new(Some(first));
    let fetched = RwSignal::new(0u32);
    (move || {
        fetched.track();
        let loading = first
            .lock()
            .ok()
            .and_then(|mut first| first.take())
            .unwrap_or_else(|| load());
        let fetch = fetch.clone();
        Suspend::new(async move {
            match loading.await {
                Ok(view) => view,
                Err(Unloaded) => not_loaded(fetch, fetched),
            }
        })
    })
    .into_any()
}

/// Says the code could not be fetched, with a button that fetches it again; the notice stays,
/// and keeps the focus, until the code is in.
fn not_loaded(fetch: FetchAgain, fetched: RwSignal<u32>) -> AnyView {
    let locale = use_locale();
    let busy = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    let again = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let fetching = fetch();
        leptos::task::spawn_local(async move {
            // The notice may have gone meanwhile: reached with `try_`.
            if fetching.await {
                fetched.try_update(|n| *n = n.wrapping_add(1));
            } else {
                busy.try_set(false);
            }
        });
    };
    #[cfg(not(feature = "hydrate"))]
    let again = {
        let _ = (fetch, fetched);
        |_| {}
    };
    view! {
        <div class="not-loaded">
            <p role="alert">{td_string!(locale, unloaded.body)}</p>
            <button
                type="button"
                class="button"
                aria-disabled=move || busy.get().then_some("true")
                aria-busy=move || busy.get().then_some("true")
                on:click=again
            >
                {td_string!(locale, unloaded.retry)}
            </button>
        </div>
    }
    .into_any()
}

/// When the page's split code does not arrive before hydrating, the page stays as the server
/// rendered it; this says so above it, with a link that loads the page again.
#[cfg(feature = "hydrate")]
pub fn tell_not_loaded() {
    let locale = crate::kit::locale::page_language().locale();
    let document = document();
    let (Ok(notice), Ok(text), Ok(again), Some(body)) = (
        document.create_element("div"),
        document.create_element("p"),
        document.create_element("a"),
        document.body(),
    ) else {
        return;
    };
    notice.set_class_name("not-loaded banner");
    let _ = text.set_attribute("role", "alert");
    text.set_text_content(Some(td_string!(locale, unloaded.body)));
    let here = window().location().href().unwrap_or_default();
    let _ = again.set_attribute("href", &here);
    again.set_class_name("button");
    again.set_text_content(Some(td_string!(locale, unloaded.retry)));
    let _ = notice.append_child(&text);
    let _ = notice.append_child(&again);
    let _ = body.prepend_with_node_1(&notice);
}
