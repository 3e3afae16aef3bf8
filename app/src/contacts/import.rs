//! Contacts from a CSV file and to one. An import is uploaded whole (`POST
//! /api/contact_imports`), its columns mapped to fields (guessed from their headers), checked
//! (every row read, the ones that would be refused and those matching an existing contact
//! shown before anything is written), then run in the background by the server's import
//! worker a batch at a time: each batch commits with the import's progress, so stopping the
//! server loses nothing confirmed and a resumed import writes no row twice. The export writes
//! the current filter of the list with the same headers an import recognises.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::custom::CustomField;
use super::duplicates::Reason;
use crate::error::AppError;

/// The largest file an import takes.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;
/// The most rows an import takes.
pub const MAX_ROWS: usize = 200_000;
/// Rows shown before the import starts.
pub const SAMPLE_ROWS: usize = 5;

/// What a column can hold, besides a custom field (`custom:ID`); `""` leaves it out.
pub const TARGETS: [&str; 11] = [
    "first_name",
    "last_name",
    "name",
    "email",
    "company",
    "phone",
    "whatsapp_phone",
    "other_phone",
    "facebook_id",
    "instagram_username",
    "owner",
];

/// The field a column with this header most likely holds (`""` when none): the field's own
/// key, its name in Spanish or English, or a custom field's name or key.
pub fn guess(header: &str, custom: &[CustomField]) -> String {
    let folded = crate::search::search_folded(header.trim());
    let folded = folded.trim_matches(|c: char| !c.is_alphanumeric());
    let words: String = folded
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let known = match words.as_str() {
        "first name" | "first_name" | "nombre" | "nombres" | "given name" => "first_name",
        "last name" | "last_name" | "apellido" | "apellidos" | "surname" | "family name" => {
            "last_name"
        }
        "name" | "full name" | "nombre completo" | "contacto" | "contact" | "cliente" => "name",
        "email" | "e mail" | "correo" | "correo electronico" | "mail" => "email",
        "company" | "empresa" | "compania" | "organizacion" | "organization" | "negocio" => {
            "company"
        }
        "phone" | "primary phone" | "primary_phone" | "telefono" | "telefono principal"
        | "celular" | "movil" | "mobile" | "tel" => "phone",
        "whatsapp" | "whatsapp phone" | "whatsapp_phone" | "telefono whatsapp" => "whatsapp_phone",
        "other phone" | "other_phone" | "other phones" | "other_phones" | "otro telefono"
        | "otros telefonos" | "telefono 2" => "other_phone",
        "facebook" | "facebook id" | "facebook_id" | "id de facebook" => "facebook_id",
        "instagram" | "instagram username" | "instagram_username" | "usuario de instagram" => {
            "instagram_username"
        }
        "owner" | "dueno" | "responsable" | "vendedor" | "asesor" => "owner",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    custom
        .iter()
        .find(|f| {
            crate::search::search_folded(&f.name) == folded || f.key == words.replace(' ', "_")
        })
        .map(|f| format!("custom:{}", f.id))
        .unwrap_or_default()
}

/// What to do with a row that matches a contact already there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnDuplicate {
    /// Leave it out (the contact stays as it is).
    #[default]
    Skip,
    /// Make it anyway: the two show as possible duplicates, to merge.
    Create,
}

impl OnDuplicate {
    pub fn key(self) -> &'static str {
        match self {
            OnDuplicate::Skip => "skip",
            OnDuplicate::Create => "create",
        }
    }

    pub fn from_key(key: &str) -> OnDuplicate {
        match key {
            "create" => OnDuplicate::Create,
            _ => OnDuplicate::Skip,
        }
    }
}

/// An uploaded file before it is imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPreview {
    pub id: i64,
    pub file_name: String,
    /// The header of each column.
    pub columns: Vec<String>,
    /// The first rows.
    pub sample: Vec<Vec<String>>,
    /// Rows after the header.
    pub rows: i64,
    /// The field each column most likely holds.
    pub mapping: Vec<String>,
    /// The organization's custom fields, to map columns to.
    pub custom: Vec<CustomField>,
}

/// A row an import refuses, with why (row 1 is the first after the header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowProblem {
    pub row: i64,
    pub error: AppError,
    pub line: String,
}

/// A row that matches a contact already there, or an earlier row of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowMatch {
    pub row: i64,
    pub name: String,
    pub matches: Matched,
    /// The contact's or the earlier row's name.
    pub matched_name: String,
    pub reason: Reason,
}

/// What a row of an import matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Matched {
    Contact(i64),
    /// An earlier row of the same file (its number), which the import makes first.
    Row(i64),
}

/// What an import would do, read before it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCheck {
    pub rows: i64,
    /// Rows that would be refused, and the first of them.
    pub rejected: i64,
    pub rejects: Vec<RowProblem>,
    /// Rows matching a contact already there, and the first of them.
    pub duplicates: i64,
    pub matches: Vec<RowMatch>,
}

/// An import as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportView {
    pub id: i64,
    pub file_name: String,
    /// `draft`, `queued`, `running`, `done`.
    pub status: String,
    pub rows: i64,
    /// Rows gone through.
    pub done: i64,
    pub created: i64,
    pub skipped: i64,
    pub rejected: i64,
    /// The rows refused (the first 500), in order.
    pub rejects: Vec<RowProblem>,
}

/// Reads every row as `mapping` says (one field key per column, comma-separated) and says
/// what importing them would do, writing nothing.
#[server(prefix = "/api", endpoint = "check_import", output = crate::codec::Json)]
pub async fn check_import(import_id: i64, mapping: String) -> Result<ImportCheck, AppError> {
    ssr::check(import_id, mapping)
        .await
        .map_err(AppError::respond)
}

/// Starts the import in the background.
#[server(prefix = "/api", endpoint = "start_import", output = crate::codec::Json)]
pub async fn start_import(
    import_id: i64,
    mapping: String,
    on_duplicate: String,
) -> Result<ImportView, AppError> {
    ssr::start(import_id, mapping, on_duplicate)
        .await
        .map_err(AppError::respond)
}

/// An import as it stands, for its progress bar and report.
#[server(prefix = "/api", endpoint = "contact_import", output = crate::codec::Json)]
pub async fn load_import(import_id: i64) -> Result<ImportView, AppError> {
    ssr::view(import_id).await.map_err(AppError::respond)
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use std::collections::HashMap;

    use super::{
        guess, ImportCheck, ImportPreview, ImportView, Matched, OnDuplicate, RowMatch, RowProblem,
        MAX_BYTES, MAX_ROWS, SAMPLE_ROWS, TARGETS,
    };
    use crate::auth::ssr::require;
    use crate::auth::CurrentUser;
    use crate::contacts::custom::{parse_value, CustomField, FieldKind};
    use crate::contacts::duplicates::Reason;
    use crate::contacts::store::ssr::{
        after_import, facebook, instagram, optional, phone, whatsapp_taken,
    };
    use crate::contacts::{identified, ContactView};
    use crate::db::Db;
    use crate::epoch::EpochMs;
    use crate::error::{AppError, Field, Problem};
    use crate::orgs::Tx;
    use crate::permissions::can_manage_contacts;
    use crate::state::AppState;
    use crate::validate;

    /// Rows written per transaction.
    pub const BATCH: usize = 500;
    /// How long the worker running an import holds it without a sign of life.
    pub const LEASE_MS: i64 = 60_000;
    /// Rows a check or a view lists at most.
    const LISTED: usize = 20;
    const REJECTS_SHOWN: i64 = 500;

    /// A file's text: UTF-8 (with or without its byte-order mark), or else Windows-1252, as
    /// spreadsheets in Spanish often save CSV.
    pub fn text_of(bytes: &[u8]) -> String {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) => text.to_string(),
            Err(_) => bytes.iter().map(|&b| windows_1252(b)).collect(),
        }
    }

    fn windows_1252(byte: u8) -> char {
        const HIGH: [char; 32] = [
            '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
            '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ',
            '\u{9d}', 'ž', 'Ÿ',
        ];
        match byte {
            0x80..=0x9f => HIGH[(byte - 0x80) as usize],
            other => other as char,
        }
    }

    /// The separator of a CSV file: a comma, or the semicolon spreadsheets in Spanish write,
    /// or a tab; whichever the header line has most of.
    pub fn delimiter(text: &str) -> u8 {
        let header = text.lines().next().unwrap_or_default();
        [b',', b';', b'\t']
            .into_iter()
            .max_by_key(|d| header.bytes().filter(|b| b == d).count())
            .unwrap_or(b',')
    }

    fn reader(text: &str) -> csv::Reader<&[u8]> {
        csv::ReaderBuilder::new()
            .delimiter(delimiter(text))
            .flexible(true)
            .has_headers(true)
            .from_reader(text.as_bytes())
    }

    /// A row's cells as text (a row that is not valid text or CSV is empty).
    fn cells(record: &csv::StringRecord) -> Vec<String> {
        record.iter().map(|c| c.trim().to_string()).collect()
    }

    /// A contact read from a row, checked.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Row {
        pub first_name: String,
        pub last_name: String,
        pub email: Option<String>,
        pub company: Option<String>,
        pub phone: Option<String>,
        pub whatsapp: Option<String>,
        pub others: Vec<String>,
        pub facebook_id: Option<String>,
        pub instagram: Option<String>,
        pub owner: Option<i64>,
        pub custom: Vec<(CustomField, String)>,
    }

    impl Row {
        /// Every number of the row.
        pub fn numbers(&self) -> impl Iterator<Item = &String> {
            self.phone
                .iter()
                .chain(self.whatsapp.iter())
                .chain(self.others.iter())
        }

        pub fn name(&self) -> String {
            format!("{} {}", self.first_name, self.last_name)
                .trim()
                .to_string()
        }
    }

    /// What a row is read with: the mapping, the organization's country, custom fields and
    /// team (owners by email or name, lower case).
    pub struct Reading<'a> {
        pub mapping: &'a [String],
        pub country: Option<&'a str>,
        pub custom: &'a [CustomField],
        pub team: &'a HashMap<String, i64>,
    }

    /// A row as a contact, or why it cannot be one.
    pub fn read_row(cells: &[String], reading: &Reading<'_>) -> Result<Row, AppError> {
        let mut row = Row {
            first_name: String::new(),
            last_name: String::new(),
            email: None,
            company: None,
            phone: None,
            whatsapp: None,
            others: Vec::new(),
            facebook_id: None,
            instagram: None,
            owner: None,
            custom: Vec::new(),
        };
        for (target, cell) in reading.mapping.iter().zip(cells) {
            let cell = cell.trim();
            if cell.is_empty() || target.is_empty() {
                continue;
            }
            match target.as_str() {
                "first_name" => row.first_name = validate::name(Field::FirstName, cell)?,
                "last_name" => {
                    row.last_name =
                        optional(cell, Field::LastName, validate::NAME_MAX)?.unwrap_or_default()
                }
                "name" => {
                    let (first, last) = cell.split_once(' ').unwrap_or((cell, ""));
                    row.first_name = validate::name(Field::FirstName, first)?;
                    row.last_name =
                        optional(last, Field::LastName, validate::NAME_MAX)?.unwrap_or_default();
                }
                "email" => row.email = Some(validate::email(cell)?),
                "company" => row.company = optional(cell, Field::Company, 200)?,
                "phone" => row.phone = phone(cell, Field::Phone, reading.country)?,
                "whatsapp_phone" => {
                    row.whatsapp = phone(cell, Field::WhatsappPhone, reading.country)?
                }
                "other_phone" => {
                    // Several numbers may share a cell: "55 1111 2222; 55 3333 4444".
                    for number in cell.split([';', '/', '|']) {
                        if let Some(number) = phone(number, Field::Phone, reading.country)? {
                            if !row.others.contains(&number) {
                                row.others.push(number);
                            }
                        }
                    }
                }
                "facebook_id" => row.facebook_id = facebook(cell)?,
                "instagram_username" => row.instagram = instagram(cell)?,
                "owner" => {
                    let owner = reading.team.get(&cell.to_lowercase()).copied();
                    row.owner =
                        Some(owner.ok_or(AppError::invalid(Field::Owner, Problem::Unknown))?);
                }
                custom => {
                    let id: Option<i64> =
                        custom.strip_prefix("custom:").and_then(|i| i.parse().ok());
                    let Some(field) = reading.custom.iter().find(|f| Some(f.id) == id) else {
                        continue;
                    };
                    // Several choices may be written with commas or semicolons in one cell.
                    let typed = match field.kind {
                        FieldKind::Choices => cell
                            .split([',', ';'])
                            .map(str::trim)
                            .collect::<Vec<_>>()
                            .join("\n"),
                        _ => cell.to_string(),
                    };
                    let value = parse_value(field, &typed)
                        .map_err(|problem| AppError::invalid(Field::CustomValue, problem))?;
                    if let Some(value) = value {
                        row.custom.push((field.clone(), value));
                    }
                }
            }
        }
        // The primary phone is the first number the row has.
        if row.phone.is_none() {
            row.phone = row
                .whatsapp
                .clone()
                .or_else(|| (!row.others.is_empty()).then(|| row.others.remove(0)));
        }
        let primary = row.phone.clone();
        row.others
            .retain(|n| Some(n) != primary.as_ref() && Some(n) != row.whatsapp.as_ref());
        let view = ContactView {
            id: 0,
            first_name: row.first_name.clone(),
            last_name: row.last_name.clone(),
            email: row.email.clone(),
            company: row.company.clone(),
            primary_phone: row.phone.clone(),
            whatsapp_phone: row.whatsapp.clone(),
            phones: Vec::new(),
            facebook_id: row.facebook_id.clone(),
            instagram_username: row.instagram.clone(),
            owner_id: None,
            owner_name: None,
        };
        identified(&view).map_err(|field| AppError::invalid(field, Problem::Required))?;
        Ok(row)
    }

    /// Contacts already there with any of these numbers or emails: each number and email with
    /// the contact (id, name) that has it. Read a few hundred at a time.
    async fn known(
        db: &Db,
        org_id: i64,
        numbers: &[String],
        emails: &[String],
    ) -> Result<
        (
            HashMap<String, (i64, String)>,
            HashMap<String, (i64, String)>,
        ),
        AppError,
    > {
        let mut by_number = HashMap::new();
        let mut by_email = HashMap::new();
        let quoted = |values: &[String]| {
            values
                .iter()
                .map(|v| format!("'{}'", v.replace('\'', "''")))
                .collect::<Vec<_>>()
                .join(",")
        };
        for chunk in numbers.chunks(400) {
            // Numbers are E.164 (`+` and digits), quoted besides: safe to write in.
            let list = quoted(chunk);
            let rows: Vec<(String, i64, String, String)> = sqlx::query_as(&format!(
                "SELECT c.primary_phone, c.id, c.first_name, c.last_name FROM contacts c \
                 WHERE c.org_id = $1 AND c.merged_into_id IS NULL AND c.primary_phone IN ({list}) \
                 UNION ALL SELECT c.whatsapp_phone, c.id, c.first_name, c.last_name FROM contacts c \
                 WHERE c.org_id = $1 AND c.merged_into_id IS NULL AND c.whatsapp_phone IN ({list}) \
                 UNION ALL SELECT p.phone, c.id, c.first_name, c.last_name FROM contact_phones p \
                 JOIN contacts c ON c.id = p.contact_id WHERE p.org_id = $1 \
                 AND c.merged_into_id IS NULL AND p.phone IN ({list})"
            ))
            .bind(org_id)
            .fetch_all(&db.pool)
            .await?;
            for (number, id, first, last) in rows {
                by_number
                    .entry(number)
                    .or_insert((id, format!("{first} {last}").trim().to_string()));
            }
        }
        for chunk in emails.chunks(400) {
            let list = quoted(chunk);
            let rows: Vec<(String, i64, String, String)> = sqlx::query_as(&format!(
                "SELECT email, id, first_name, last_name FROM contacts WHERE org_id = $1 \
                 AND merged_into_id IS NULL AND email IN ({list})"
            ))
            .bind(org_id)
            .fetch_all(&db.pool)
            .await?;
            for (email, id, first, last) in rows {
                by_email
                    .entry(email)
                    .or_insert((id, format!("{first} {last}").trim().to_string()));
            }
        }
        Ok((by_number, by_email))
    }

    /// The contact already there (or made from an earlier row) that a row matches, and why.
    struct Matcher {
        by_number: HashMap<String, (Matched, String)>,
        by_email: HashMap<String, (Matched, String)>,
    }

    impl Matcher {
        async fn for_rows(db: &Db, org_id: i64, rows: &[&Row]) -> Result<Matcher, AppError> {
            let numbers: Vec<String> = rows.iter().flat_map(|r| r.numbers().cloned()).collect();
            let emails: Vec<String> = rows.iter().filter_map(|r| r.email.clone()).collect();
            let (by_number, by_email) = known(db, org_id, &numbers, &emails).await?;
            let contacts = |found: HashMap<String, (i64, String)>| {
                found
                    .into_iter()
                    .map(|(key, (id, name))| (key, (Matched::Contact(id), name)))
                    .collect()
            };
            Ok(Matcher {
                by_number: contacts(by_number),
                by_email: contacts(by_email),
            })
        }

        fn find(&self, row: &Row) -> Option<(Matched, String, Reason)> {
            if let Some((id, name)) = row.numbers().find_map(|n| self.by_number.get(n)) {
                return Some((*id, name.clone(), Reason::Phone));
            }
            let (id, name) = row.email.as_ref().and_then(|e| self.by_email.get(e))?;
            Some((*id, name.clone(), Reason::Email))
        }

        /// A row just made (or to be made): later rows with its numbers or email match it.
        fn add(&mut self, id: Matched, row: &Row) {
            for number in row.numbers() {
                self.by_number
                    .entry(number.clone())
                    .or_insert((id, row.name()));
            }
            if let Some(email) = &row.email {
                self.by_email
                    .entry(email.clone())
                    .or_insert((id, row.name()));
            }
        }
    }

    /// The organization's team by email and by name (lower case), to read owners.
    async fn team(db: &Db, org_id: i64) -> Result<HashMap<String, i64>, AppError> {
        let users: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT id, email, name FROM users WHERE org_id = $1 AND status = 'active'",
        )
        .bind(org_id)
        .fetch_all(&db.pool)
        .await?;
        let mut team = HashMap::new();
        for (id, email, name) in users {
            team.insert(email.to_lowercase(), id);
            team.entry(name.to_lowercase()).or_insert(id);
        }
        Ok(team)
    }

    async fn country(db: &Db, org_id: i64) -> Result<Option<String>, AppError> {
        let (country,): (Option<String>,) =
            sqlx::query_as("SELECT default_country FROM organizations WHERE id = $1")
                .bind(org_id)
                .fetch_one(&db.pool)
                .await?;
        Ok(country)
    }

    /// Stores an uploaded file as a new import of `org_id` by `user_id` (none from the
    /// command line), with the mapping its headers suggest.
    pub async fn create(
        db: &Db,
        org_id: i64,
        user_id: Option<i64>,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<ImportPreview, AppError> {
        if bytes.len() > MAX_BYTES {
            return Err(AppError::invalid(
                Field::Import,
                Problem::TooLong { max: MAX_BYTES },
            ));
        }
        // A picture or a spreadsheet's own format is not text: it has NUL bytes early on.
        if bytes.iter().take(8192).any(|b| *b == 0) {
            return Err(AppError::invalid(Field::Import, Problem::Malformed));
        }
        let text = text_of(bytes);
        let mut reader = reader(&text);
        let columns: Vec<String> = reader
            .headers()
            .map(cells)
            .map_err(|_| AppError::invalid(Field::Import, Problem::Malformed))?;
        if columns.iter().all(String::is_empty) {
            return Err(AppError::invalid(Field::Import, Problem::Required));
        }
        let mut sample = Vec::new();
        let mut rows = 0usize;
        for record in reader.records() {
            let record =
                record.map_err(|_| AppError::invalid(Field::Import, Problem::Malformed))?;
            if record.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            if sample.len() < SAMPLE_ROWS {
                sample.push(cells(&record));
            }
            rows += 1;
        }
        if rows > MAX_ROWS {
            return Err(AppError::invalid(
                Field::Import,
                Problem::TooMany { max: MAX_ROWS },
            ));
        }
        let custom = crate::contacts::custom::ssr::of_db(db, org_id).await?;
        let mapping: Vec<String> = columns.iter().map(|c| guess(c, &custom)).collect();
        let file_name: String = file_name.trim().chars().take(200).collect();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO contact_imports (org_id, user_id, file_name, content, mapping, \
             total_rows, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(org_id)
        .bind(user_id)
        .bind(&file_name)
        .bind(&text)
        .bind(serde_json::to_string(&mapping).unwrap_or_default())
        .bind(rows as i64)
        .bind(EpochMs::now())
        .fetch_one(&db.pool)
        .await?;
        Ok(ImportPreview {
            id,
            file_name,
            columns,
            sample,
            rows: rows as i64,
            mapping,
            custom,
        })
    }

    /// The mapping as sent (`first_name,,email,custom:3`), each key known.
    fn mapping_of(text: &str, custom: &[CustomField]) -> Result<Vec<String>, AppError> {
        text.split(',')
            .map(|key| {
                let key = key.trim();
                let known = key.is_empty()
                    || TARGETS.contains(&key)
                    || key
                        .strip_prefix("custom:")
                        .and_then(|id| id.parse::<i64>().ok())
                        .is_some_and(|id| custom.iter().any(|f| f.id == id));
                match known {
                    true => Ok(key.to_string()),
                    false => Err(AppError::invalid(Field::Import, Problem::Unknown)),
                }
            })
            .collect()
    }

    /// A name and a way to reach the contact must come from some column.
    fn mapping_complete(mapping: &[String]) -> Result<(), AppError> {
        let has = |key: &str| mapping.iter().any(|m| m == key);
        if !(has("first_name") || has("name")) {
            return Err(AppError::invalid(Field::FirstName, Problem::Required));
        }
        let reachable = [
            "email",
            "phone",
            "whatsapp_phone",
            "other_phone",
            "facebook_id",
            "instagram_username",
        ];
        if !reachable.iter().any(|k| has(k)) {
            return Err(AppError::invalid(Field::Contact, Problem::Required));
        }
        Ok(())
    }

    #[derive(sqlx::FromRow)]
    struct Stored {
        org_id: i64,
        user_id: Option<i64>,
        file_name: String,
        content: String,
        mapping: String,
        on_duplicate: String,
        status: String,
        total_rows: i64,
        next_row: i64,
        created_count: i64,
        skipped_count: i64,
        rejected_count: i64,
    }

    async fn stored(db: &Db, import_id: i64, org_id: Option<i64>) -> Result<Stored, AppError> {
        let found: Option<Stored> = sqlx::query_as(
            "SELECT org_id, user_id, file_name, content, mapping, on_duplicate, status, \
             total_rows, next_row, created_count, skipped_count, rejected_count \
             FROM contact_imports WHERE id = $1",
        )
        .bind(import_id)
        .fetch_optional(&db.pool)
        .await?;
        match found {
            Some(s) if org_id.is_none_or(|org| org == s.org_id) => Ok(s),
            _ => Err(AppError::NotFound),
        }
    }

    /// Every row of an import as a contact or as a refusal, in order, from row `from` (1 is
    /// the first after the header).
    fn rows_of<'a>(
        text: &'a str,
        reading: &'a Reading<'a>,
        from: i64,
    ) -> impl Iterator<Item = (i64, Result<Row, AppError>, String)> + 'a {
        let mut number = 0i64;
        reader(text).into_records().filter_map(move |record| {
            let record = record.ok()?;
            if record.iter().all(|c| c.trim().is_empty()) {
                return None;
            }
            number += 1;
            if number < from {
                return None;
            }
            let cells = cells(&record);
            let line = cells.join(", ");
            Some((number, read_row(&cells, reading), line))
        })
    }

    pub async fn check(import_id: i64, mapping: String) -> Result<ImportCheck, AppError> {
        let user = require(can_manage_contacts).await?;
        let state = AppState::current()?;
        let db = &state.db;
        let import = stored(db, import_id, Some(user.org_id)).await?;
        let custom = crate::contacts::custom::ssr::of_db(db, user.org_id).await?;
        let mapping = mapping_of(&mapping, &custom)?;
        mapping_complete(&mapping)?;
        let team = team(db, user.org_id).await?;
        let country = country(db, user.org_id).await?;
        let reading = Reading {
            mapping: &mapping,
            country: country.as_deref(),
            custom: &custom,
            team: &team,
        };
        let rows: Vec<_> = rows_of(&import.content, &reading, 1).collect();
        let good: Vec<&Row> = rows
            .iter()
            .filter_map(|(_, r, _)| r.as_ref().ok())
            .collect();
        let mut matcher = Matcher::for_rows(db, user.org_id, &good).await?;
        let mut check = ImportCheck {
            rows: rows.len() as i64,
            rejected: 0,
            rejects: Vec::new(),
            duplicates: 0,
            matches: Vec::new(),
        };
        for (number, row, line) in rows {
            match row {
                Err(error) => {
                    check.rejected += 1;
                    if check.rejects.len() < LISTED {
                        check.rejects.push(RowProblem {
                            row: number,
                            error,
                            line,
                        });
                    }
                }
                Ok(row) => match matcher.find(&row) {
                    Some((matches, matched_name, reason)) => {
                        check.duplicates += 1;
                        if check.matches.len() < LISTED {
                            check.matches.push(RowMatch {
                                row: number,
                                name: row.name(),
                                matches,
                                matched_name,
                                reason,
                            });
                        }
                    }
                    // Later rows with its numbers match it too.
                    None => matcher.add(Matched::Row(number), &row),
                },
            }
        }
        Ok(check)
    }

    pub async fn start(
        import_id: i64,
        mapping: String,
        on_duplicate: String,
    ) -> Result<ImportView, AppError> {
        let user = require(can_manage_contacts).await?;
        let state = AppState::current()?;
        let db = &state.db;
        let import = stored(db, import_id, Some(user.org_id)).await?;
        if import.status != "draft" {
            return view_of(db, import_id, import).await;
        }
        let custom = crate::contacts::custom::ssr::of_db(db, user.org_id).await?;
        let mapping = mapping_of(&mapping, &custom)?;
        mapping_complete(&mapping)?;
        queue(
            db,
            import_id,
            &mapping,
            OnDuplicate::from_key(&on_duplicate),
        )
        .await?;
        view(import_id).await
    }

    /// Hands an import to the worker with its mapping.
    pub async fn queue(
        db: &Db,
        import_id: i64,
        mapping: &[String],
        on_duplicate: OnDuplicate,
    ) -> Result<(), AppError> {
        sqlx::query(
            "UPDATE contact_imports SET mapping = $1, on_duplicate = $2, status = 'queued' \
             WHERE id = $3 AND status = 'draft'",
        )
        .bind(serde_json::to_string(mapping).unwrap_or_default())
        .bind(on_duplicate.key())
        .bind(import_id)
        .execute(&db.pool)
        .await?;
        Ok(())
    }

    pub async fn view(import_id: i64) -> Result<ImportView, AppError> {
        let user: CurrentUser = require(can_manage_contacts).await?;
        let state = AppState::current()?;
        let import = stored(&state.db, import_id, Some(user.org_id)).await?;
        view_of(&state.db, import_id, import).await
    }

    async fn view_of(db: &Db, import_id: i64, import: Stored) -> Result<ImportView, AppError> {
        let rejects: Vec<(i64, String, String)> = sqlx::query_as(&format!(
            "SELECT row_number, reason, line FROM contact_import_rejects WHERE import_id = $1 \
             ORDER BY row_number LIMIT {REJECTS_SHOWN}"
        ))
        .bind(import_id)
        .fetch_all(&db.pool)
        .await?;
        Ok(ImportView {
            id: import_id,
            file_name: import.file_name,
            status: import.status,
            rows: import.total_rows,
            done: import.next_row,
            created: import.created_count,
            skipped: import.skipped_count,
            rejected: import.rejected_count,
            rejects: rejects
                .into_iter()
                .map(|(row, reason, line)| RowProblem {
                    row,
                    error: serde_json::from_str(&reason).unwrap_or(AppError::Internal),
                    line,
                })
                .collect(),
        })
    }

    /// The next import waiting for a worker, claimed for [`LEASE_MS`]: a queued one, or one
    /// whose worker stopped (the server was stopped half-way).
    pub async fn claim(db: &Db) -> Result<Option<i64>, AppError> {
        let now = EpochMs::now();
        // Read first: a quiet server writes nothing.
        let waiting: Option<(i64,)> = sqlx::query_as(
            "SELECT id FROM contact_imports WHERE status IN ('queued', 'running') \
             AND (locked_until IS NULL OR locked_until < $1) ORDER BY id LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&db.pool)
        .await?;
        let Some((id,)) = waiting else {
            return Ok(None);
        };
        let claimed = sqlx::query(
            "UPDATE contact_imports SET status = 'running', locked_until = $1 \
             WHERE id = $2 AND status IN ('queued', 'running') \
             AND (locked_until IS NULL OR locked_until < $3)",
        )
        .bind(EpochMs(now.0 + LEASE_MS))
        .bind(id)
        .bind(now)
        .execute(&db.pool)
        .await?
        .rows_affected();
        Ok((claimed == 1).then_some(id))
    }

    /// Runs a claimed import from where it stands to its end, a batch per transaction; each
    /// commits with its progress (and only if nobody else moved it meanwhile), so an import
    /// stopped half-way goes on from its last batch and writes no row twice. `on_batch` hears
    /// the rows gone through after each batch.
    pub async fn run(db: &Db, import_id: i64, on_batch: impl Fn(i64, i64)) -> Result<(), AppError> {
        let import = stored(db, import_id, None).await?;
        if import.status == "done" {
            return Ok(());
        }
        let org_id = import.org_id;
        let mapping: Vec<String> = serde_json::from_str(&import.mapping).unwrap_or_default();
        let on_duplicate = OnDuplicate::from_key(&import.on_duplicate);
        let custom = crate::contacts::custom::ssr::of_db(db, org_id).await?;
        let team = team(db, org_id).await?;
        let country = country(db, org_id).await?;
        let reading = Reading {
            mapping: &mapping,
            country: country.as_deref(),
            custom: &custom,
            team: &team,
        };
        let mut done = import.next_row;
        let mut rows = rows_of(&import.content, &reading, done + 1).peekable();
        loop {
            let batch: Vec<_> = rows.by_ref().take(BATCH).collect();
            if batch.is_empty() {
                break;
            }
            let last = batch.last().map(|(n, _, _)| *n).unwrap_or(done);
            let good: Vec<&Row> = batch
                .iter()
                .filter_map(|(_, r, _)| r.as_ref().ok())
                .collect();
            let mut matcher = Matcher::for_rows(db, org_id, &good).await?;
            let mut tx = db.begin().await?;
            // This batch is this worker's only if nobody went past where it started.
            let ours = sqlx::query(
                "UPDATE contact_imports SET next_row = $1, locked_until = $2 \
                 WHERE id = $3 AND next_row = $4",
            )
            .bind(last)
            .bind(EpochMs(EpochMs::now().0 + LEASE_MS))
            .bind(import_id)
            .bind(done)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if ours == 0 {
                return Ok(());
            }
            let (mut created, mut skipped, mut rejected) = (0i64, 0i64, 0i64);
            for (number, row, line) in &batch {
                let outcome = match row {
                    Err(error) => Err(error.clone()),
                    Ok(row) => match (matcher.find(row), on_duplicate) {
                        (Some(_), OnDuplicate::Skip) => Ok(None),
                        _ => insert(&mut tx, org_id, import.user_id, row).await.map(Some),
                    },
                };
                match outcome {
                    Ok(Some(id)) => {
                        created += 1;
                        if let Ok(row) = row {
                            matcher.add(Matched::Contact(id), row);
                        }
                    }
                    Ok(None) => skipped += 1,
                    // A refusal is the row's; anything else stops the batch (tried again).
                    Err(error @ AppError::Invalid { .. }) => {
                        rejected += 1;
                        sqlx::query(
                            "INSERT INTO contact_import_rejects (org_id, import_id, row_number, \
                             reason, line) VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(org_id)
                        .bind(import_id)
                        .bind(number)
                        .bind(serde_json::to_string(&error).unwrap_or_default())
                        .bind(line)
                        .execute(&mut *tx)
                        .await?;
                    }
                    Err(other) => return Err(other),
                }
            }
            sqlx::query(
                "UPDATE contact_imports SET created_count = created_count + $1, \
                 skipped_count = skipped_count + $2, rejected_count = rejected_count + $3 \
                 WHERE id = $4",
            )
            .bind(created)
            .bind(skipped)
            .bind(rejected)
            .bind(import_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            done = last;
            on_batch(done, import.total_rows);
        }
        sqlx::query(
            "UPDATE contact_imports SET status = 'done', finished_at = $1, locked_until = NULL \
             WHERE id = $2 AND next_row = $3",
        )
        .bind(EpochMs::now())
        .bind(import_id)
        .bind(done)
        .execute(&db.pool)
        .await?;
        Ok(())
    }

    /// A row's contact, written: refused (before anything is written, as a transaction on
    /// PostgreSQL cannot go on past a failed statement) when its WhatsApp number or an ID
    /// belongs to another contact.
    async fn insert(
        tx: &mut Tx<'_>,
        org_id: i64,
        user_id: Option<i64>,
        row: &Row,
    ) -> Result<i64, AppError> {
        if let Some(number) = &row.whatsapp {
            if whatsapp_taken(tx, org_id, number, 0).await? {
                return Err(AppError::invalid(Field::WhatsappPhone, Problem::Taken));
            }
        }
        for (field, value) in row.custom.iter().filter(|(f, _)| f.kind == FieldKind::Id) {
            let taken: Option<(i64,)> = sqlx::query_as(
                "SELECT contact_id FROM contact_field_values WHERE field_id = $1 \
                 AND unique_value = $2",
            )
            .bind(field.id)
            .bind(value)
            .fetch_optional(&mut **tx)
            .await?;
            if taken.is_some() {
                return Err(AppError::invalid(Field::CustomValue, Problem::Taken));
            }
        }
        let now = EpochMs::now();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO contacts (org_id, first_name, last_name, email, company, primary_phone, \
             whatsapp_phone, facebook_id, instagram_username, owner_id, created_by, created_from, \
             last_activity_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'import', $12, $12, $12) \
             RETURNING id",
        )
        .bind(org_id)
        .bind(&row.first_name)
        .bind(&row.last_name)
        .bind(&row.email)
        .bind(&row.company)
        .bind(&row.phone)
        .bind(&row.whatsapp)
        .bind(&row.facebook_id)
        .bind(&row.instagram)
        .bind(row.owner.or(user_id))
        .bind(user_id)
        .bind(now)
        .fetch_one(&mut **tx)
        .await?;
        for number in &row.others {
            sqlx::query(
                "INSERT INTO contact_phones (org_id, contact_id, phone, label, created_at) \
                 VALUES ($1, $2, $3, NULL, $4)",
            )
            .bind(org_id)
            .bind(id)
            .bind(number)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        for (field, value) in &row.custom {
            let unique = (field.kind == FieldKind::Id).then_some(value);
            sqlx::query(
                "INSERT INTO contact_field_values (org_id, contact_id, field_id, value, \
                 unique_value) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(org_id)
            .bind(id)
            .bind(field.id)
            .bind(value)
            .bind(unique)
            .execute(&mut **tx)
            .await?;
        }
        after_import(tx, org_id, id).await?;
        Ok(id)
    }

    /// Rows of an import gone through and all, for the command line.
    pub async fn progress(db: &Db, import_id: i64) -> Result<ImportView, AppError> {
        let import = stored(db, import_id, None).await?;
        view_of(db, import_id, import).await
    }

    /// The mapping an import was created with (its headers' guess).
    pub async fn guessed(db: &Db, import_id: i64) -> Result<Vec<String>, AppError> {
        let import = stored(db, import_id, None).await?;
        Ok(serde_json::from_str(&import.mapping).unwrap_or_default())
    }

    /// Whether the mapping gives each contact a name and a way to reach it.
    pub fn complete(mapping: &[String]) -> Result<(), AppError> {
        mapping_complete(mapping)
    }

    /// Contacts an export writes per query.
    const EXPORT_PAGE: usize = 1000;

    /// The headers of an export: the keys an import recognises, the custom fields by name.
    fn export_header(custom: &[CustomField]) -> Vec<String> {
        let mut header: Vec<String> = [
            "first_name",
            "last_name",
            "email",
            "company",
            "phone",
            "whatsapp_phone",
            "other_phone",
            "facebook_id",
            "instagram_username",
            "owner",
        ]
        .iter()
        .map(|h| h.to_string())
        .collect();
        header.extend(custom.iter().map(|f| f.name.clone()));
        header.extend(["created_from".to_string(), "created_at".to_string()]);
        header
    }

    /// One page of an export of what `query` lists to `user` (who keeps the CRM): its CSV (with
    /// the header first when `first`), and the query of the next page, if any.
    pub async fn export_page(
        state: &AppState,
        user: &CurrentUser,
        query: &crate::contacts::ContactQuery,
        first: bool,
    ) -> Result<(Vec<u8>, Option<crate::contacts::ContactQuery>), AppError> {
        if !can_manage_contacts(&user.actor()) {
            return Err(AppError::Forbidden);
        }
        let db = &state.db;
        let custom = crate::contacts::custom::ssr::of_db(db, user.org_id).await?;
        let listed =
            crate::contacts::store::ssr::listed(state, user, query, EXPORT_PAGE + 1).await?;
        let more = listed.len() > EXPORT_PAGE;
        let listed = &listed[..listed.len().min(EXPORT_PAGE)];
        let next = match (more, listed.last()) {
            (true, Some(last)) => {
                let (key, id) = last.cursor(query.sort);
                Some(crate::contacts::ContactQuery {
                    after_key: Some(key),
                    after_id: Some(id),
                    ..query.clone()
                })
            }
            _ => None,
        };
        let mut out = csv::Writer::from_writer(Vec::new());
        let failed = |_| AppError::internal("csv");
        if first {
            out.write_record(export_header(&custom)).map_err(failed)?;
        }
        if !listed.is_empty() {
            // The ids were read from the database just above.
            let ids = listed
                .iter()
                .map(|r| r.id.to_string())
                .collect::<Vec<_>>()
                .join(",");
            #[derive(sqlx::FromRow)]
            struct Full {
                id: i64,
                first_name: String,
                last_name: String,
                email: Option<String>,
                company: Option<String>,
                primary_phone: Option<String>,
                whatsapp_phone: Option<String>,
                facebook_id: Option<String>,
                instagram_username: Option<String>,
                owner: Option<String>,
                created_from: Option<String>,
                created_at: EpochMs,
            }
            let full: Vec<Full> = sqlx::query_as(&format!(
                "SELECT c.id, c.first_name, c.last_name, c.email, c.company, c.primary_phone, \
                 c.whatsapp_phone, c.facebook_id, c.instagram_username, u.email AS owner, \
                 c.created_from, c.created_at FROM contacts c \
                 LEFT JOIN users u ON u.id = c.owner_id WHERE c.id IN ({ids})"
            ))
            .fetch_all(&db.pool)
            .await?;
            let phones: Vec<(i64, String)> = sqlx::query_as(&format!(
                "SELECT contact_id, phone FROM contact_phones WHERE contact_id IN ({ids}) ORDER BY id"
            ))
            .fetch_all(&db.pool)
            .await?;
            let values: Vec<(i64, i64, String)> = sqlx::query_as(&format!(
                "SELECT contact_id, field_id, value FROM contact_field_values \
                 WHERE contact_id IN ({ids})"
            ))
            .fetch_all(&db.pool)
            .await?;
            let mut full: HashMap<i64, Full> = full.into_iter().map(|f| (f.id, f)).collect();
            for row in listed {
                let Some(c) = full.remove(&row.id) else {
                    continue;
                };
                let text = |v: Option<String>| v.unwrap_or_default();
                let others: Vec<&str> = phones
                    .iter()
                    .filter(|(id, _)| *id == c.id)
                    .map(|(_, p)| p.as_str())
                    .collect();
                let mut record = vec![
                    c.first_name,
                    c.last_name,
                    text(c.email),
                    text(c.company),
                    text(c.primary_phone),
                    text(c.whatsapp_phone),
                    others.join("; "),
                    text(c.facebook_id),
                    text(c.instagram_username),
                    text(c.owner),
                ];
                for field in &custom {
                    let value = values
                        .iter()
                        .find(|(id, f, _)| *id == c.id && *f == field.id)
                        .map(|(_, _, v)| v.lines().collect::<Vec<_>>().join("; "));
                    record.push(value.unwrap_or_default());
                }
                record.push(text(c.created_from));
                record.push(crate::kit::clock::iso_date(c.created_at));
                out.write_record(&record).map_err(failed)?;
            }
        }
        let bytes = out.into_inner().map_err(|_| AppError::internal("csv"))?;
        Ok((bytes, next))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn reading<'a>(mapping: &'a [String], team: &'a HashMap<String, i64>) -> Reading<'a> {
            Reading {
                mapping,
                country: Some("MX"),
                custom: &[],
                team,
            }
        }

        fn strings(items: &[&str]) -> Vec<String> {
            items.iter().map(|s| s.to_string()).collect()
        }

        #[test]
        fn spreadsheets_in_spanish_are_read() {
            assert_eq!(delimiter("Nombre;Teléfono;Correo\n"), b';');
            assert_eq!(delimiter("name,phone\n"), b',');
            assert_eq!(text_of(b"Jos\xe9;P\xe9rez"), "José;Pérez");
            assert_eq!(text_of("\u{feff}Nombre".as_bytes()), "Nombre");
        }

        #[test]
        fn a_row_becomes_a_contact_or_says_why_not() {
            let team: HashMap<String, i64> = [("ana@andinas.example".to_string(), 7)].into();
            let mapping = strings(&["name", "phone", "email", "other_phone", "owner"]);
            let read = |cells: &[&str]| read_row(&strings(cells), &reading(&mapping, &team));
            let row = read(&[
                "Lucía Pérez Soto",
                "55 1234 5678",
                "",
                "55 1111 2222; 55 1234 5678",
                "ANA@andinas.example",
            ])
            .unwrap();
            assert_eq!(
                (row.first_name.as_str(), row.last_name.as_str()),
                ("Lucía", "Pérez Soto")
            );
            assert_eq!(row.phone.as_deref(), Some("+525512345678"));
            assert_eq!(row.others, ["+525511112222"]);
            assert_eq!(row.owner, Some(7));
            assert_eq!(
                read(&["Lucía", "", "", "", ""]),
                Err(AppError::invalid(Field::Contact, Problem::Required))
            );
            assert_eq!(
                read(&["Lucía", "hola", "", "", ""]),
                Err(AppError::invalid(Field::Phone, Problem::Malformed))
            );
            assert_eq!(
                read(&["Lucía", "", "lucia@", "", ""]),
                Err(AppError::invalid(Field::Email, Problem::Malformed))
            );
            assert_eq!(
                read(&["Lucía", "", "l@example.com", "", "nadie"]),
                Err(AppError::invalid(Field::Owner, Problem::Unknown))
            );
            // The first number is the primary one when no column says so.
            let mapping = strings(&["first_name", "other_phone"]);
            let row = read_row(
                &strings(&["Jorge", "55 8765 4321"]),
                &reading(&mapping, &team),
            )
            .unwrap();
            assert_eq!(
                (row.phone.as_deref(), row.others.len()),
                (Some("+525587654321"), 0)
            );
        }

        #[test]
        fn a_mapping_needs_a_name_and_a_way_to_reach() {
            assert!(complete(&strings(&["name", "email"])).is_ok());
            assert_eq!(
                complete(&strings(&["email", "phone"])),
                Err(AppError::invalid(Field::FirstName, Problem::Required))
            );
            assert_eq!(
                complete(&strings(&["first_name", "company"])),
                Err(AppError::invalid(Field::Contact, Problem::Required))
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contacts::custom::FieldKind;

    #[test]
    fn headers_are_recognised_in_spanish_and_english() {
        let custom = [CustomField {
            id: 3,
            name: "Número de cliente".into(),
            key: "numero_de_cliente".into(),
            kind: FieldKind::Id,
            options: Vec::new(),
        }];
        let guessed: Vec<String> = [
            "Nombre",
            "Apellidos",
            "Correo electrónico",
            "Teléfono",
            "WhatsApp",
            "Empresa",
            "first_name",
            "E-mail",
            "Número de cliente",
            "numero_de_cliente",
            "Notas",
        ]
        .iter()
        .map(|h| guess(h, &custom))
        .collect();
        assert_eq!(
            guessed,
            [
                "first_name",
                "last_name",
                "email",
                "phone",
                "whatsapp_phone",
                "company",
                "first_name",
                "email",
                "custom:3",
                "custom:3",
                ""
            ]
        );
    }
}
