//! Code split out of the first bundle (`cargo leptos build --split`): a view whose code is
//! fetched when it is first shown. The fetch can fail (offline, the server restarting, the page
//! being left while it runs): the view then says so and offers to try again, instead of
//! stopping the whole page.

use leptos::prelude::*;
use std::future::Future;
use std::pin::Pin;

use crate::i18n::*;
use crate::locale::use_locale;

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
        fn $name($($arg: $ty),*) -> Result<AnyView, $crate::shell::split::Unloaded> {
            Ok($body)
        }

        $(#[$attr])*
        #[cfg(not(feature = "hydrate"))]
        async fn $name($($arg: $ty),*) -> Result<AnyView, $crate::shell::split::Unloaded> {
            #[cfg(feature = "ssr")]
            ::leptos::prefetch_lazy_fn_on_server(stringify!($name));
            Ok($body)
        }

        #[cfg(not(feature = "hydrate"))]
        #[allow(dead_code)]
        async fn $fetch() -> Result<(), $crate::shell::split::Unloaded> {
            Ok(())
        }
    };
}
pub(crate) use split;

type Loading = Pin<Box<dyn Future<Output = Result<AnyView, Unloaded>> + Send>>;

/// A split view (`load` gives it): shown at once when its code is there (always on the
/// server, and in the browser once fetched), else when it comes. Shown at once, it hydrates
/// like any view, and replaces the view before it in place. When its code cannot be fetched,
/// a notice offers to try again.
pub fn now_or_later<F, Fut>(load: F) -> AnyView
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AnyView, Unloaded>> + Send + 'static,
{
    use std::task::{Context, Poll, Waker};
    let mut first: Loading = Box::pin(load());
    match first.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(shown)) => return shown,
        Poll::Ready(Err(Unloaded)) => first = Box::pin(async { Err(Unloaded) }),
        Poll::Pending => {}
    }
    // The first attempt goes on where it is; each "try again" starts another.
    let first = std::sync::Mutex::new(Some(first));
    let tries = RwSignal::new(0u32);
    (move || {
        tries.track();
        let loading = first
            .lock()
            .ok()
            .and_then(|mut first| first.take())
            .unwrap_or_else(|| Box::pin(load()));
        Suspend::new(async move {
            match loading.await {
                Ok(view) => view,
                Err(Unloaded) => view! { <NotLoaded tries /> }.into_any(),
            }
        })
    })
    .into_any()
}

/// Says the code could not be fetched, with a button to try again.
#[component]
fn NotLoaded(tries: RwSignal<u32>) -> impl IntoView {
    let locale = use_locale();
    view! {
        <div class="not-loaded" role="alert">
            <p>{td_string!(locale, unloaded.body)}</p>
            <button
                type="button"
                class="button"
                on:click=move |_| tries.update(|n| *n = n.wrapping_add(1))
            >
                {td_string!(locale, unloaded.retry)}
            </button>
        </div>
    }
}
