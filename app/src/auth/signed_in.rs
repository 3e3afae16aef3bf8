//! The signed-in user as every page inside the frame reads it, and signing out.

use leptos::prelude::*;

use super::CurrentUser;
use crate::i18n::*;
use crate::kit::locale::use_locale;

/// The signed-in user's name as the navigation shows it; the profile page updates it in place
/// so that saving a new name does not reload the frame. Empty until the profile changes it.
#[derive(Clone, Copy)]
pub struct ShownName(pub RwSignal<String>);

/// The signed-in user, loaded once by the frame for every page inside it.
#[derive(Clone, Copy)]
pub struct Me(
    pub Resource<Result<Option<CurrentUser>, crate::error::AppError>, crate::codec::ReadJson>,
);

/// Renders `children` with the signed-in user once known (at once after the first load).
///
/// Pages create their resources *before* this, at their top level: a resource created inside
/// a `Suspend` can be created again when it re-runs, and the server and the browser would then
/// number their resources differently and fail to hydrate.
#[component]
pub fn WithUser<F, V>(children: F) -> impl IntoView
where
    F: Fn(CurrentUser) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let me = expect_context::<Me>().0;
    let children = StoredValue::new(children);
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                // The page may have gone by the time the user is known.
                me.await
                    .ok()
                    .flatten()
                    .and_then(|user| children.try_with_value(|render| render(user)))
            })}
        </Suspense>
    }
}

/// A plain form, so signing out works without JavaScript too.
#[component]
pub fn LogoutButton() -> impl IntoView {
    let locale = use_locale();
    view! {
        <form method="post" action="/logout" class="logout">
            <button type="submit" class="button ghost">
                {td_string!(locale, nav.logout)}
            </button>
        </form>
    }
}
