//! The one application error. Every server function returns it; the browser turns it into a
//! translated message (see `crate::i18n_errors`). Internal causes are logged on the server and
//! never sent to the client.

use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// A form field a validation error belongs to, so the message appears next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Field {
    Email,
    Name,
    Password,
    CurrentPassword,
    Organization,
    Role,
    RoleName,
    Invite,
    Language,
    Message,
    Account,
    Channel,
    ExternalId,
    AccessToken,
    AppSecret,
    VerifyToken,
    AuthToken,
    AccountSid,
    Template,
    Category,
    Price,
    Currency,
    FirstName,
    LastName,
    /// The customer's consent to store their data.
    Consent,
    Phone,
    /// The conversation's CRM contact.
    Contact,
    /// A quick reply's short code.
    ShortCode,
    /// A file uploaded earlier.
    Attachment,
    /// The user a conversation is given to.
    Assignee,
    /// Why a conversation is closed.
    CloseReason,
    /// How long a conversation may stay quiet before a rule closes it.
    Inactivity,
    /// The one-time code the server prints on its first start.
    SetupToken,
    Company,
    WhatsappPhone,
    FacebookId,
    InstagramUsername,
    /// Who a contact belongs to.
    Owner,
    /// The organization's country for numbers without a prefix.
    Country,
    /// A custom field's name.
    FieldName,
    /// What a custom field holds.
    FieldType,
    /// A choice field's choices.
    Options,
    /// A contact's value of a custom field.
    CustomValue,
    /// A CSV file of contacts to import, or its mapping.
    Import,
}

/// What is wrong with a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Problem {
    Required,
    TooLong {
        max: usize,
    },
    TooShort {
        min: usize,
    },
    Malformed,
    Taken,
    Unknown,
    Expired,
    AlreadyUsed,
    Wrong,
    InUse,
    /// There are already `max` of these.
    TooMany {
        max: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
pub enum AppError {
    #[error("invalid {field:?}: {problem:?}")]
    Invalid { field: Field, problem: Problem },
    #[error("not signed in")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("too many failed attempts, retry in {retry_after_secs}s")]
    RateLimited { retry_after_secs: u64 },
    #[error("the organization is already set up")]
    AlreadySetUp,
    /// The change would leave the organization without an active Administrator.
    #[error("the last administrator cannot be removed")]
    LastAdministrator,
    /// The server is doing as much of this work as it can at once; nothing was done.
    #[error("the server is busy")]
    Busy,
    /// The mail server refused or could not be reached; nothing was created.
    #[error("the email could not be sent")]
    EmailNotSent,
    #[error("internal error")]
    Internal,
    /// The interaction window does not allow this message now.
    #[error("not allowed by the interaction window: {0:?}")]
    Window(crate::window::Refusal),
    /// The conversation's account was disconnected: history only.
    #[error("the account is disconnected")]
    AccountDisconnected,
    /// The file is not one this channel accepts.
    #[error("file refused: {0}")]
    File(channels::files::FileRefusal),
    /// Meta or Twilio refused a call, with their code and reason.
    #[error("the provider answered {code}: {reason}")]
    Provider { code: String, reason: String },
    /// The chosen user cannot be given conversations now.
    #[error("cannot be assigned: {0:?}")]
    Assignment(crate::lifecycle::Refusal),
    /// One of the accounts is in another enabled closing rule already; its name, when
    /// known.
    #[error("an account is in the closing rule {rule:?} already")]
    RuleOverlap { rule: String },
    /// The request did not reach the server or its answer could not be read.
    #[error("request failed: {0}")]
    Transport(String),
}

impl AppError {
    pub fn invalid(field: Field, problem: Problem) -> AppError {
        AppError::Invalid { field, problem }
    }

    /// The problem with `field`, when this error is about that field.
    pub fn problem_with(&self, field: Field) -> Option<Problem> {
        match self {
            AppError::Invalid { field: f, problem } if *f == field => Some(*problem),
            _ => None,
        }
    }
}

/// Read from the JSON serde's derive writes (`"Forbidden"`, `{"Invalid":{"field":..,"problem":..}}`),
/// through the JSON value decoder the bundle has anyway: serde's derive for this enum of enums
/// compiled about 27 KB of decoding code into the browser's first bundle.
impl<'de> Deserialize<'de> for AppError {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        decode::app_error(&value)
            .ok_or_else(|| serde::de::Error::custom("not an application error"))
    }
}

mod decode {
    use super::{AppError, Problem};
    use serde::de::value::{Error, StrDeserializer};
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    /// An externally tagged variant: its name, and what it holds (`Null` for a unit variant).
    fn variant(value: &Value) -> Option<(&str, &Value)> {
        match value {
            Value::String(name) => Some((name, &Value::Null)),
            Value::Object(map) if map.len() == 1 => map.iter().next().map(|(k, v)| (k.as_str(), v)),
            _ => None,
        }
    }

    /// A unit variant of a derived enum, by its name.
    fn named<T: DeserializeOwned>(name: &str) -> Option<T> {
        T::deserialize(StrDeserializer::<Error>::new(name)).ok()
    }

    fn number(value: &Value, key: &str) -> Option<u64> {
        value.get(key)?.as_u64()
    }

    fn text(value: &Value, key: &str) -> Option<String> {
        value.get(key)?.as_str().map(str::to_owned)
    }

    fn problem(value: &Value) -> Option<Problem> {
        let (name, body) = variant(value)?;
        let size = |key| number(body, key).and_then(|n| usize::try_from(n).ok());
        match name {
            "TooLong" => Some(Problem::TooLong { max: size("max")? }),
            "TooShort" => Some(Problem::TooShort { min: size("min")? }),
            "TooMany" => Some(Problem::TooMany { max: size("max")? }),
            _ if body.is_null() => named(name),
            _ => None,
        }
    }

    fn file(value: &Value) -> Option<channels::files::FileRefusal> {
        use channels::files::FileRefusal;
        match variant(value)? {
            ("TooLarge", body) => Some(FileRefusal::TooLarge {
                max_bytes: number(body, "max_bytes")?,
            }),
            (name, Value::Null) => named(name),
            _ => None,
        }
    }

    pub(super) fn app_error(value: &Value) -> Option<AppError> {
        let (name, body) = variant(value)?;
        Some(match name {
            "Invalid" => AppError::Invalid {
                field: named(body.get("field")?.as_str()?)?,
                problem: problem(body.get("problem")?)?,
            },
            "Unauthenticated" => AppError::Unauthenticated,
            "Forbidden" => AppError::Forbidden,
            "NotFound" => AppError::NotFound,
            "RateLimited" => AppError::RateLimited {
                retry_after_secs: number(body, "retry_after_secs")?,
            },
            "AlreadySetUp" => AppError::AlreadySetUp,
            "Busy" => AppError::Busy,
            "LastAdministrator" => AppError::LastAdministrator,
            "EmailNotSent" => AppError::EmailNotSent,
            "Internal" => AppError::Internal,
            "Window" => AppError::Window(named(body.as_str()?)?),
            "AccountDisconnected" => AppError::AccountDisconnected,
            "File" => AppError::File(file(body)?),
            "Provider" => AppError::Provider {
                code: text(body, "code")?,
                reason: text(body, "reason")?,
            },
            "Assignment" => AppError::Assignment(named(body.as_str()?)?),
            "RuleOverlap" => AppError::RuleOverlap {
                rule: text(body, "rule")?,
            },
            "Transport" => AppError::Transport(body.as_str()?.to_owned()),
            _ => return None,
        })
    }
}

impl crate::json::FromJson for AppError {
    fn from_json(value: serde_json::Value) -> Result<Self, crate::json::JsonError> {
        decode::app_error(&value)
            .ok_or_else(|| crate::json::JsonError("not an application error".to_string()))
    }
}

impl FromServerFnError for AppError {
    type Encoder = crate::codec::TextJson;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(feature = "ssr")]
mod ssr {
    use super::*;
    use axum::http::StatusCode;

    impl AppError {
        pub fn status(&self) -> StatusCode {
            match self {
                AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
                AppError::Forbidden => StatusCode::FORBIDDEN,
                AppError::NotFound => StatusCode::NOT_FOUND,
                AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                AppError::AlreadySetUp => StatusCode::CONFLICT,
                AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
                AppError::LastAdministrator => StatusCode::CONFLICT,
                AppError::EmailNotSent => StatusCode::BAD_GATEWAY,
                AppError::Window(_)
                | AppError::AccountDisconnected
                | AppError::Assignment(_)
                | AppError::RuleOverlap { .. } => StatusCode::CONFLICT,
                AppError::File(_) => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::Provider { .. } => StatusCode::BAD_GATEWAY,
                AppError::Internal | AppError::Transport(_) => StatusCode::INTERNAL_SERVER_ERROR,
            }
        }

        /// Logs an internal cause and hides it from the client.
        pub fn internal(cause: impl std::fmt::Display) -> AppError {
            tracing::error!(%cause, "internal error");
            AppError::Internal
        }

        /// Sets the HTTP status of the current server-function response to match the error.
        pub fn respond(self) -> AppError {
            if let Some(options) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                options.set_status(self.status());
            }
            self
        }
    }

    /// Meta or Twilio refused a call: their code and reason, as the user is shown them.
    impl From<channels::outbound::CallError> for AppError {
        fn from(err: channels::outbound::CallError) -> Self {
            AppError::Provider {
                code: err.code().to_string(),
                reason: err.reason().to_string(),
            }
        }
    }

    impl From<sqlx::Error> for AppError {
        fn from(err: sqlx::Error) -> Self {
            AppError::internal(err)
        }
    }

    /// Turns a unique-constraint violation into a validation error on a field.
    pub trait ResultExt<T> {
        fn on_unique(self, field: Field) -> Result<T, AppError>;
    }

    impl<T> ResultExt<T> for Result<T, sqlx::Error> {
        fn on_unique(self, field: Field) -> Result<T, AppError> {
            self.map_err(|err| match &err {
                sqlx::Error::Database(db) if db.is_unique_violation() => {
                    AppError::invalid(field, Problem::Taken)
                }
                _ => AppError::from(err),
            })
        }
    }
}

#[cfg(feature = "ssr")]
pub use ssr::ResultExt;

#[cfg(test)]
mod tests {
    use super::*;
    use channels::files::FileRefusal;

    /// Every variant, and every kind of what they hold, read back as written.
    #[test]
    fn every_error_is_read_back_as_written() {
        let mut errors = vec![
            AppError::Unauthenticated,
            AppError::Forbidden,
            AppError::NotFound,
            AppError::RateLimited {
                retry_after_secs: 90,
            },
            AppError::AlreadySetUp,
            AppError::Busy,
            AppError::LastAdministrator,
            AppError::EmailNotSent,
            AppError::Internal,
            AppError::AccountDisconnected,
            AppError::File(FileRefusal::Type),
            AppError::File(FileRefusal::Empty),
            AppError::File(FileRefusal::TooLarge {
                max_bytes: 16 << 20,
            }),
            AppError::Provider {
                code: "131047".into(),
                reason: "Re-engagement \"message\"".into(),
            },
            AppError::Assignment(crate::lifecycle::Refusal::Unavailable),
            AppError::Assignment(crate::lifecycle::Refusal::CannotWork),
            AppError::RuleOverlap {
                rule: "Noche".into(),
            },
            AppError::Transport("error sending request".into()),
        ];
        errors.extend(crate::window::Refusal::ALL.map(AppError::Window));
        let problems = [
            Problem::Required,
            Problem::TooLong { max: 200 },
            Problem::TooShort { min: 8 },
            Problem::Malformed,
            Problem::Taken,
            Problem::Unknown,
            Problem::Expired,
            Problem::AlreadyUsed,
            Problem::Wrong,
            Problem::InUse,
            Problem::TooMany { max: 10 },
        ];
        for (i, problem) in problems.into_iter().enumerate() {
            let field = [
                Field::Email,
                Field::CloseReason,
                Field::Inactivity,
                Field::AccountSid,
            ][i % 4];
            errors.push(AppError::invalid(field, problem));
        }
        for error in errors {
            let json = serde_json::to_string(&error).unwrap();
            let read: AppError =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
            assert_eq!(read, error, "{json}");
            // As the browser reads a failed resource.
            let result: Result<i64, AppError> =
                serde_json::from_str(&format!(r#"{{"Err":{json}}}"#)).unwrap();
            assert_eq!(result, Err(error));
        }
    }

    #[test]
    fn what_is_not_an_error_is_refused() {
        for json in [
            r#""Unknown""#,
            r#"{"Invalid":{"field":"Nope","problem":"Required"}}"#,
            r#"{"Invalid":{"field":"Email","problem":{"TooLong":{}}}}"#,
            r#"{"Invalid":{"field":"Email"}}"#,
            r#"{"Window":"Later"}"#,
            r#"{"File":{"TooLarge":{"max_bytes":-1}}}"#,
            r#"{"Forbidden":null,"NotFound":null}"#,
            r#"{"RateLimited":{"retry_after_secs":"soon"}}"#,
            "42",
            "[]",
        ] {
            assert!(serde_json::from_str::<AppError>(json).is_err(), "{json}");
        }
    }
}
