//! What a WhatsApp line's standing with Meta means, in words: the notices Settings and the
//! inbox's line filter show, what a restriction means for the composer, the messaging limit.

use leptos::prelude::*;

use crate::epoch::EpochMs;
use crate::i18n::*;
use crate::kit::clock;
use crate::kit::form::fill;
use crate::standing::{Restriction, Standing, Stopped};

/// Every notice about a line, the most serious first; empty when all is well.
pub fn notices(locale: Locale, standing: &Standing, now: EpochMs, offset: i32) -> Vec<String> {
    let mut notices = Vec::new();
    match standing.ban.as_deref() {
        Some("SCHEDULE_FOR_DISABLE") => {
            notices.push(td_string!(locale, line.ban_scheduled).to_string())
        }
        Some(_) => notices.push(td_string!(locale, line.banned).to_string()),
        None => {}
    }
    if let Some(reason) = &standing.disconnected {
        notices.push(fill(
            td_string!(locale, line.disconnected),
            &[("reason", reason.clone())],
        ));
    }
    for restriction in standing.in_force(now) {
        notices.push(restriction_text(locale, restriction, offset));
    }
    if let Some(violation) = &standing.violation {
        notices.push(fill(
            td_string!(locale, line.violation),
            &[("kind", violation.clone())],
        ));
    }
    if standing.flagged {
        notices.push(td_string!(locale, line.flagged).to_string());
    }
    notices
}

/// What a restriction in force of this kind means for sending, if there is one (and the line
/// is not cut off altogether, which the composer's refusal says).
pub fn restriction(
    locale: Locale,
    standing: &Standing,
    stopped: Stopped,
    now: EpochMs,
    offset: i32,
) -> Option<String> {
    if standing.cut_off() {
        return None;
    }
    let until = standing.stops(stopped, now)?;
    Some(restriction_text(
        locale,
        &Restriction {
            kind: stopped.kind().to_string(),
            until,
        },
        offset,
    ))
}

fn restriction_text(locale: Locale, restriction: &Restriction, offset: i32) -> String {
    let until = match restriction.until {
        Some(at) => fill(
            td_string!(locale, line.until),
            &[(
                "when",
                format!(
                    "{} {}",
                    clock::date(at, offset),
                    clock::time_of_day(at, offset)
                ),
            )],
        ),
        None => td_string!(locale, line.for_now).to_string(),
    };
    let text = match restriction.kind.as_str() {
        "RESTRICTED_BIZ_INITIATED_MESSAGING" => td_string!(locale, line.may_not_start),
        "RESTRICTED_CUSTOMER_INITIATED_MESSAGING" => td_string!(locale, line.may_not_reply),
        "RESTRICTED_ADD_PHONE_NUMBER_ACTION" => td_string!(locale, line.may_not_add_numbers),
        _ => td_string!(locale, line.restricted),
    };
    fill(
        text,
        &[("until", until), ("kind", restriction.kind.clone())],
    )
}

/// How many conversations a day the line may start, as Meta's tier says (`TIER_1K` → 1000).
pub fn messaging_limit(locale: Locale, standing: &Standing) -> Option<String> {
    let tier = standing.messaging_limit.as_deref()?;
    if tier == "TIER_UNLIMITED" {
        return Some(td_string!(locale, line.limit_unlimited).to_string());
    }
    let count = tier.strip_prefix("TIER_")?;
    let count = match count.strip_suffix('K') {
        Some(thousands) => format!("{thousands}000"),
        None => count.to_string(),
    };
    Some(fill(td_string!(locale, line.limit), &[("count", count)]))
}

/// A line's notices as a warning block (nothing when there are none).
#[component]
pub fn LineAlert(
    /// The line's name, when the block does not sit beside it.
    #[prop(optional, into)]
    name: Option<String>,
    notices: Vec<String>,
) -> impl IntoView {
    let body = match notices.len() {
        0 => return None,
        1 => view! { <p>{notices.into_iter().next()}</p> }.into_any(),
        _ => view! {
            <ul>
                {notices.into_iter().map(|notice| view! { <li>{notice}</li> }).collect_view()}
            </ul>
        }
        .into_any(),
    };
    Some(view! {
        <div class="line-alert" role="status">
            {name.map(|name| view! { <strong>"⚠ " {name}</strong> })}
            {body}
        </div>
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standing::after_account_event;

    #[test]
    fn each_fact_reads_as_a_notice_and_limits_as_numbers() {
        let locale = Locale::es;
        let restricted = after_account_event(
            Standing::default(),
            "ACCOUNT_RESTRICTION",
            &[(
                "RESTRICTED_BIZ_INITIATED_MESSAGING".into(),
                Some(1_800_000_000_000),
            )],
            None,
        )
        .unwrap();
        let now = EpochMs(1_700_000_000_000);
        let notices = notices(locale, &restricted, now, 0);
        assert_eq!(notices.len(), 1);
        assert!(notices[0].contains("15/01/2027"), "{}", notices[0]);
        assert!(!notices[0].contains('%'), "{}", notices[0]);
        assert!(restriction(locale, &restricted, Stopped::BusinessInitiated, now, 0).is_some());
        assert!(restriction(locale, &restricted, Stopped::CustomerInitiated, now, 0).is_none());
        assert!(
            super::notices(locale, &restricted, EpochMs(1_900_000_000_000), 0).is_empty(),
            "an ended restriction says nothing"
        );
        let everything = Standing {
            ban: Some("DISABLE".into()),
            disconnected: Some("PARTNER_REMOVED".into()),
            violation: Some("ADULT".into()),
            flagged: true,
            ..restricted
        };
        let all = super::notices(Locale::en, &everything, now, 0);
        assert_eq!(all.len(), 5);
        assert!(all.iter().all(|n| !n.contains('%')), "{all:?}");
        assert!(all[1].contains("PARTNER_REMOVED"));
        assert_eq!(
            restriction(locale, &everything, Stopped::BusinessInitiated, now, 0),
            None,
            "a line cut off says so once, in the refusal"
        );
        let limited = Standing {
            messaging_limit: Some("TIER_2K".into()),
            ..Standing::default()
        };
        assert!(messaging_limit(Locale::en, &limited)
            .unwrap()
            .contains("2000"));
        assert_eq!(messaging_limit(Locale::en, &Standing::default()), None);
    }
}
