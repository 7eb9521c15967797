//! Errors of the use cases: a kind (what went wrong, which the web crate maps to an HTTP status
//! in one place), a stable machine code, a message and, for bad input, the field at fault.

use hikeshi_store::StoreError;

/// What kind of failure, independent of how it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is wrong; `field` names where.
    Invalid,
    /// Nobody is logged in.
    Unauthenticated,
    /// The caller's role may not do this.
    Forbidden,
    NotFound,
    /// The state of the data does not allow it (already decided, merged, a duplicate).
    Conflict,
    TooLarge,
    /// Understood but refused as a whole (a file with errors in it).
    Unprocessable,
    UnsupportedMedia,
    /// Too many requests from one place; try later.
    RateLimited,
    /// A part this node does not run (no rules loaded) or that stopped.
    Unavailable,
    Internal,
}

#[derive(Debug, Clone)]
pub struct AppError {
    pub kind: ErrorKind,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// For "try again later" answers: when, in seconds.
    pub retry_after_secs: Option<u64>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        AppError {
            kind,
            code,
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError {
            kind: ErrorKind::Invalid,
            code: "invalid_input",
            message: message.into(),
            field: Some(field.to_string()),
            retry_after_secs: None,
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(
            ErrorKind::NotFound,
            "not_found",
            format!("not found: {}", what.into()),
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, "conflict", message)
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            ErrorKind::Unauthenticated,
            "unauthenticated",
            "log in or send a bearer token",
        )
    }

    pub fn forbidden(what: &str) -> Self {
        Self::new(
            ErrorKind::Forbidden,
            "forbidden",
            format!("your role may not {what}"),
        )
    }

    pub fn too_large(limit: u64) -> Self {
        Self::new(
            ErrorKind::TooLarge,
            "too_large",
            format!("the request body is larger than the limit of {limit} bytes"),
        )
    }

    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, code, message)
    }

    /// Full for now: the caller should try again in `secs` seconds.
    pub fn busy(message: impl Into<String>, secs: u64) -> Self {
        AppError {
            retry_after_secs: Some(secs),
            ..Self::new(ErrorKind::Unavailable, "busy", message)
        }
    }

    /// Logs the cause and shows nothing of it: internals are for the server log.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, "internal error");
        Self::new(
            ErrorKind::Internal,
            "internal",
            "internal error; see the server log",
        )
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(what) => AppError::not_found(what),
            StoreError::Conflict(msg) => AppError::conflict(msg),
            other => AppError::internal(other),
        }
    }
}

impl From<hikeshi_model::UnknownValue> for AppError {
    fn from(err: hikeshi_model::UnknownValue) -> Self {
        AppError::invalid(err.field, err.to_string())
    }
}
