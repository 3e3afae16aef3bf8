//! Possible duplicates: contacts of an organization that share a number, an email, or the
//! same name with the same company. Found for one contact whenever it changes (the indexed
//! lookups of `refresh`, in the change's transaction), kept as pairs, offered on the contact's
//! page and in the inbox's panel until someone merges them or says they are two people.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Why two contacts may be one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reason {
    Phone,
    Email,
    /// The same name, and the same company.
    Name,
}

impl Reason {
    pub fn key(self) -> &'static str {
        match self {
            Reason::Phone => "phone",
            Reason::Email => "email",
            Reason::Name => "name",
        }
    }

    pub fn from_key(key: &str) -> Option<Reason> {
        [Reason::Phone, Reason::Email, Reason::Name]
            .into_iter()
            .find(|r| r.key() == key)
    }
}

/// Company names compared as people write them: without case, accents, surrounding spaces or
/// a final period.
fn company_folded(company: &str) -> String {
    crate::search::search_folded(company.trim().trim_end_matches('.').trim())
}

/// Why two contacts may be one, if they may: a shared number first, then a shared email, then
/// the same name (as the list sorts it) with the same company (a name alone is not enough:
/// two customers may be called Juan Pérez).
pub fn reason(
    shared_number: bool,
    shared_email: bool,
    same_name: bool,
    companies: (Option<&str>, Option<&str>),
) -> Option<Reason> {
    let same_company = match companies {
        (Some(a), Some(b)) => {
            !company_folded(a).is_empty() && company_folded(a) == company_folded(b)
        }
        _ => false,
    };
    if shared_number {
        Some(Reason::Phone)
    } else if shared_email {
        Some(Reason::Email)
    } else if same_name && same_company {
        Some(Reason::Name)
    } else {
        None
    }
}

/// Another contact that may be this one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Duplicate {
    pub id: i64,
    pub name: String,
    pub reason: Reason,
}

/// Says that two contacts are two people: the pair is no longer offered.
#[server(prefix = "/api", endpoint = "dismiss_duplicate", output = crate::codec::Json)]
pub async fn dismiss_duplicate(contact_id: i64, other_id: i64) -> Result<(), AppError> {
    ssr::dismiss(contact_id, other_id)
        .await
        .map_err(AppError::respond)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use super::{reason, Duplicate, Reason};
    use crate::auth::ssr::require;
    use crate::epoch::EpochMs;
    use crate::error::AppError;
    use crate::orgs::Tx;
    use crate::permissions::{can_manage_contacts, can_see_every_contact, Actor};
    use crate::state::AppState;

    /// The pairs of contact `contact_id` found again from what it is now: the ones it no longer
    /// has go (unless someone dismissed them, which stays said), new ones come. Indexed lookups
    /// by each of its numbers, its email and its name.
    pub async fn refresh(tx: &mut Tx<'_>, org_id: i64, contact_id: i64) -> Result<(), AppError> {
        sqlx::query(
            "DELETE FROM contact_duplicates WHERE (contact_id = $1 OR other_id = $1) \
             AND dismissed_at IS NULL",
        )
        .bind(contact_id)
        .execute(&mut **tx)
        .await?;
        #[derive(sqlx::FromRow)]
        struct Me {
            email: Option<String>,
            company: Option<String>,
            primary_phone: Option<String>,
            whatsapp_phone: Option<String>,
            sort_name: String,
            merged_into_id: Option<i64>,
        }
        let me: Option<Me> = sqlx::query_as(
            "SELECT email, company, primary_phone, whatsapp_phone, sort_name, merged_into_id \
             FROM contacts WHERE id = $1 AND org_id = $2",
        )
        .bind(contact_id)
        .bind(org_id)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(me) = me else {
            return Ok(());
        };
        if me.merged_into_id.is_some() {
            return Ok(());
        }
        let others: Vec<(String,)> =
            sqlx::query_as("SELECT phone FROM contact_phones WHERE contact_id = $1")
                .bind(contact_id)
                .fetch_all(&mut **tx)
                .await?;
        let mut numbers: Vec<String> = [me.primary_phone.clone(), me.whatsapp_phone.clone()]
            .into_iter()
            .flatten()
            .chain(others.into_iter().map(|(n,)| n))
            .collect();
        numbers.sort();
        numbers.dedup();
        // Every contact sharing something with it, with what it shares: each an equality on
        // an index, with the values written in (numbers in E.164 read from the database,
        // quoted), so that each planner probes its index.
        #[derive(sqlx::FromRow)]
        struct Candidate {
            id: i64,
            why: String,
            company: Option<String>,
        }
        let quoted = numbers
            .iter()
            .map(|n| format!("'{}'", n.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(",");
        let mut found = Vec::new();
        if !numbers.is_empty() {
            found.push(format!(
                "SELECT id, 'phone' AS why FROM contacts WHERE org_id = $1 \
                 AND primary_phone IN ({quoted}) \
                 UNION SELECT id, 'phone' FROM contacts WHERE org_id = $1 \
                 AND whatsapp_phone IN ({quoted}) \
                 UNION SELECT contact_id, 'phone' FROM contact_phones WHERE org_id = $1 \
                 AND phone IN ({quoted})"
            ));
        }
        // Placeholders after $1 (the organization) and $2 (this contact), for what is bound.
        let mut texts: Vec<&String> = Vec::new();
        if let Some(email) = &me.email {
            texts.push(email);
            found.push(format!(
                "SELECT id, 'email' AS why FROM contacts WHERE org_id = $1 AND email = ${}",
                texts.len() + 2
            ));
        }
        // The same name counts only with a company to compare.
        if me.company.is_some() {
            texts.push(&me.sort_name);
            found.push(format!(
                "SELECT id, 'name' AS why FROM contacts WHERE org_id = $1 AND sort_name = ${} \
                 AND company IS NOT NULL",
                texts.len() + 2
            ));
        }
        if found.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "SELECT f.id, f.why, c.company FROM ({}) f JOIN contacts c ON c.id = f.id \
             WHERE f.id <> $2 AND c.merged_into_id IS NULL",
            found.join(" UNION ")
        );
        let mut query = sqlx::query_as::<_, Candidate>(&sql)
            .bind(org_id)
            .bind(contact_id);
        for text in texts {
            query = query.bind(text);
        }
        let candidates = query.fetch_all(&mut **tx).await?;
        let company = me.company;
        let mut pairs: Vec<(i64, Reason)> = Vec::new();
        for candidate in &candidates {
            if pairs.iter().any(|(id, _)| *id == candidate.id) {
                continue;
            }
            let shares = |why: &str| {
                candidates
                    .iter()
                    .any(|c| c.id == candidate.id && c.why == why)
            };
            let found = reason(
                shares("phone"),
                shares("email"),
                shares("name"),
                (company.as_deref(), candidate.company.as_deref()),
            );
            if let Some(found) = found {
                pairs.push((candidate.id, found));
            }
        }
        for (other, why) in pairs {
            for (a, b) in [(contact_id, other), (other, contact_id)] {
                sqlx::query(
                    "INSERT INTO contact_duplicates (org_id, contact_id, other_id, reason) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(org_id)
                .bind(a)
                .bind(b)
                .bind(why.key())
                .execute(&mut **tx)
                .await?;
            }
        }
        Ok(())
    }

    /// The contacts that may be `contact_id`, those `actor` may reach, by name.
    pub async fn of(
        state: &AppState,
        actor: &Actor,
        contact_id: i64,
    ) -> Result<Vec<Duplicate>, AppError> {
        let reachable = match can_see_every_contact(actor) {
            true => String::new(),
            false => format!("AND {}", crate::contacts::store::ssr::reachable_by("$3")),
        };
        let rows: Vec<(i64, String, String, String)> = sqlx::query_as(&format!(
            "SELECT c.id, c.first_name, c.last_name, d.reason FROM contact_duplicates d \
             JOIN contacts c ON c.id = d.other_id \
             WHERE d.contact_id = $1 AND d.org_id = $2 AND d.dismissed_at IS NULL \
             AND c.merged_into_id IS NULL {reachable} ORDER BY c.sort_name, c.id LIMIT 20"
        ))
        .bind(contact_id)
        .bind(actor.org_id)
        .bind(actor.user_id)
        .fetch_all(&state.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, first, last, why)| {
                Some(Duplicate {
                    id,
                    name: format!("{first} {last}").trim().to_string(),
                    reason: Reason::from_key(&why)?,
                })
            })
            .collect())
    }

    pub async fn dismiss(contact_id: i64, other_id: i64) -> Result<(), AppError> {
        let user = require(can_manage_contacts).await?;
        let state = AppState::current()?;
        let dismissed = sqlx::query(
            "UPDATE contact_duplicates SET dismissed_at = $1 WHERE org_id = $2 \
             AND ((contact_id = $3 AND other_id = $4) OR (contact_id = $4 AND other_id = $3))",
        )
        .bind(EpochMs::now())
        .bind(user.org_id)
        .bind(contact_id)
        .bind(other_id)
        .execute(&state.db.pool)
        .await?
        .rows_affected();
        if dismissed == 0 {
            return Err(AppError::NotFound);
        }
        state.hub.contact_changed(user.org_id, contact_id);
        state.hub.contact_changed(user.org_id, other_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_number_or_email_is_enough_a_name_needs_its_company() {
        let none = (None, None);
        assert_eq!(reason(true, true, true, none), Some(Reason::Phone));
        assert_eq!(reason(false, true, false, none), Some(Reason::Email));
        assert_eq!(reason(false, false, true, none), None, "two Juan Pérez");
        assert_eq!(
            reason(
                false,
                false,
                true,
                (Some("Muebles Ibarra S.A."), Some(" muebles ibarra s.a"))
            ),
            Some(Reason::Name)
        );
        assert_eq!(
            reason(
                false,
                false,
                true,
                (Some("Muebles Ibarra"), Some("Casa Pérez"))
            ),
            None
        );
        assert_eq!(reason(false, false, true, (Some(" "), Some(""))), None);
        assert_eq!(reason(false, false, false, (Some("A"), Some("A"))), None);
    }
}
