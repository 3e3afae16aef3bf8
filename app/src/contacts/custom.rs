//! Custom fields: what an organization keeps about its contacts beyond the built-in fields,
//! defined by administrators in Settings (text, number, date, one choice, several choices, or
//! an ID no two contacts share), edited on the contact's page like any other field, and
//! written into messages by Personalize as `{key}`.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ContactDetail;
use crate::error::{AppError, Problem};

/// What a custom field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FieldKind {
    Text,
    Number,
    /// A day, `YYYY-MM-DD`.
    Date,
    /// One of its choices.
    Choice,
    /// Any of its choices.
    Choices,
    /// A text no other contact of the organization has (a customer number, a tax id).
    Id,
}

impl FieldKind {
    pub const ALL: [FieldKind; 6] = [
        FieldKind::Text,
        FieldKind::Number,
        FieldKind::Date,
        FieldKind::Choice,
        FieldKind::Choices,
        FieldKind::Id,
    ];

    pub fn key(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::Choice => "choice",
            FieldKind::Choices => "choices",
            FieldKind::Id => "id",
        }
    }

    pub fn from_key(key: &str) -> Option<FieldKind> {
        FieldKind::ALL.into_iter().find(|k| k.key() == key)
    }

    /// Whether its values are chosen from a list.
    pub fn has_options(self) -> bool {
        matches!(self, FieldKind::Choice | FieldKind::Choices)
    }
}

/// A custom field as administrators defined it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomField {
    pub id: i64,
    pub name: String,
    /// How Personalize names it: `{key}`.
    pub key: String,
    pub kind: FieldKind,
    /// A choice field's choices, in their order.
    pub options: Vec<String>,
}

/// A contact's value of a custom field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomValue {
    pub field: CustomField,
    /// As stored: several choices one per line.
    pub value: Option<String>,
}

impl CustomValue {
    /// How it reads: several choices separated by commas.
    pub fn shown(&self) -> Option<String> {
        self.value.as_ref().map(|v| shown(self.field.kind, v))
    }
}

/// A stored value as it reads.
pub fn shown(kind: FieldKind, value: &str) -> String {
    match kind {
        FieldKind::Choices => value.lines().collect::<Vec<_>>().join(", "),
        _ => value.to_string(),
    }
}

/// The contact's built-in fields Personalize writes into a message (`{first_name}`); a custom
/// field may not take their names.
pub const BUILT_IN: &[&str] = &[
    "first_name",
    "last_name",
    "full_name",
    "phone",
    "email",
    "company",
];

/// Custom fields an organization may define.
pub const FIELDS_MAX: usize = 50;
/// Choices a field may offer.
pub const OPTIONS_MAX: usize = 50;
pub const NAME_MAX: usize = 60;
pub const OPTION_MAX: usize = 100;
/// Characters of a text value (an ID's: [`ID_MAX`]).
pub const VALUE_MAX: usize = 1000;
pub const ID_MAX: usize = 100;

/// The name Personalize gives a field called `name`: lower case letters without accents,
/// digits and underscores (`Número de cliente` → `numero_de_cliente`).
pub fn key_of(name: &str) -> String {
    let folded = crate::search::search_folded(name.trim());
    let mut key = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c);
        } else if !key.is_empty() && !key.ends_with('_') {
            key.push('_');
        }
    }
    key.trim_end_matches('_').to_string()
}

/// A field's choices as typed, one per line: trimmed, without blanks or repeats.
pub fn options_of(text: &str) -> Result<Vec<String>, Problem> {
    let mut options: Vec<String> = Vec::new();
    for option in text.lines().map(str::trim).filter(|o| !o.is_empty()) {
        if option.chars().count() > OPTION_MAX {
            return Err(Problem::TooLong { max: OPTION_MAX });
        }
        if !options.iter().any(|o| o == option) {
            options.push(option.to_string());
        }
    }
    if options.len() > OPTIONS_MAX {
        return Err(Problem::TooMany { max: OPTIONS_MAX });
    }
    Ok(options)
}

/// A value typed for `field`, as it is stored; `None` when it is empty. Numbers may be written
/// with a decimal comma or point and thousands separators (`1.234,50`), and are kept with a
/// point and no separators (`1234.50`); several choices are sent one per line and kept in the
/// field's order.
pub fn parse_value(field: &CustomField, text: &str) -> Result<Option<String>, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let value = match field.kind {
        FieldKind::Text => {
            if text.chars().count() > VALUE_MAX {
                return Err(Problem::TooLong { max: VALUE_MAX });
            }
            text.to_string()
        }
        FieldKind::Id => {
            if text.chars().count() > ID_MAX {
                return Err(Problem::TooLong { max: ID_MAX });
            }
            if text.contains(['\n', '\r']) {
                return Err(Problem::Malformed);
            }
            text.to_string()
        }
        FieldKind::Number => number(text).ok_or(Problem::Malformed)?,
        FieldKind::Date => date(text).ok_or(Problem::Malformed)?,
        FieldKind::Choice => field
            .options
            .iter()
            .find(|o| o.as_str() == text)
            .cloned()
            .ok_or(Problem::Unknown)?,
        FieldKind::Choices => {
            let picked: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            if picked.iter().any(|p| !field.options.iter().any(|o| o == p)) {
                return Err(Problem::Unknown);
            }
            let kept: Vec<&str> = field
                .options
                .iter()
                .map(String::as_str)
                .filter(|o| picked.contains(o))
                .collect();
            if kept.is_empty() {
                return Ok(None);
            }
            kept.join("\n")
        }
    };
    Ok(Some(value))
}

/// A number as typed (`-1.234,5`, `1,234.5`, `12`), with a point for decimals and no
/// separators; `None` when it is not one. A separator written once is the decimal one (`12,5`,
/// `1.000` is one); written several times, or before the other, it separates thousands, in
/// groups of three.
fn number(text: &str) -> Option<String> {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let count = |c: char| digits.matches(c).count();
    let (decimal, thousands) = match (count(','), count('.')) {
        (0, 0) => (None, None),
        (1, 0) => (Some(','), None),
        (0, 1) => (Some('.'), None),
        (_, 0) => (None, Some(',')),
        (0, _) => (None, Some('.')),
        // Both: the last one written is the decimal separator, and appears once.
        _ => {
            let last = digits[digits.rfind([',', '.'])?..].chars().next()?;
            let other = if last == ',' { '.' } else { ',' };
            (Some(last), Some(other))
        }
    };
    let (whole, fraction) = match decimal {
        Some(separator) => {
            let (whole, fraction) = digits.rsplit_once(separator)?;
            (whole, Some(fraction))
        }
        None => (digits, None),
    };
    let all_digits = |part: &str| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
    let whole = match thousands {
        Some(separator) => {
            let mut groups = whole.split(separator);
            let first = groups.next()?;
            let grouped = all_digits(first)
                && first.len() <= 3
                && groups.all(|g| g.len() == 3 && all_digits(g));
            if !grouped {
                return None;
            }
            whole.replace(separator, "")
        }
        None => whole.to_string(),
    };
    if !all_digits(&whole) || fraction.is_some_and(|f| !all_digits(f)) || whole.len() > 18 {
        return None;
    }
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&whole);
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    Some(out)
}

/// A day written `YYYY-MM-DD` (what a date input sends) that exists.
fn date(text: &str) -> Option<String> {
    let mut parts = text.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let (year, month, day): (u32, u32, u32) =
        (year.parse().ok()?, month.parse().ok()?, day.parse().ok()?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (year >= 1000 && (1..=days).contains(&day)).then(|| text.to_string())
}

/// The organization's custom fields, in the order they were made.
#[server(prefix = "/api", endpoint = "contact_fields", output = crate::codec::Json)]
pub async fn load_contact_fields() -> Result<Vec<CustomField>, AppError> {
    ssr::fields().await.map_err(AppError::respond)
}

/// Creates a custom field (`field_id` none) or renames one and changes its choices (its kind
/// stays what it was made). `kind`: a [`FieldKind`] key; `options`: one choice per line.
#[server(prefix = "/api", endpoint = "save_contact_field", output = crate::codec::Json)]
pub async fn save_contact_field(
    field_id: Option<i64>,
    name: String,
    kind: String,
    #[server(default)] options: String,
) -> Result<CustomField, AppError> {
    ssr::save(field_id, name, kind, options)
        .await
        .map_err(AppError::respond)
}

/// Deletes a custom field and every contact's value of it.
#[server(prefix = "/api", endpoint = "delete_contact_field", output = crate::codec::Json)]
pub async fn delete_contact_field(field_id: i64) -> Result<(), AppError> {
    ssr::delete(field_id).await.map_err(AppError::respond)
}

/// Sets a contact's value of a custom field (empty clears it). Returns the contact's page.
#[server(prefix = "/api", endpoint = "set_contact_value", output = crate::codec::Json)]
pub async fn set_contact_value(
    contact_id: i64,
    field_id: i64,
    value: String,
) -> Result<ContactDetail, AppError> {
    ssr::set_value(contact_id, field_id, value)
        .await
        .map_err(AppError::respond)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::collections::HashMap;

    use super::{key_of, options_of, parse_value, CustomField, CustomValue, FieldKind};
    use crate::auth::ssr::require;
    use crate::contacts::store::ssr::{detail_for, editable, record};
    use crate::contacts::ContactDetail;
    use crate::epoch::EpochMs;
    use crate::error::{AppError, Field, Problem, ResultExt};
    use crate::permissions::{can_manage_settings, can_use_contacts, Actor};
    use crate::state::AppState;
    use crate::validate;

    #[derive(sqlx::FromRow)]
    struct Stored {
        id: i64,
        name: String,
        key: String,
        kind: String,
        options: String,
    }

    impl Stored {
        fn field(self) -> CustomField {
            CustomField {
                id: self.id,
                name: self.name,
                key: self.key,
                kind: FieldKind::from_key(&self.kind).unwrap_or(FieldKind::Text),
                options: self.options.lines().map(str::to_string).collect(),
            }
        }
    }

    /// The custom fields of `org_id`.
    pub async fn of_org(state: &AppState, org_id: i64) -> Result<Vec<CustomField>, AppError> {
        of_db(&state.db, org_id).await
    }

    /// The same, for the workers and the command line.
    pub async fn of_db(db: &crate::db::Db, org_id: i64) -> Result<Vec<CustomField>, AppError> {
        let rows: Vec<Stored> = sqlx::query_as(
            "SELECT id, name, key, kind, options FROM contact_fields WHERE org_id = $1 ORDER BY id",
        )
        .bind(org_id)
        .fetch_all(&db.pool)
        .await?;
        Ok(rows.into_iter().map(Stored::field).collect())
    }

    fn may_read(actor: &Actor) -> bool {
        can_use_contacts(actor) || can_manage_settings(actor)
    }

    pub async fn fields() -> Result<Vec<CustomField>, AppError> {
        let user = require(may_read).await?;
        let state = AppState::current()?;
        of_org(&state, user.org_id).await
    }

    pub async fn save(
        field_id: Option<i64>,
        name: String,
        kind: String,
        options: String,
    ) -> Result<CustomField, AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let name = validate::text(Field::FieldName, &name, super::NAME_MAX)?;
        let key = key_of(&name);
        if key.is_empty() {
            return Err(AppError::invalid(Field::FieldName, Problem::Malformed));
        }
        let options =
            options_of(&options).map_err(|problem| AppError::invalid(Field::Options, problem))?;
        let fields = of_org(&state, user.org_id).await?;
        let kind = match field_id {
            Some(id) => {
                fields
                    .iter()
                    .find(|f| f.id == id)
                    .ok_or(AppError::NotFound)?
                    .kind
            }
            None => FieldKind::from_key(&kind)
                .ok_or(AppError::invalid(Field::FieldType, Problem::Unknown))?,
        };
        if kind.has_options() && options.is_empty() {
            return Err(AppError::invalid(Field::Options, Problem::Required));
        }
        // Personalize's built-in names, and the other fields', are taken.
        let taken = super::BUILT_IN.contains(&key.as_str())
            || fields
                .iter()
                .any(|f| Some(f.id) != field_id && (f.key == key || f.name == name));
        if taken {
            return Err(AppError::invalid(Field::FieldName, Problem::Taken));
        }
        let options = match kind.has_options() {
            true => options,
            false => Vec::new(),
        };
        let stored_options = options.join("\n");
        let id = match field_id {
            Some(id) => {
                sqlx::query(
                    "UPDATE contact_fields SET name = $1, key = $2, options = $3 \
                     WHERE id = $4 AND org_id = $5",
                )
                .bind(&name)
                .bind(&key)
                .bind(&stored_options)
                .bind(id)
                .bind(user.org_id)
                .execute(&state.db.pool)
                .await
                .on_unique(Field::FieldName)?;
                id
            }
            None => {
                if fields.len() >= super::FIELDS_MAX {
                    return Err(AppError::invalid(
                        Field::FieldName,
                        Problem::TooMany {
                            max: super::FIELDS_MAX,
                        },
                    ));
                }
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO contact_fields (org_id, name, key, kind, options, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(user.org_id)
                .bind(&name)
                .bind(&key)
                .bind(kind.key())
                .bind(&stored_options)
                .bind(EpochMs::now())
                .fetch_one(&state.db.pool)
                .await
                .on_unique(Field::FieldName)?;
                id
            }
        };
        Ok(CustomField {
            id,
            name,
            key,
            kind,
            options,
        })
    }

    pub async fn delete(field_id: i64) -> Result<(), AppError> {
        let user = require(can_manage_settings).await?;
        let state = AppState::current()?;
        let deleted = sqlx::query("DELETE FROM contact_fields WHERE id = $1 AND org_id = $2")
            .bind(field_id)
            .bind(user.org_id)
            .execute(&state.db.pool)
            .await?
            .rows_affected();
        match deleted {
            0 => Err(AppError::NotFound),
            _ => Ok(()),
        }
    }

    /// Every custom field of `org_id` with contact `contact_id`'s value of it.
    pub async fn values(
        state: &AppState,
        org_id: i64,
        contact_id: i64,
    ) -> Result<Vec<CustomValue>, AppError> {
        let fields = of_org(state, org_id).await?;
        let stored: Vec<(i64, String)> = sqlx::query_as(
            "SELECT field_id, value FROM contact_field_values WHERE contact_id = $1 AND org_id = $2",
        )
        .bind(contact_id)
        .bind(org_id)
        .fetch_all(&state.db.pool)
        .await?;
        let mut stored: HashMap<i64, String> = stored.into_iter().collect();
        Ok(fields
            .into_iter()
            .map(|field| CustomValue {
                value: stored.remove(&field.id),
                field,
            })
            .collect())
    }

    /// Contact `contact_id`'s custom values by Personalize's names, as they read.
    pub async fn by_key(
        state: &AppState,
        org_id: i64,
        contact_id: i64,
    ) -> Result<HashMap<String, String>, AppError> {
        Ok(values(state, org_id, contact_id)
            .await?
            .into_iter()
            .map(|v| {
                let shown = v.shown().unwrap_or_default();
                (v.field.key, shown)
            })
            .collect())
    }

    pub async fn set_value(
        contact_id: i64,
        field_id: i64,
        value: String,
    ) -> Result<ContactDetail, AppError> {
        let user = require(can_use_contacts).await?;
        let state = AppState::current()?;
        editable(&state, &user, contact_id).await?;
        let field = of_org(&state, user.org_id)
            .await?
            .into_iter()
            .find(|f| f.id == field_id)
            .ok_or(AppError::NotFound)?;
        let next = parse_value(&field, &value)
            .map_err(|problem| AppError::invalid(Field::CustomValue, problem))?;
        let mut tx = state.db.begin().await?;
        let before: Option<(String,)> = sqlx::query_as(
            "SELECT value FROM contact_field_values WHERE contact_id = $1 AND field_id = $2",
        )
        .bind(contact_id)
        .bind(field_id)
        .fetch_optional(&mut *tx)
        .await?;
        let before = before.map(|(v,)| v);
        if before == next {
            drop(tx);
            return detail_for(&state, &user, contact_id).await;
        }
        match &next {
            None => {
                sqlx::query(
                    "DELETE FROM contact_field_values WHERE contact_id = $1 AND field_id = $2",
                )
                .bind(contact_id)
                .bind(field_id)
                .execute(&mut *tx)
                .await?;
            }
            Some(value) => {
                let unique = (field.kind == FieldKind::Id).then_some(value);
                sqlx::query(
                    "INSERT INTO contact_field_values (org_id, contact_id, field_id, value, \
                     unique_value) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (contact_id, field_id) \
                     DO UPDATE SET value = excluded.value, unique_value = excluded.unique_value",
                )
                .bind(user.org_id)
                .bind(contact_id)
                .bind(field_id)
                .bind(value)
                .bind(unique)
                .execute(&mut *tx)
                .await
                .on_unique(Field::CustomValue)?;
            }
        }
        sqlx::query("UPDATE contacts SET updated_at = $1 WHERE id = $2")
            .bind(EpochMs::now())
            .bind(contact_id)
            .execute(&mut *tx)
            .await?;
        let read = |v: &Option<String>| v.as_deref().map(|v| super::shown(field.kind, v));
        record(
            &mut tx,
            user.org_id,
            contact_id,
            Some(user.id),
            "changed",
            (
                Some(field.name.as_str()),
                read(&before).as_deref(),
                read(&next).as_deref(),
            ),
        )
        .await?;
        tx.commit().await?;
        state.hub.contact_changed(user.org_id, contact_id);
        detail_for(&state, &user, contact_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(kind: FieldKind) -> CustomField {
        CustomField {
            id: 1,
            name: "Campo".into(),
            key: "campo".into(),
            kind,
            options: vec!["Oro".into(), "Plata".into(), "Bronce".into()],
        }
    }

    #[test]
    fn keys_are_names_without_accents_or_spaces() {
        assert_eq!(key_of("Número de cliente"), "numero_de_cliente");
        assert_eq!(key_of("  RFC / NIT "), "rfc_nit");
        assert_eq!(key_of("¿?"), "");
    }

    #[test]
    fn numbers_take_a_decimal_comma_or_point() {
        let number = field(FieldKind::Number);
        let read = |text: &str| parse_value(&number, text);
        assert_eq!(read("1.234,50"), Ok(Some("1234.50".into())));
        assert_eq!(read("1,234.50"), Ok(Some("1234.50".into())));
        assert_eq!(read("12,5"), Ok(Some("12.5".into())));
        assert_eq!(read("-7"), Ok(Some("-7".into())));
        assert_eq!(read("1.000.000"), Ok(Some("1000000".into())));
        assert_eq!(read("  "), Ok(None));
        assert_eq!(read("doce"), Err(Problem::Malformed));
        assert_eq!(read("1,2,3.4.5"), Err(Problem::Malformed));
        assert_eq!(read("1.23.456,5"), Err(Problem::Malformed));
        assert_eq!(read("1.234.567,25"), Ok(Some("1234567.25".into())));
        assert_eq!(read("5."), Err(Problem::Malformed));
    }

    #[test]
    fn dates_must_exist() {
        let date = field(FieldKind::Date);
        assert_eq!(
            parse_value(&date, "2024-02-29"),
            Ok(Some("2024-02-29".into()))
        );
        assert_eq!(parse_value(&date, "2023-02-29"), Err(Problem::Malformed));
        assert_eq!(parse_value(&date, "2023-13-01"), Err(Problem::Malformed));
        assert_eq!(parse_value(&date, "07/12/2026"), Err(Problem::Malformed));
    }

    #[test]
    fn choices_come_from_the_list_in_its_order() {
        let one = field(FieldKind::Choice);
        assert_eq!(parse_value(&one, "Plata"), Ok(Some("Plata".into())));
        assert_eq!(parse_value(&one, "Platino"), Err(Problem::Unknown));
        let several = field(FieldKind::Choices);
        assert_eq!(
            parse_value(&several, "Bronce\nOro\nBronce"),
            Ok(Some("Oro\nBronce".into()))
        );
        assert_eq!(parse_value(&several, "Oro\nCobre"), Err(Problem::Unknown));
        let value = CustomValue {
            field: several,
            value: Some("Oro\nBronce".into()),
        };
        assert_eq!(value.shown(), Some("Oro, Bronce".into()));
    }

    #[test]
    fn ids_are_one_line() {
        let id = field(FieldKind::Id);
        assert_eq!(parse_value(&id, " C-0042 "), Ok(Some("C-0042".into())));
        assert_eq!(parse_value(&id, "a\nb"), Err(Problem::Malformed));
        assert_eq!(
            parse_value(&id, &"9".repeat(ID_MAX + 1)),
            Err(Problem::TooLong { max: ID_MAX })
        );
    }

    #[test]
    fn options_are_trimmed_without_repeats() {
        assert_eq!(
            options_of(" Oro \n\nPlata\nOro"),
            Ok(vec!["Oro".to_string(), "Plata".to_string()])
        );
        let many: String = (0..=OPTIONS_MAX).map(|i| format!("{i}\n")).collect();
        assert_eq!(
            options_of(&many),
            Err(Problem::TooMany { max: OPTIONS_MAX })
        );
    }
}
