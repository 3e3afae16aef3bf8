//! The WhatsApp Business Account's own webhooks: its message templates (status, category,
//! quality, components), the account (restrictions, violations, bans, disconnection), its
//! numbers' quality and messaging limits. They carry no phone-number id: the entry's id is the
//! business account's, and a number is named, when at all, by its display number.
//! `docs/whatsapp-business-webhooks.md` describes each shape.

use serde_json::Value;

/// One change to a WhatsApp Business Account or one of its templates or numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessUpdate {
    /// The WhatsApp Business Account's id (the entry's id).
    pub business_id: String,
    pub change: BusinessChange,
}

#[derive(Debug, Clone, PartialEq)]
pub enum BusinessChange {
    Template(TemplateRef, TemplateChange),
    /// Something about the account as a whole, which every one of its numbers inherits.
    Account(AccountEvent),
    /// A number's quality or messaging limit, named by its display number.
    Number {
        display_phone_number: String,
        event: String,
        /// The messaging limit now (`TIER_250`, `TIER_2K`, …, `TIER_UNLIMITED`).
        limit: Option<String>,
    },
    /// The business's messaging limit (conversations a day).
    Capability {
        daily_limit: Option<String>,
    },
}

/// A template as a webhook names it.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateRef {
    /// Meta's template id.
    pub id: Option<String>,
    pub name: String,
    /// As Meta writes it (`en_US` or `en-US`).
    pub language: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TemplateChange {
    /// `APPROVED`, `REJECTED`, `PAUSED`, `DISABLED`, `FLAGGED`, … (`REINSTATED` comes as is).
    Status {
        status: String,
        /// Why, when Meta says: a rejection's reason and recommendation, a pause's notice.
        reason: Option<String>,
        category: Option<String>,
    },
    /// A category changed, or will change at `effective_at` (ms).
    Category {
        category: String,
        effective_at: Option<i64>,
    },
    Quality {
        quality: String,
    },
    Components {
        body: String,
        header: Option<String>,
        footer: Option<String>,
    },
}

/// An `account_update`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountEvent {
    pub event: String,
    /// Active restrictions, with when each ends (ms): `RESTRICTED_BIZ_INITIATED_MESSAGING`, …
    pub restrictions: Vec<(String, Option<i64>)>,
    /// The violation, the ban state (`DISABLE`, `REINSTATE`, `SCHEDULE_FOR_DISABLE`) or the
    /// disconnection's reason, as Meta words it.
    pub detail: Option<String>,
}

/// Reads one change of a business account's entry; `None` for fields that are not about the
/// business account (they are read elsewhere, or ignored).
pub(crate) fn change(business_id: &str, field: &str, value: &Value) -> Option<BusinessUpdate> {
    let text = |key: &str| value.get(key).and_then(text_of);
    let change = match field {
        // One copy of Meta's reference shows a quality change under the status field: what
        // the value holds decides.
        "message_template_status_update" | "message_template_quality_update"
            if value.get("new_quality_score").is_some() =>
        {
            BusinessChange::Template(
                template(value)?,
                TemplateChange::Quality {
                    quality: text("new_quality_score")?,
                },
            )
        }
        "message_template_status_update" => {
            let reason = value
                .pointer("/rejection_info/reason")
                .and_then(text_of)
                .or_else(|| value.pointer("/other_info/description").and_then(text_of))
                .or_else(|| text("reason").filter(|r| r != "NONE"));
            BusinessChange::Template(
                template(value)?,
                TemplateChange::Status {
                    status: text("event")?,
                    reason,
                    category: text("message_template_category"),
                },
            )
        }
        "template_category_update" => {
            // Announced ahead ("correct_category" becomes the category at the timestamp), or
            // done ("previous_category" was the category).
            let (category, effective_at) = match text("correct_category") {
                Some(upcoming) => (
                    upcoming,
                    value
                        .get("category_update_timestamp")
                        .and_then(number_of)
                        .map(|s| s * 1000),
                ),
                None => (text("new_category")?, None),
            };
            BusinessChange::Template(
                template(value)?,
                TemplateChange::Category {
                    category,
                    effective_at,
                },
            )
        }
        "message_template_components_update" => BusinessChange::Template(
            template(value)?,
            TemplateChange::Components {
                body: text("message_template_element").unwrap_or_default(),
                header: text("message_template_title"),
                footer: text("message_template_footer"),
            },
        ),
        "account_update" => {
            let restrictions = value
                .get("restriction_info")
                .and_then(Value::as_array)
                .map(|all| {
                    all.iter()
                        .filter_map(|r| {
                            let kind = r.get("restriction_type").and_then(text_of)?;
                            let until = r.get("expiration").and_then(number_of).map(|s| s * 1000);
                            Some((kind, until))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let detail = value
                .pointer("/violation_info/violation_type")
                .or_else(|| value.pointer("/ban_info/waba_ban_state"))
                .or_else(|| value.pointer("/disconnection_info/reason"))
                .and_then(text_of);
            BusinessChange::Account(AccountEvent {
                event: text("event")?,
                restrictions,
                detail,
            })
        }
        "phone_number_quality_update" => BusinessChange::Number {
            display_phone_number: text("display_phone_number")?,
            event: text("event").unwrap_or_default(),
            limit: text("max_daily_conversations_per_business").or_else(|| text("current_limit")),
        },
        "business_capability_update" => BusinessChange::Capability {
            daily_limit: value
                .get("max_daily_conversations_per_business")
                .or_else(|| value.get("max_daily_conversation_per_phone"))
                .and_then(|limit| match limit {
                    Value::Number(n) if n.as_i64() == Some(-1) => Some("TIER_UNLIMITED".into()),
                    other => text_of(other),
                }),
        },
        _ => return None,
    };
    Some(BusinessUpdate {
        business_id: business_id.to_string(),
        change,
    })
}

fn template(value: &Value) -> Option<TemplateRef> {
    Some(TemplateRef {
        id: value.get("message_template_id").and_then(text_of),
        name: value.get("message_template_name").and_then(text_of)?,
        language: value
            .get("message_template_language")
            .and_then(text_of)
            .unwrap_or_default(),
    })
}

/// A string, or a number written as one (Meta sends ids and limits either way).
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::whatsapp;

    /// A body as Meta sends it: one entry of the business account with one change.
    fn body(business: &str, field: &str, value: &str) -> Vec<u8> {
        format!(
            r#"{{"entry":[{{"id":"{business}","time":1751247548,"changes":[{{"value":{value},"field":"{field}"}}]}}],"object":"whatsapp_business_account"}}"#
        )
        .into_bytes()
    }

    fn only(body: &[u8]) -> BusinessChange {
        let batch = whatsapp::parse(body).unwrap();
        assert!(
            batch.events.is_empty() && batch.notices.is_empty(),
            "{batch:?}"
        );
        assert_eq!(batch.business.len(), 1, "{batch:?}");
        assert_eq!(batch.business[0].business_id, "102290129340398");
        batch.business[0].change.clone()
    }

    const WABA: &str = "102290129340398";

    #[test]
    fn template_statuses_are_read_with_their_reasons() {
        let approved = body(
            WABA,
            "message_template_status_update",
            r#"{"event":"APPROVED","message_template_id":1689556908129832,"message_template_name":"order_confirmation","message_template_language":"en-US","reason":"NONE","message_template_category":"UTILITY"}"#,
        );
        assert_eq!(
            only(&approved),
            BusinessChange::Template(
                TemplateRef {
                    id: Some("1689556908129832".into()),
                    name: "order_confirmation".into(),
                    language: "en-US".into(),
                },
                TemplateChange::Status {
                    status: "APPROVED".into(),
                    reason: None,
                    category: Some("UTILITY".into()),
                }
            )
        );
        let rejected = body(
            WABA,
            "message_template_status_update",
            r#"{"event":"REJECTED","message_template_id":1689556908129835,"message_template_name":"abandoned_cart","message_template_language":"en","reason":"INVALID_FORMAT","message_template_category":"MARKETING","rejection_info":{"reason":"Your template has parameters placed next to each other.","recommendation":"Separate parameters with descriptive text."}}"#,
        );
        let BusinessChange::Template(_, TemplateChange::Status { status, reason, .. }) =
            only(&rejected)
        else {
            panic!("not a status")
        };
        assert_eq!(status, "REJECTED");
        assert_eq!(
            reason.as_deref(),
            Some("Your template has parameters placed next to each other.")
        );
        let paused = body(
            WABA,
            "message_template_status_update",
            r#"{"reason":"NONE","message_template_name":"testing_template","event":"PAUSED","message_template_language":"en","message_template_id":"10545","other_info":{"title":"SECOND_PAUSE","description":"Your WhatsApp message template has been paused for 6 hours."}}"#,
        );
        let BusinessChange::Template(template, TemplateChange::Status { status, reason, .. }) =
            only(&paused)
        else {
            panic!("not a status")
        };
        assert_eq!(template.id.as_deref(), Some("10545"));
        assert_eq!(status, "PAUSED");
        assert!(reason.unwrap().contains("paused for 6 hours"));
        // Scheduled for deletion: no reason at all.
        let deleting = body(
            WABA,
            "message_template_status_update",
            r#"{"event":"PENDING_DELETION","message_template_id":1,"message_template_name":"viejo","message_template_language":"es","reason":null}"#,
        );
        assert!(matches!(
            only(&deleting),
            BusinessChange::Template(_, TemplateChange::Status { reason: None, .. })
        ));
    }

    #[test]
    fn categories_quality_and_components_are_read() {
        let done = body(
            WABA,
            "template_category_update",
            r#"{"message_template_id":278077987957091,"message_template_name":"welcome_template","message_template_language":"en-US","previous_category":"UTILITY","new_category":"MARKETING"}"#,
        );
        assert!(matches!(
            only(&done),
            BusinessChange::Template(_, TemplateChange::Category { category, effective_at: None })
                if category == "MARKETING"
        ));
        let upcoming = body(
            WABA,
            "template_category_update",
            r#"{"message_template_id":278077987957091,"message_template_name":"welcome_template","message_template_language":"en-US","new_category":"UTILITY","correct_category":"MARKETING","category_update_timestamp":1746169200}"#,
        );
        assert!(matches!(
            only(&upcoming),
            BusinessChange::Template(_, TemplateChange::Category { category, effective_at: Some(1_746_169_200_000) })
                if category == "MARKETING"
        ));
        let quality = r#"{"previous_quality_score":"GREEN","new_quality_score":"YELLOW","message_template_id":806312974732579,"message_template_name":"welcome_template","message_template_language":"en-US"}"#;
        // Under its own field, and under the status field as one copy of Meta's page shows.
        for field in [
            "message_template_quality_update",
            "message_template_status_update",
        ] {
            assert!(matches!(
                only(&body(WABA, field, quality)),
                BusinessChange::Template(_, TemplateChange::Quality { quality }) if quality == "YELLOW"
            ));
        }
        let components = body(
            WABA,
            "message_template_components_update",
            r#"{"message_template_id":1315502779341834,"message_template_name":"order_confirmation","message_template_language":"en_US","message_template_title":"Your order is confirmed!","message_template_element":"Thank you for your order, {{1}}!","message_template_footer":"Lucky Shrub","message_template_buttons":[{"message_template_button_type":"URL","message_template_button_text":"Email support","message_template_button_url":"https://www.luckyshrub.com/support"}]}"#,
        );
        assert_eq!(
            only(&components),
            BusinessChange::Template(
                TemplateRef {
                    id: Some("1315502779341834".into()),
                    name: "order_confirmation".into(),
                    language: "en_US".into(),
                },
                TemplateChange::Components {
                    body: "Thank you for your order, {{1}}!".into(),
                    header: Some("Your order is confirmed!".into()),
                    footer: Some("Lucky Shrub".into()),
                }
            )
        );
    }

    #[test]
    fn account_updates_carry_their_restrictions_violations_and_bans() {
        let restricted = body(
            WABA,
            "account_update",
            r#"{"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING","expiration":1641330498},{"restriction_type":"RESTRICTED_ADD_PHONE_NUMBER_ACTION","expiration":1641330498}]}"#,
        );
        assert_eq!(
            only(&restricted),
            BusinessChange::Account(AccountEvent {
                event: "ACCOUNT_RESTRICTION".into(),
                restrictions: vec![
                    (
                        "RESTRICTED_BIZ_INITIATED_MESSAGING".into(),
                        Some(1_641_330_498_000)
                    ),
                    (
                        "RESTRICTED_ADD_PHONE_NUMBER_ACTION".into(),
                        Some(1_641_330_498_000)
                    ),
                ],
                detail: None,
            })
        );
        for (value, event, detail) in [
            (
                r#"{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":"REINSTATE","waba_ban_date":"April 17, 2025"}}"#,
                "DISABLED_UPDATE",
                Some("REINSTATE"),
            ),
            (
                r#"{"event":"ACCOUNT_VIOLATION","violation_info":{"violation_type":"ADULT"}}"#,
                "ACCOUNT_VIOLATION",
                Some("ADULT"),
            ),
            (
                r#"{"event":"PARTNER_REMOVED","waba_info":{"waba_id":"980198427658004","owner_business_id":"2329417887457253"},"disconnection_info":{"reason":"PRIMARY_INACTIVITY","initiated_by":"SYSTEM"}}"#,
                "PARTNER_REMOVED",
                Some("PRIMARY_INACTIVITY"),
            ),
            (
                r#"{"phone_number":"16505551111","event":"VERIFIED_ACCOUNT"}"#,
                "VERIFIED_ACCOUNT",
                None,
            ),
        ] {
            let BusinessChange::Account(account) = only(&body(WABA, "account_update", value))
            else {
                panic!("{value}")
            };
            assert_eq!(account.event, event);
            assert_eq!(account.detail.as_deref(), detail);
        }
    }

    #[test]
    fn numbers_quality_and_limits_are_read() {
        let upgrade = body(
            WABA,
            "phone_number_quality_update",
            r#"{"display_phone_number":"15550783881","event":"THROUGHPUT_UPGRADE","current_limit":"TIER_UNLIMITED"}"#,
        );
        assert_eq!(
            only(&upgrade),
            BusinessChange::Number {
                display_phone_number: "15550783881".into(),
                event: "THROUGHPUT_UPGRADE".into(),
                limit: Some("TIER_UNLIMITED".into()),
            }
        );
        let onboarding = body(
            WABA,
            "phone_number_quality_update",
            r#"{"event":"ONBOARDING","old_limit":"TIER_NOT_SET","current_limit":"TIER_250","display_phone_number":"16505551111","max_daily_conversations_per_business":"TIER_2K"}"#,
        );
        assert!(matches!(
            only(&onboarding),
            BusinessChange::Number { limit: Some(limit), .. } if limit == "TIER_2K"
        ));
        for (value, limit) in [
            (
                r#"{"max_daily_conversations_per_business":2000,"max_phone_numbers_per_waba":25}"#,
                "2000",
            ),
            (
                r#"{"max_daily_conversation_per_phone":-1,"max_phone_numbers_per_business":2}"#,
                "TIER_UNLIMITED",
            ),
        ] {
            assert_eq!(
                only(&body(WABA, "business_capability_update", value)),
                BusinessChange::Capability {
                    daily_limit: Some(limit.into())
                }
            );
        }
    }

    #[test]
    fn fields_not_handled_are_accepted_and_left_alone() {
        let name = body(
            WABA,
            "phone_number_name_update",
            r#"{"display_phone_number":"15550783881","decision":"APPROVED","requested_verified_name":"Lucky Shrub","rejection_reason":null}"#,
        );
        let batch = whatsapp::parse(&name).unwrap();
        assert!(batch.business.is_empty() && batch.events.is_empty());
        assert_eq!(batch.ignored, ["phone_number_name_update"]);
        let calls = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Lucia"},"wa_id":"5215512345678"}],"calls":[{"id":"wacid.ABGG","to":"15550783881","from":"5215512345678","event":"connect","timestamp":"1671644824","direction":"USER_INITIATED"}]},"field":"calls"}]}]}"#;
        let batch = whatsapp::parse(calls).unwrap();
        assert!(batch.events.is_empty() && batch.business.is_empty() && batch.notices.is_empty());
        assert_eq!(batch.ignored, ["calls"]);
    }

    #[test]
    fn business_changes_are_routed_by_the_entry_id_and_number_changes_by_the_number() {
        let template = body(
            WABA,
            "message_template_quality_update",
            r#"{"new_quality_score":"RED","message_template_name":"x","message_template_language":"es"}"#,
        );
        assert_eq!(whatsapp::businesses(&template).unwrap(), [WABA]);
        assert!(whatsapp::accounts(&template).unwrap().is_empty());
        let preference = br#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"wa_id":"16505551234"}],"user_preferences":[{"wa_id":"16505551234","detail":"User requested to stop marketing messages","category":"marketing_messages","value":"stop","timestamp":1731705721}]},"field":"user_preferences"}]}]}"#;
        assert!(whatsapp::businesses(preference).unwrap().is_empty());
        assert_eq!(whatsapp::accounts(preference).unwrap(), ["106540352242922"]);
    }

    #[test]
    fn a_customer_stopping_or_resuming_marketing_is_an_event_of_the_number() {
        let body = |value: &str, timestamp: &str| {
            format!(
                r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}},"contacts":[{{"wa_id":"16505551234"}}],"user_preferences":[{{"wa_id":"16505551234","detail":"User requested to {value} marketing messages","category":"marketing_messages","value":"{value}","timestamp":{timestamp}}}]}},"field":"user_preferences"}}]}}]}}"#
            )
        };
        for (value, timestamp, stopped) in [
            ("stop", "1731705721", true),
            ("resume", "\"1731705722\"", false),
        ] {
            let batch = whatsapp::parse(body(value, timestamp).as_bytes()).unwrap();
            assert_eq!(
                batch.events,
                [crate::Inbound::MarketingPreference(
                    crate::MarketingPreference {
                        account: "106540352242922".into(),
                        customer: "16505551234".into(),
                        stopped,
                        at_ms: timestamp.trim_matches('"').parse::<i64>().unwrap() * 1000,
                    }
                )]
            );
        }
    }
}
