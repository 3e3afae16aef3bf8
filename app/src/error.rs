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
    /// The customer's consent to store their data (R25).
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
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
    /// The mail server refused or could not be reached; nothing was created.
    #[error("the email could not be sent")]
    EmailNotSent,
    #[error("internal error")]
    Internal,
    /// The interaction window does not allow this message now (R11-R14).
    #[error("not allowed by the interaction window: {0:?}")]
    Window(crate::window::Refusal),
    /// The conversation's account was disconnected: history only (R4).
    #[error("the account is disconnected")]
    AccountDisconnected,
    /// The file is not one this channel accepts (R20).
    #[error("file refused: {0}")]
    File(channels::files::FileRefusal),
    /// Meta or Twilio refused a call, with their code and reason.
    #[error("the provider answered {code}: {reason}")]
    Provider { code: String, reason: String },
    /// The chosen user cannot be given conversations now (R33).
    #[error("cannot be assigned: {0:?}")]
    Assignment(crate::lifecycle::Refusal),
    /// One of the accounts is in another enabled closing rule already (R37); its name, when
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
