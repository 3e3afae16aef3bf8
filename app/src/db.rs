//! The database: SQLite (embedded default) or PostgreSQL, chosen once from the URL.
//!
//! Both backends are reached through `sqlx::Any`, so every store operation is written once.
//! The SQL text uses `$n` placeholders, which both dialects accept. Values stay within the types
//! both agree on: 64-bit integers (ids, counts, flags as 0/1, epoch-millisecond timestamps in
//! UTC) and text. What differs between the dialects lives in the per-backend migration folders.

use std::path::Path;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

pub use sqlx::AnyPool as Pool;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, DbError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(DbError::UnsupportedUrl)
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("the database URL must start with sqlite: or postgres:")]
    UnsupportedUrl,
    #[error("cannot create the database directory {0}: {1}")]
    Directory(String, std::io::Error),
    #[error("cannot connect to the database: {0}")]
    Connect(sqlx::Error),
    #[error("a database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Stores an enum as the text of its variant (`as_str` and `parse`): read back, an unknown
/// text is an error, not a default.
#[macro_export]
macro_rules! stored_as_text {
    ($name:ty) => {
        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }

            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<sqlx::Any>>::decode(value)?;
                <$name>::parse(&text)
                    .ok_or_else(|| format!("{text:?} is no {}", stringify!($name)).into())
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Any>>::encode(self.as_str(), buf)
            }
        }
    };
}

/// A connection pool and the backend behind it.
#[derive(Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// The URL it was opened with (PostgreSQL listeners open their own connection).
    pub url: std::sync::Arc<str>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .field("url", &redacted_url(&self.url))
            .finish()
    }
}

/// A database URL fit for a log: without the password, in its user part or its query.
pub fn redacted_url(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let base = match (base.find("://"), base.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let user = base[scheme + 3..at].split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &base[..scheme + 3], &base[at..])
        }
        _ => base.to_string(),
    };
    if query.is_empty() {
        return base;
    }
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

impl Db {
    /// A transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a transaction that read first and then writes after another
    /// connection committed would otherwise fail at once with "database is locked" instead of
    /// waiting its turn.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// Opens the database, creating an SQLite file (and its directory) when missing.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite => sqlite_url_creating_file(url)?,
            Backend::Postgres => url.to_string(),
        };
        let pool = AnyPoolOptions::new()
            .max_connections(match backend {
                Backend::Sqlite => 8,
                Backend::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            // No ping before each query: it doubled every round trip to PostgreSQL. A connection
            // is still checked when it goes back to the pool, and one that broke while idle
            // fails a single query.
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers proceed while one writer commits; the busy timeout
                        // makes concurrent writers queue instead of failing at once. FULL syncs
                        // every commit to disk: a message acknowledged to Meta survives a power
                        // cut too, not only a crash of Buzón (group commit keeps it cheap).
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
                             PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(DbError::Connect)?;
        Ok(Db {
            pool,
            backend,
            url: url.as_str().into(),
        })
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<(), DbError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }
}

/// Makes sure an SQLite URL opens read-write and creates the file and its directory.
fn sqlite_url_creating_file(url: &str) -> Result<String, DbError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:" {
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbError::Directory(dir.display().to_string(), e))?;
        }
    }
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("mode="))
        .collect();
    params.push("mode=rwc");
    Ok(format!("sqlite://{path}?{}", params.join("&")))
}

/// A trigram index of searchable text that triggers keep (`conversation_search`,
/// `contact_search`): on SQLite an FTS5 table whose rowid is the indexed row's id and which folds
/// case and accents itself, on PostgreSQL a table keyed by `key` holding text already folded by
/// `search_fold`.
pub struct SearchIndex {
    pub table: &'static str,
    pub key: &'static str,
}

impl SearchIndex {
    /// The condition that the row whose id is the column `id` holds `term`. It binds one value,
    /// given to `bind`, which returns its placeholder.
    pub fn matching(
        &self,
        backend: Backend,
        id: &str,
        term: &str,
        bind: impl FnOnce(String) -> String,
    ) -> String {
        let table = self.table;
        match backend {
            // The trigram index answers three characters or more. Shorter terms match so many
            // rows that reading them in order, each checked by its id, fills a page at once.
            Backend::Sqlite if term.chars().count() >= 3 => {
                let phrase = bind(format!("\"{}\"", term.replace('"', "\"\"")));
                format!("{id} IN (SELECT rowid FROM {table} WHERE {table} MATCH {phrase})")
            }
            Backend::Sqlite => {
                let like = bind(format!("%{}%", escape_like(term)));
                format!(
                    "EXISTS (SELECT 1 FROM {table} s WHERE s.rowid = {id} \
                     AND s.search_text LIKE {like} ESCAPE '\\')"
                )
            }
            Backend::Postgres => {
                let like = bind(escape_like(term));
                let key = self.key;
                format!(
                    "{id} IN (SELECT {key} FROM {table} \
                     WHERE search_text LIKE '%' || search_fold({like}) || '%')"
                )
            }
        }
    }
}

impl SearchIndex {
    /// The condition that the row whose id is the column `id` holds every one of `words`, each
    /// anywhere and in any order ("perez lucia" finds Lucía Pérez). It binds one value per
    /// word, each given to `bind`, which returns its placeholder.
    ///
    /// The cost of a trigram search is the length of its trigrams' lists, and a word as common
    /// as a first name is in a tenth of a large organization: on PostgreSQL only the most
    /// telling word (`telling`) is looked up in the index, and the others are checked on the
    /// rows it finds. FTS5 joins the words' lists itself, skipping through the long ones.
    pub fn matching_words(
        &self,
        backend: Backend,
        id: &str,
        words: &[&str],
        mut bind: impl FnMut(String) -> String,
    ) -> String {
        let table = self.table;
        let (long, short): (Vec<&str>, Vec<&str>) =
            words.iter().partition(|w| w.chars().count() >= 3);
        match backend {
            Backend::Sqlite => {
                // A word of one or two letters is no trigram: it is looked for as typed after
                // the words before it ("alvaro nu"), as one phrase.
                let whole = words.join(" ");
                if whole.chars().count() < 3 {
                    return self.matching(backend, id, &whole, bind);
                }
                let mut phrases: Vec<&str> = long;
                if !short.is_empty() {
                    phrases.push(&whole);
                }
                // FTS5 joins the phrases' lists itself, skipping through the long ones.
                let query = phrases
                    .iter()
                    .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                let query = bind(query);
                format!("{id} IN (SELECT rowid FROM {table} WHERE {table} MATCH {query})")
            }
            Backend::Postgres => {
                let key = self.key;
                let Some(first) = telling(words) else {
                    return "FALSE".to_string();
                };
                let like = bind(escape_like(first));
                let mut condition = format!(
                    "{id} IN (SELECT {key} FROM {table} \
                     WHERE search_text LIKE '%' || search_fold({like}) || '%'"
                );
                for word in words.iter().filter(|w| **w != first) {
                    let word = bind(word.to_string());
                    condition.push_str(&format!(
                        " AND strpos(search_text, search_fold({word})) > 0"
                    ));
                }
                condition.push(')');
                condition
            }
        }
    }
}

/// The word of a search most likely to be rare: one with the most digits (a number, a
/// document), else the longest.
pub fn telling<'a>(words: &[&'a str]) -> Option<&'a str> {
    words.iter().copied().max_by_key(|w| {
        (
            w.chars().filter(char::is_ascii_digit).count(),
            w.chars().count(),
        )
    })
}

/// `%`, `_` and the escape character itself taken literally in a LIKE pattern.
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_telling_word_has_the_most_digits_else_the_most_letters() {
        assert_eq!(telling(&["lucía", "500120"]), Some("500120"));
        assert_eq!(telling(&["ana", "gonzález"]), Some("gonzález"));
        assert_eq!(telling(&["c-12", "fernández"]), Some("c-12"));
        assert_eq!(telling(&[]), None);
    }

    #[test]
    fn a_logged_database_url_has_no_password() {
        assert_eq!(
            redacted_url("postgres://buzon:s3cret@db.internal:5432/buzon?sslmode=require"),
            "postgres://buzon:***@db.internal:5432/buzon?sslmode=require"
        );
        assert_eq!(
            redacted_url("postgres://buzon@db/buzon?password=s3cret&sslmode=require"),
            "postgres://buzon:***@db/buzon?password=***&sslmode=require"
        );
        assert_eq!(
            redacted_url("sqlite://data/buzon.db?mode=rwc"),
            "sqlite://data/buzon.db?mode=rwc"
        );
    }

    #[test]
    fn sqlite_urls_always_open_read_write_create() {
        assert_eq!(
            sqlite_url_creating_file("sqlite:///tmp/buzon-x/a.db?mode=ro").unwrap(),
            "sqlite:///tmp/buzon-x/a.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url_creating_file("sqlite::memory:").unwrap(),
            "sqlite://:memory:?mode=rwc"
        );
    }

    #[test]
    fn backend_is_chosen_from_the_url_scheme() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgres://localhost/db").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("mysql://localhost/db").is_err());
    }
}
