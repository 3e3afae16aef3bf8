//! Small pieces every form uses: translated error messages next to their field.

use leptos::prelude::*;

use crate::error::{AppError, Field, Problem};
use crate::i18n::*;
use crate::kit::locale::use_locale;
use crate::permissions::{BuiltinRole, Permission};

/// The translated sentence for a problem with a field.
pub fn problem_text(locale: Locale, field: Field, problem: Problem) -> String {
    match (field, problem) {
        (Field::Template, Problem::Required) => {
            td_string!(locale, errors.template_params).to_string()
        }
        (Field::Consent, Problem::Required) => {
            td_string!(locale, errors.consent_required).to_string()
        }
        (Field::Phone, Problem::Required) => td_string!(locale, errors.phone_missing).to_string(),
        (Field::Import, Problem::Required) => td_string!(locale, errors.import_empty).to_string(),
        (Field::Options, Problem::Required) => {
            td_string!(locale, errors.options_missing).to_string()
        }
        (Field::Contact, Problem::Required) => {
            td_string!(locale, errors.contact_identity).to_string()
        }
        (Field::Phone | Field::WhatsappPhone, Problem::Malformed) => {
            td_string!(locale, errors.phone_malformed).to_string()
        }
        (Field::SetupToken, Problem::Wrong | Problem::Required) => {
            td_string!(locale, errors.setup_token_wrong).to_string()
        }
        (_, Problem::Required) => td_string!(locale, errors.required).to_string(),
        (_, Problem::TooLong { max }) => fill(
            td_string!(locale, errors.too_long),
            &[("max", max.to_string())],
        )
        .to_string(),
        (_, Problem::TooShort { min }) => fill(
            td_string!(locale, errors.too_short),
            &[("min", min.to_string())],
        )
        .to_string(),
        (Field::Email, Problem::Malformed) => {
            td_string!(locale, errors.email_malformed).to_string()
        }
        (Field::Import, Problem::Malformed) => {
            td_string!(locale, errors.import_malformed).to_string()
        }
        (Field::Import, Problem::Unknown) => td_string!(locale, errors.import_mapping).to_string(),
        (Field::CustomValue, Problem::Malformed) => {
            td_string!(locale, errors.value_malformed).to_string()
        }
        (_, Problem::Malformed) => td_string!(locale, errors.malformed).to_string(),
        (Field::Email, Problem::Taken) => td_string!(locale, errors.email_taken).to_string(),
        (Field::Organization, Problem::Taken) => {
            td_string!(locale, errors.organization_taken).to_string()
        }
        (Field::RoleName, Problem::Taken) => td_string!(locale, errors.role_name_taken).to_string(),
        (Field::Account | Field::ExternalId, Problem::Taken) => {
            td_string!(locale, errors.account_taken).to_string()
        }
        (Field::Invite, Problem::Taken) => {
            td_string!(locale, errors.invite_email_elsewhere).to_string()
        }
        (Field::WhatsappPhone, Problem::Taken) => {
            td_string!(locale, errors.phone_taken).to_string()
        }
        (Field::Phone, Problem::Taken) => td_string!(locale, errors.phone_on_contact).to_string(),
        (Field::Contact, Problem::Taken) => td_string!(locale, errors.contact_linked).to_string(),
        (Field::FieldName, Problem::Taken) => td_string!(locale, errors.field_taken).to_string(),
        (Field::CustomValue, Problem::Taken) => td_string!(locale, errors.id_taken).to_string(),
        (_, Problem::Taken) => td_string!(locale, errors.taken).to_string(),
        (Field::Role, Problem::Unknown) => td_string!(locale, errors.role_unknown).to_string(),
        (Field::Invite, Problem::Unknown) => td_string!(locale, errors.invite_unknown).to_string(),
        (Field::Attachment, Problem::Unknown) => td_string!(locale, errors.file_gone).to_string(),
        (Field::Language, Problem::Unknown) => {
            td_string!(locale, errors.language_unknown).to_string()
        }
        (Field::CustomValue, Problem::Unknown) => {
            td_string!(locale, errors.not_a_choice).to_string()
        }
        (_, Problem::Unknown) => td_string!(locale, errors.unknown).to_string(),
        (Field::Contact, Problem::Expired) => td_string!(locale, errors.merge_expired).to_string(),
        (_, Problem::Expired) => td_string!(locale, errors.invite_expired).to_string(),
        (_, Problem::AlreadyUsed) => td_string!(locale, errors.invite_used).to_string(),
        (Field::CurrentPassword, Problem::Wrong) => {
            td_string!(locale, errors.current_password_wrong).to_string()
        }
        (_, Problem::Wrong) => td_string!(locale, errors.credentials).to_string(),
        (_, Problem::InUse) => td_string!(locale, errors.role_in_use).to_string(),
        (Field::Account, Problem::TooMany { max }) => fill(
            td_string!(locale, errors.too_many_lines),
            &[("max", max.to_string())],
        )
        .to_string(),
        (_, Problem::TooMany { max }) => fill(
            td_string!(locale, errors.too_many),
            &[("max", max.to_string())],
        )
        .to_string(),
    }
}

/// "Too many failed attempts", with the wait in seconds under a minute and in minutes beyond.
pub fn rate_limited_text(locale: Locale, retry_after_secs: u64) -> String {
    if retry_after_secs < 60 {
        fill(
            td_string!(locale, errors.rate_limited_seconds),
            &[("seconds", retry_after_secs.max(1).to_string())],
        )
        .to_string()
    } else {
        fill(
            td_string!(locale, errors.rate_limited),
            &[("minutes", retry_after_secs.div_ceil(60).to_string())],
        )
        .to_string()
    }
}

/// The translated sentence for any error.
pub fn error_text(locale: Locale, error: &AppError) -> String {
    match error {
        AppError::Invalid { field, problem } => problem_text(locale, *field, *problem),
        AppError::Unauthenticated => td_string!(locale, errors.unauthenticated).to_string(),
        AppError::Forbidden => td_string!(locale, errors.forbidden).to_string(),
        AppError::NotFound => td_string!(locale, errors.not_found).to_string(),
        AppError::RateLimited { retry_after_secs } => rate_limited_text(locale, *retry_after_secs),
        AppError::AlreadySetUp => td_string!(locale, errors.already_set_up).to_string(),
        AppError::Busy => td_string!(locale, errors.busy).to_string(),
        AppError::LastAdministrator => td_string!(locale, errors.last_administrator).to_string(),
        AppError::EmailNotSent => td_string!(locale, errors.email_not_sent).to_string(),
        AppError::Internal => td_string!(locale, errors.internal).to_string(),
        AppError::Transport(_) => td_string!(locale, errors.transport).to_string(),
        AppError::Window(refusal) => refusal_text(locale, *refusal),
        AppError::AccountDisconnected => {
            td_string!(locale, errors.account_disconnected).to_string()
        }
        AppError::File(refusal) => file_refusal_text(locale, *refusal),
        AppError::Assignment(crate::lifecycle::Refusal::Unavailable) => {
            td_string!(locale, errors.assignee_unavailable).to_string()
        }
        AppError::Assignment(crate::lifecycle::Refusal::CannotWork) => {
            td_string!(locale, errors.assignee_cannot_work).to_string()
        }
        AppError::RuleOverlap { rule } if rule.is_empty() => {
            td_string!(locale, errors.rule_overlap_unnamed).to_string()
        }
        AppError::RuleOverlap { rule } => fill(
            td_string!(locale, errors.rule_overlap),
            &[("rule", rule.clone())],
        )
        .to_string(),
        AppError::Provider { code, reason } => fill(
            td_string!(locale, errors.provider),
            &[("code", code.clone()), ("reason", reason.clone())],
        )
        .to_string(),
    }
}

/// Why the interaction window does not allow a message.
pub fn refusal_text(locale: Locale, refusal: crate::window::Refusal) -> String {
    use crate::window::Refusal;
    match refusal {
        Refusal::TemplateRequired => td_string!(locale, errors.window_template_required),
        Refusal::TemplatesNotOnThisChannel => td_string!(locale, errors.window_no_templates),
        Refusal::CustomerMustWriteFirst => td_string!(locale, errors.window_customer_first),
        Refusal::WindowExpired => td_string!(locale, errors.window_expired),
        Refusal::MarketingStopped => td_string!(locale, errors.marketing_stopped),
        Refusal::LineMayNotStart => td_string!(locale, errors.line_may_not_start),
        Refusal::LineMayNotReply => td_string!(locale, errors.line_may_not_reply),
        Refusal::LineCutOff => td_string!(locale, errors.line_cut_off),
    }
    .to_string()
}

/// Why an outgoing message failed: Buzón's own reasons and the providers' most common ones
/// translated, any other provider's reason as the provider gave it.
pub fn failure_text(locale: Locale, code: Option<&str>, reason: Option<&str>) -> String {
    use crate::window::failure::{DISCONNECTED, UNKNOWN_OUTCOME};
    let code = code.unwrap_or_default();
    if let Some(refusal) = crate::window::Refusal::from_code(code) {
        return refusal_text(locale, refusal);
    }
    let known = match code {
        DISCONNECTED => Some(td_string!(locale, inbox.failed_disconnected)),
        UNKNOWN_OUTCOME => Some(td_string!(locale, inbox.failed_unknown)),
        // WhatsApp's re-engagement refusal, and Twilio's for the same rule.
        "131047" | "63016" => Some(td_string!(locale, inbox.failed_outside_window)),
        "130429" | "131056" | "80007" => Some(td_string!(locale, inbox.failed_rate_limit)),
        "131026" => Some(td_string!(locale, inbox.failed_undeliverable)),
        _ => None,
    };
    match known {
        Some(text) => text.to_string(),
        None => reason.unwrap_or_default().to_string(),
    }
}

/// The answer to a button's action: the notice on success, the translated error otherwise.
pub fn outcome_view(locale: Locale, result: Result<String, AppError>) -> AnyView {
    match result {
        Ok(notice) => view! { <p class="notice" role="status">{notice}</p> }.into_any(),
        Err(err) => error_alert(locale, &err),
    }
}

/// An error beside the control it belongs to, translated; nothing while there is none.
#[component]
pub fn ErrorNote(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let locale = use_locale();
    move || error.get().map(|err| error_alert(locale, &err))
}

/// An error said at once, translated: what a section shows when its data did not come.
pub fn error_alert(locale: Locale, error: &AppError) -> AnyView {
    view! {
        <p class="form-error" role="alert">
            {error_text(locale, error)}
        </p>
    }
    .into_any()
}

/// Why a file cannot be sent on this channel.
pub fn file_refusal_text(locale: Locale, refusal: channels::files::FileRefusal) -> String {
    use channels::files::FileRefusal;
    match refusal {
        FileRefusal::Type => td_string!(locale, errors.file_type).to_string(),
        FileRefusal::Empty => td_string!(locale, errors.file_empty).to_string(),
        FileRefusal::TooLarge { max_bytes } => fill(
            td_string!(locale, errors.file_too_large),
            &[("max", format!("{:.0}", max_bytes as f64 / 1_048_576.0))],
        )
        .to_string(),
    }
}

/// The error of the last submission, when it belongs to `field`, shown under that field.
#[component]
pub fn FieldError(
    #[prop(into)] error: Signal<Option<AppError>>,
    field: Field,
    #[prop(into)] id: String,
) -> impl IntoView {
    let locale = use_locale();
    move || {
        error
            .get()
            .and_then(|e| e.problem_with(field))
            .map(|problem| {
                view! {
                    <p class="field-error" id=id.clone() role="alert">
                        {problem_text(locale, field, problem)}
                    </p>
                }
            })
    }
}

/// A labelled form control and, under it, the error of the last submission about `field`.
/// The control, given as the children, carries the id `id` and is described by
/// `"{id}-error"`, the error's id.
#[component]
pub fn FormField(
    id: &'static str,
    /// Written once, as every translated text (the page's language is fixed for its life).
    label: &'static str,
    field: Field,
    #[prop(into)] error: Signal<Option<AppError>>,
    children: Children,
) -> impl IntoView {
    view! {
        <label for=id>{label}</label>
        {children()}
        <FieldError error field id=format!("{id}-error") />
    }
}

/// The error of the last submission when it is not about one of `fields`.
#[component]
pub fn FormError(
    #[prop(into)] error: Signal<Option<AppError>>,
    fields: &'static [Field],
) -> impl IntoView {
    let locale = use_locale();
    move || {
        error
            .get()
            .filter(|e| !fields.iter().any(|f| e.problem_with(*f).is_some()))
            .map(|e| {
                view! { <p class="form-error" role="alert">{error_text(locale, &e)}</p> }
            })
    }
}

/// The error a server action ended with, if its last run failed.
pub fn action_error<I, O>(action: ServerAction<I>) -> Signal<Option<AppError>>
where
    I: leptos::server_fn::ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(|r| r.err()))
}

/// The name a role is shown by: built-in roles are translated.
pub fn role_name(locale: Locale, name: &str, builtin: Option<BuiltinRole>) -> String {
    match builtin {
        Some(BuiltinRole::Administrator) => td_string!(locale, roles.admin).to_string(),
        Some(BuiltinRole::Seller) => td_string!(locale, roles.seller).to_string(),
        Some(BuiltinRole::Editor) => td_string!(locale, roles.editor).to_string(),
        None => name.to_string(),
    }
}

pub fn permission_name(locale: Locale, permission: Permission) -> String {
    match permission {
        Permission::UseInbox => td_string!(locale, permissions.use_inbox).to_string(),
        Permission::SeeAllConversations => {
            td_string!(locale, permissions.see_all_conversations).to_string()
        }
        Permission::StartWithAnyContact => {
            td_string!(locale, permissions.start_with_any_contact).to_string()
        }
        Permission::DeleteConversations => {
            td_string!(locale, permissions.delete_conversations).to_string()
        }
        Permission::ManageUsers => td_string!(locale, permissions.manage_users).to_string(),
        Permission::ManageSettings => td_string!(locale, permissions.manage_settings).to_string(),
        Permission::ManageContacts => td_string!(locale, permissions.manage_contacts).to_string(),
    }
}

/// Fills the `%name%` placeholders of a translated text.
pub fn fill(text: impl std::fmt::Display, args: &[(&str, String)]) -> String {
    args.iter().fold(text.to_string(), |text, (name, value)| {
        text.replace(&format!("%{name}%"), value)
    })
}

/// The text of a page's `<Title>` that changes while the page is open (the inbox's unread
/// count). The server writes the title into the page after leaving the page's reactive scope,
/// where reading a signal is not allowed (concurrent renders panicked there), so on the server
/// the text is read once, now; in the browser it follows its signals.
pub fn page_title<T: ToString>(text: impl Fn() -> T + Send + Sync + 'static) -> TextProp {
    #[cfg(feature = "ssr")]
    {
        TextProp::from(text().to_string())
    }
    #[cfg(not(feature = "ssr"))]
    {
        TextProp::from(move || text().to_string())
    }
}

/// A value the browser alone asks for, again whenever what `fetch` reads changes; the latest
/// answer wins. Nothing waits for it on the server, where it stays `None`: a view under a
/// `Transition` may read it and still be rendered there (a `LocalResource` read would make the
/// server send that `Transition`'s fallback instead).
pub fn browser_value<T, Fut>(fetch: impl Fn() -> Fut + 'static) -> RwSignal<Option<T>>
where
    T: Send + Sync + 'static,
    Fut: std::future::Future<Output = T> + 'static,
{
    let value = RwSignal::new(None);
    let asked = StoredValue::new(0u64);
    Effect::new(move |_| {
        let answer = fetch();
        asked.update_value(|n| *n += 1);
        let this = asked.get_value();
        leptos::task::spawn_local(async move {
            let answer = answer.await;
            if asked.try_get_value() == Some(this) {
                value.try_set(Some(answer));
            }
        });
    });
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_translated_by_code_and_others_keep_the_provider_reason() {
        let spanish = Locale::es;
        assert!(
            failure_text(spanish, Some("131047"), Some("Re-engagement message"))
                .contains("24 horas")
        );
        assert!(
            failure_text(spanish, Some("disconnected"), Some("The account was"))
                .contains("desconectó")
        );
        assert_eq!(
            failure_text(spanish, Some("window_expired"), None),
            refusal_text(spanish, crate::window::Refusal::WindowExpired)
        );
        assert_eq!(
            failure_text(spanish, Some("131000"), Some("Something went wrong")),
            "Something went wrong"
        );
        assert_eq!(failure_text(Locale::en, None, None), "");
    }

    #[test]
    fn a_size_limit_is_given_in_whole_megabytes() {
        use channels::files::FileRefusal;
        let text = |max_bytes| file_refusal_text(Locale::en, FileRefusal::TooLarge { max_bytes });
        assert!(
            text(16 * 1_048_576).contains(" 16 MB"),
            "{}",
            text(16 * 1_048_576)
        );
        assert!(text(100 * 1_048_576).contains(" 100 MB"));
        // Rounded to the nearest megabyte, not cut.
        assert!(text(5 * 1_048_576 + 600_000).contains(" 6 MB"));
        assert!(text(5 * 1_048_576 + 400_000).contains(" 5 MB"));
    }
}

/// A small button that opens and closes what follows it (`aria-expanded` says which).
#[component]
pub fn ToggleButton(open: RwSignal<bool>, children: Children) -> impl IntoView {
    view! {
        <button
            type="button"
            class="button small"
            aria-expanded=move || open.get().to_string()
            on:click=move |_| open.update(|o| *o = !*o)
        >
            {children()}
        </button>
    }
}
