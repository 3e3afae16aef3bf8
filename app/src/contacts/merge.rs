//! Merging two contacts that are one person: the contact kept takes, field by field, the value
//! chosen from either; everything of the other (conversations, numbers, custom values, deals,
//! tasks, notes) moves to it; the other stays as merged into it, so its old links lead to the
//! contact kept. One transaction, with what it changed kept so that it can be undone within a
//! day.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::{ContactDetail, ContactField, ContactView, CustomValue};
use crate::epoch::EpochMs;
use crate::error::AppError;

/// How long a merge can be undone.
pub const UNDO_MS: i64 = 24 * 3_600_000;

/// A field's value as the merge screen compares it.
pub fn value_of(contact: &ContactView, field: ContactField) -> Option<String> {
    let text = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    match field {
        ContactField::FirstName => text(&Some(contact.first_name.clone())),
        ContactField::LastName => text(&Some(contact.last_name.clone())),
        ContactField::Email => text(&contact.email),
        ContactField::Company => text(&contact.company),
        ContactField::PrimaryPhone => text(&contact.primary_phone),
        ContactField::WhatsappPhone => text(&contact.whatsapp_phone),
        ContactField::FacebookId => text(&contact.facebook_id),
        ContactField::InstagramUsername => text(&contact.instagram_username),
        ContactField::Owner => contact.owner_id.map(|id| id.to_string()),
    }
}

/// The fields whose value the merge takes from the other contact unless someone chooses
/// otherwise: those the contact kept has no value for and the other has.
pub fn taken_by_default(kept: &ContactView, other: &ContactView) -> Vec<ContactField> {
    ContactField::ALL
        .into_iter()
        .filter(|f| value_of(kept, *f).is_none() && value_of(other, *f).is_some())
        .collect()
}

/// The custom fields whose value the merge takes from the other contact by default: the same
/// rule.
pub fn custom_taken_by_default(kept: &[CustomValue], other: &[CustomValue]) -> Vec<i64> {
    other
        .iter()
        .filter(|theirs| theirs.value.is_some())
        .filter(|theirs| {
            !kept
                .iter()
                .any(|mine| mine.field.id == theirs.field.id && mine.value.is_some())
        })
        .map(|theirs| theirs.field.id)
        .collect()
}

/// The contact kept as it is after the merge: each field in `taken` from `other`, the rest
/// as it was.
pub fn combined(kept: &ContactView, other: &ContactView, taken: &[ContactField]) -> ContactView {
    let mut after = kept.clone();
    for field in taken {
        match field {
            ContactField::FirstName => after.first_name = other.first_name.clone(),
            ContactField::LastName => after.last_name = other.last_name.clone(),
            ContactField::Email => after.email = other.email.clone(),
            ContactField::Company => after.company = other.company.clone(),
            ContactField::PrimaryPhone => after.primary_phone = other.primary_phone.clone(),
            ContactField::WhatsappPhone => after.whatsapp_phone = other.whatsapp_phone.clone(),
            ContactField::FacebookId => after.facebook_id = other.facebook_id.clone(),
            ContactField::InstagramUsername => {
                after.instagram_username = other.instagram_username.clone()
            }
            ContactField::Owner => {
                after.owner_id = other.owner_id;
                after.owner_name = other.owner_name.clone();
            }
        }
    }
    after
}

/// The numbers of either contact that `after` no longer holds as its primary, WhatsApp or
/// secondary phone: they become its secondary phones, so that no number is lost.
pub fn numbers_left(after: &ContactView, before: &[&ContactView]) -> Vec<String> {
    let held = |n: &str| {
        after.primary_phone.as_deref() == Some(n)
            || after.whatsapp_phone.as_deref() == Some(n)
            || after.phones.iter().any(|p| p == n)
    };
    let mut left: Vec<String> = Vec::new();
    for contact in before {
        let numbers = [&contact.primary_phone, &contact.whatsapp_phone]
            .into_iter()
            .flatten()
            .chain(contact.phones.iter());
        for number in numbers {
            if !held(number) && !left.contains(number) {
                left.push(number.clone());
            }
        }
    }
    left
}

/// A merge into a contact, as its page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeView {
    pub id: i64,
    /// The contact merged into this one.
    pub merged_name: String,
    pub who: Option<String>,
    pub at: EpochMs,
}

/// Merges contact `merged_id` into `kept_id`. `taken`: the fields whose value comes from the
/// merged contact, comma-separated ([`ContactField`] keys, `custom:ID` for custom fields).
/// Returns the kept contact's page.
#[server(prefix = "/api", endpoint = "merge_contacts", output = crate::codec::Json)]
pub async fn merge_contacts(
    kept_id: i64,
    merged_id: i64,
    #[server(default)] taken: String,
) -> Result<ContactDetail, AppError> {
    ssr::merge(kept_id, merged_id, taken)
        .await
        .map_err(AppError::respond)
}

/// Undoes a merge made less than a day ago: both contacts as they were, each with what was
/// its own. Returns the kept contact's page.
#[server(prefix = "/api", endpoint = "undo_merge", output = crate::codec::Json)]
pub async fn undo_merge(merge_id: i64) -> Result<ContactDetail, AppError> {
    ssr::undo(merge_id).await.map_err(AppError::respond)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use serde::{Deserialize, Serialize};

    use super::{combined, numbers_left, MergeView, UNDO_MS};
    use crate::auth::ssr::require;
    use crate::contacts::duplicates::ssr::refresh;
    use crate::contacts::store::ssr::{by_id, detail_for, reached, record};
    use crate::contacts::{identified, ContactDetail, ContactField, ContactView};
    use crate::epoch::EpochMs;
    use crate::error::{AppError, Field, Problem, ResultExt};
    use crate::orgs::Tx;
    use crate::permissions::can_manage_contacts;
    use crate::state::AppState;

    /// What refers to a contact besides its numbers and custom values: moved by a merge.
    const RECORDS: [&str; 6] = [
        "conversations",
        "deals",
        "tasks",
        "activities",
        "call_logs",
        "notes",
    ];

    /// A custom value as stored.
    #[derive(Debug, Clone, Serialize, Deserialize, sqlx::FromRow)]
    struct Stored {
        field_id: i64,
        value: String,
        unique_value: Option<String>,
    }

    /// What a merge changed, to undo it.
    #[derive(Debug, Serialize, Deserialize)]
    struct Snapshot {
        /// The contact kept, before.
        kept: ContactView,
        kept_values: Vec<Stored>,
        merged_values: Vec<Stored>,
        /// Secondary phones that moved from the merged contact.
        phones_moved: Vec<i64>,
        /// Secondary phones made from numbers the kept contact would have lost.
        phones_added: Vec<i64>,
        /// Rows of each of [`RECORDS`] that moved.
        moved: Vec<(String, Vec<i64>)>,
    }

    /// The contact a link to `contact_id` leads to: itself, or the one it was merged into.
    pub async fn survivor(state: &AppState, org_id: i64, contact_id: i64) -> Result<i64, AppError> {
        let mut id = contact_id;
        // A contact merged into one that was merged later: a few steps at most.
        for _ in 0..8 {
            let next: Option<(Option<i64>,)> =
                sqlx::query_as("SELECT merged_into_id FROM contacts WHERE id = $1 AND org_id = $2")
                    .bind(id)
                    .bind(org_id)
                    .fetch_optional(&state.db.pool)
                    .await?;
            match next {
                Some((Some(into),)) => id = into,
                _ => break,
            }
        }
        Ok(id)
    }

    /// The merges into `contact_id` that can still be undone, newest first.
    pub async fn undoable(state: &AppState, contact_id: i64) -> Result<Vec<MergeView>, AppError> {
        let rows: Vec<(i64, String, String, Option<String>, EpochMs)> = sqlx::query_as(
            "SELECT m.id, c.first_name, c.last_name, u.name, m.at FROM contact_merges m \
             JOIN contacts c ON c.id = m.merged_id LEFT JOIN users u ON u.id = m.user_id \
             WHERE m.kept_id = $1 AND m.undone_at IS NULL AND m.at > $2 ORDER BY m.id DESC",
        )
        .bind(contact_id)
        .bind(EpochMs(EpochMs::now().0 - UNDO_MS))
        .fetch_all(&state.db.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, first, last, who, at)| MergeView {
                id,
                merged_name: format!("{first} {last}").trim().to_string(),
                who,
                at,
            })
            .collect())
    }

    async fn values(tx: &mut Tx<'_>, contact_id: i64) -> Result<Vec<Stored>, AppError> {
        Ok(sqlx::query_as(
            "SELECT field_id, value, unique_value FROM contact_field_values WHERE contact_id = $1",
        )
        .bind(contact_id)
        .fetch_all(&mut **tx)
        .await?)
    }

    async fn put_values(
        tx: &mut Tx<'_>,
        org_id: i64,
        contact_id: i64,
        values: &[Stored],
    ) -> Result<(), AppError> {
        for stored in values {
            sqlx::query(
                "INSERT INTO contact_field_values (org_id, contact_id, field_id, value, \
                 unique_value) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (contact_id, field_id) \
                 DO UPDATE SET value = excluded.value, unique_value = excluded.unique_value",
            )
            .bind(org_id)
            .bind(contact_id)
            .bind(stored.field_id)
            .bind(&stored.value)
            .bind(&stored.unique_value)
            .execute(&mut **tx)
            .await
            .on_unique(Field::CustomValue)?;
        }
        Ok(())
    }

    /// Writes every field of `contact` (its id says which).
    async fn write_fields(tx: &mut Tx<'_>, contact: &ContactView) -> Result<(), AppError> {
        sqlx::query(
            "UPDATE contacts SET first_name = $1, last_name = $2, email = $3, company = $4, \
             primary_phone = $5, whatsapp_phone = $6, facebook_id = $7, instagram_username = $8, \
             owner_id = $9, updated_at = $10 WHERE id = $11",
        )
        .bind(&contact.first_name)
        .bind(&contact.last_name)
        .bind(&contact.email)
        .bind(&contact.company)
        .bind(&contact.primary_phone)
        .bind(&contact.whatsapp_phone)
        .bind(&contact.facebook_id)
        .bind(&contact.instagram_username)
        .bind(contact.owner_id)
        .bind(EpochMs::now())
        .bind(contact.id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Ids written into a statement: numbers read from the database, safe to inline.
    fn id_list(ids: &[i64]) -> String {
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    }

    async fn merged_into(state: &AppState, contact_id: i64) -> Result<Option<i64>, AppError> {
        let (into,): (Option<i64>,) =
            sqlx::query_as("SELECT merged_into_id FROM contacts WHERE id = $1")
                .bind(contact_id)
                .fetch_one(&state.db.pool)
                .await?;
        Ok(into)
    }

    pub async fn merge(
        kept_id: i64,
        merged_id: i64,
        taken: String,
    ) -> Result<ContactDetail, AppError> {
        let user = require(can_manage_contacts).await?;
        let state = AppState::current()?;
        let actor = user.actor();
        if kept_id == merged_id {
            return Err(AppError::invalid(Field::Contact, Problem::Malformed));
        }
        let kept = reached(&state, &actor, kept_id).await?;
        let merged = reached(&state, &actor, merged_id).await?;
        if merged_into(&state, kept_id).await?.is_some()
            || merged_into(&state, merged_id).await?.is_some()
        {
            return Err(AppError::NotFound);
        }
        let mut fields = Vec::new();
        let mut custom = Vec::new();
        for key in taken.split(',').map(str::trim).filter(|k| !k.is_empty()) {
            match key.strip_prefix("custom:") {
                Some(id) => custom.push(
                    id.parse::<i64>()
                        .map_err(|_| AppError::invalid(Field::CustomValue, Problem::Unknown))?,
                ),
                None => fields.push(
                    ContactField::from_key(key)
                        .ok_or(AppError::invalid(Field::Contact, Problem::Unknown))?,
                ),
            }
        }
        let after = combined(&kept, &merged, &fields);
        identified(&after).map_err(|field| AppError::invalid(field, Problem::Required))?;
        let org_id = user.org_id;
        let mut tx = state.db.begin().await?;
        let kept_values = values(&mut tx, kept_id).await?;
        let merged_values = values(&mut tx, merged_id).await?;
        // The merged contact's values go (an ID is unique), those chosen onto the kept one.
        sqlx::query("DELETE FROM contact_field_values WHERE contact_id = $1")
            .bind(merged_id)
            .execute(&mut *tx)
            .await?;
        let chosen: Vec<Stored> = merged_values
            .iter()
            .filter(|v| custom.contains(&v.field_id))
            .cloned()
            .collect();
        put_values(&mut tx, org_id, kept_id, &chosen).await?;
        write_fields(&mut tx, &after).await?;
        // Secondary phones move unless the kept contact already holds the number; the numbers
        // it no longer holds become secondary phones.
        let holds: Vec<String> = [&after.primary_phone, &after.whatsapp_phone]
            .into_iter()
            .flatten()
            .chain(after.phones.iter())
            .cloned()
            .collect();
        let theirs: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, phone FROM contact_phones WHERE contact_id = $1")
                .bind(merged_id)
                .fetch_all(&mut *tx)
                .await?;
        let phones_moved: Vec<i64> = theirs
            .iter()
            .filter(|(_, phone)| !holds.contains(phone))
            .map(|(id, _)| *id)
            .collect();
        if !phones_moved.is_empty() {
            sqlx::query(&format!(
                "UPDATE contact_phones SET contact_id = $1 WHERE id IN ({})",
                id_list(&phones_moved)
            ))
            .bind(kept_id)
            .execute(&mut *tx)
            .await?;
        }
        let moved_numbers: Vec<&String> = theirs
            .iter()
            .filter(|(id, _)| phones_moved.contains(id))
            .map(|(_, phone)| phone)
            .collect();
        let mut phones_added = Vec::new();
        for number in numbers_left(&after, &[&kept, &merged]) {
            if moved_numbers.contains(&&number) {
                continue;
            }
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO contact_phones (org_id, contact_id, phone, label, created_at) \
                 VALUES ($1, $2, $3, NULL, $4) RETURNING id",
            )
            .bind(org_id)
            .bind(kept_id)
            .bind(&number)
            .bind(EpochMs::now())
            .fetch_one(&mut *tx)
            .await?;
            phones_added.push(id);
        }
        let mut moved = Vec::new();
        for table in RECORDS {
            let ids: Vec<(i64,)> = sqlx::query_as(&format!(
                "SELECT id FROM {table} WHERE contact_id = $1 AND org_id = $2"
            ))
            .bind(merged_id)
            .bind(org_id)
            .fetch_all(&mut *tx)
            .await?;
            let ids: Vec<i64> = ids.into_iter().map(|(id,)| id).collect();
            if !ids.is_empty() {
                sqlx::query(&format!(
                    "UPDATE {table} SET contact_id = $1 WHERE id IN ({})",
                    id_list(&ids)
                ))
                .bind(kept_id)
                .execute(&mut *tx)
                .await?;
                moved.push((table.to_string(), ids));
            }
        }
        sqlx::query("UPDATE contacts SET merged_into_id = $1, updated_at = $2 WHERE id = $3")
            .bind(kept_id)
            .bind(EpochMs::now())
            .bind(merged_id)
            .execute(&mut *tx)
            .await?;
        let snapshot = Snapshot {
            kept: kept.clone(),
            kept_values,
            merged_values,
            phones_moved,
            phones_added,
            moved,
        };
        let snapshot = serde_json::to_string(&snapshot).map_err(|_| AppError::Internal)?;
        sqlx::query(
            "INSERT INTO contact_merges (org_id, kept_id, merged_id, user_id, snapshot, at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(org_id)
        .bind(kept_id)
        .bind(merged_id)
        .bind(user.id)
        .bind(snapshot)
        .bind(EpochMs::now())
        .execute(&mut *tx)
        .await?;
        let (kept_name, merged_name) = (kept.name(), merged.name());
        let change = (None, Some(merged_name.as_str()), None);
        record(&mut tx, org_id, kept_id, Some(user.id), "merged", change).await?;
        let change = (None, None, Some(kept_name.as_str()));
        record(
            &mut tx,
            org_id,
            merged_id,
            Some(user.id),
            "merged_into",
            change,
        )
        .await?;
        refresh(&mut tx, org_id, kept_id).await?;
        refresh(&mut tx, org_id, merged_id).await?;
        tx.commit().await?;
        state.hub.contact_changed(org_id, kept_id);
        state.hub.contact_changed(org_id, merged_id);
        detail_for(&state, &user, kept_id).await
    }

    pub async fn undo(merge_id: i64) -> Result<ContactDetail, AppError> {
        let user = require(can_manage_contacts).await?;
        let state = AppState::current()?;
        let org_id = user.org_id;
        let found: Option<(i64, i64, String, EpochMs, Option<EpochMs>)> = sqlx::query_as(
            "SELECT kept_id, merged_id, snapshot, at, undone_at FROM contact_merges \
             WHERE id = $1 AND org_id = $2",
        )
        .bind(merge_id)
        .bind(org_id)
        .fetch_optional(&state.db.pool)
        .await?;
        let (kept_id, merged_id, snapshot, at, undone) = found.ok_or(AppError::NotFound)?;
        reached(&state, &user.actor(), kept_id).await?;
        let late = EpochMs::now().0 - at.0 > UNDO_MS;
        if undone.is_some() || late || merged_into(&state, merged_id).await? != Some(kept_id) {
            return Err(AppError::invalid(Field::Contact, Problem::Expired));
        }
        let snapshot: Snapshot = serde_json::from_str(&snapshot).map_err(|_| AppError::Internal)?;
        let mut tx = state.db.begin().await?;
        // The kept contact's fields and values as they were, the merged one's values back.
        write_fields(&mut tx, &snapshot.kept).await?;
        sqlx::query("DELETE FROM contact_field_values WHERE contact_id = $1")
            .bind(kept_id)
            .execute(&mut *tx)
            .await?;
        put_values(&mut tx, org_id, kept_id, &snapshot.kept_values).await?;
        put_values(&mut tx, org_id, merged_id, &snapshot.merged_values).await?;
        if !snapshot.phones_added.is_empty() {
            sqlx::query(&format!(
                "DELETE FROM contact_phones WHERE contact_id = $1 AND id IN ({})",
                id_list(&snapshot.phones_added)
            ))
            .bind(kept_id)
            .execute(&mut *tx)
            .await?;
        }
        if !snapshot.phones_moved.is_empty() {
            sqlx::query(&format!(
                "UPDATE contact_phones SET contact_id = $1 WHERE contact_id = $2 AND id IN ({})",
                id_list(&snapshot.phones_moved)
            ))
            .bind(merged_id)
            .bind(kept_id)
            .execute(&mut *tx)
            .await?;
        }
        for (table, ids) in &snapshot.moved {
            // Only the tables a merge moves, whatever the snapshot says.
            let Some(table) = RECORDS.iter().find(|t| *t == table) else {
                continue;
            };
            sqlx::query(&format!(
                "UPDATE {table} SET contact_id = $1 WHERE contact_id = $2 AND id IN ({})",
                id_list(ids)
            ))
            .bind(merged_id)
            .bind(kept_id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE contacts SET merged_into_id = NULL, updated_at = $1 WHERE id = $2")
            .bind(EpochMs::now())
            .bind(merged_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE contact_merges SET undone_at = $1 WHERE id = $2")
            .bind(EpochMs::now())
            .bind(merge_id)
            .execute(&mut *tx)
            .await?;
        let merged = by_id(&state, org_id, merged_id).await?;
        let name = merged.map(|m| m.name()).unwrap_or_default();
        let change = (None, Some(name.as_str()), None);
        record(
            &mut tx,
            org_id,
            kept_id,
            Some(user.id),
            "merge_undone",
            change,
        )
        .await?;
        let change = (None, Some(snapshot.kept.name()), None);
        let change = (change.0, change.1.as_deref(), change.2);
        record(
            &mut tx,
            org_id,
            merged_id,
            Some(user.id),
            "merge_undone",
            change,
        )
        .await?;
        refresh(&mut tx, org_id, kept_id).await?;
        refresh(&mut tx, org_id, merged_id).await?;
        tx.commit().await?;
        state.hub.contact_changed(org_id, kept_id);
        state.hub.contact_changed(org_id, merged_id);
        detail_for(&state, &user, kept_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(id: i64, first: &str, phone: Option<&str>, email: Option<&str>) -> ContactView {
        ContactView {
            id,
            first_name: first.into(),
            last_name: String::new(),
            email: email.map(str::to_string),
            company: None,
            primary_phone: phone.map(str::to_string),
            whatsapp_phone: phone.map(str::to_string),
            phones: Vec::new(),
            facebook_id: None,
            instagram_username: None,
            owner_id: Some(1),
            owner_name: Some("Ana".into()),
        }
    }

    #[test]
    fn the_kept_contact_takes_only_what_it_lacks_by_default() {
        let kept = contact(1, "Jorge", Some("+525511112222"), None);
        let other = ContactView {
            company: Some("Ramírez Hnos".into()),
            ..contact(
                2,
                "Jorge Luis",
                Some("+525533334444"),
                Some("jorge@example.com"),
            )
        };
        assert_eq!(
            taken_by_default(&kept, &other),
            [ContactField::Email, ContactField::Company]
        );
        let after = combined(&kept, &other, &taken_by_default(&kept, &other));
        assert_eq!(after.first_name, "Jorge");
        assert_eq!(after.email.as_deref(), Some("jorge@example.com"));
        assert_eq!(after.primary_phone.as_deref(), Some("+525511112222"));
        // The other's number is not lost: it becomes a secondary phone.
        assert_eq!(numbers_left(&after, &[&kept, &other]), ["+525533334444"]);
        // Choosing the other's WhatsApp phone keeps the kept one's as a secondary phone.
        let after = combined(&kept, &other, &[ContactField::WhatsappPhone]);
        assert_eq!(after.whatsapp_phone.as_deref(), Some("+525533334444"));
        assert_eq!(numbers_left(&after, &[&kept, &other]), Vec::<String>::new());
    }

    #[test]
    fn custom_values_are_taken_where_the_kept_contact_has_none() {
        use crate::contacts::custom::{CustomField, FieldKind};
        let field = |id: i64| CustomField {
            id,
            name: format!("Campo {id}"),
            key: format!("campo_{id}"),
            kind: FieldKind::Text,
            options: Vec::new(),
        };
        let value = |id: i64, v: Option<&str>| CustomValue {
            field: field(id),
            value: v.map(str::to_string),
        };
        let kept = [value(1, Some("a")), value(2, None), value(3, None)];
        let other = [value(1, Some("b")), value(2, Some("c")), value(3, None)];
        assert_eq!(custom_taken_by_default(&kept, &other), [2]);
    }
}
