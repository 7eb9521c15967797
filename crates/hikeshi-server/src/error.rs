//! Errors as HTTP shows them: the app's [`AppError`] with its status chosen in one match, and
//! the body `{"error": {code, message, field}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hikeshi_app::{AppError, ErrorKind};
use hikeshi_store::StoreError;
use serde::Serialize;

/// An [`AppError`] on its way to the client. Use cases return `AppError`; `?` turns it into
/// this in a handler.
#[derive(Debug)]
pub struct ApiError(pub AppError);

pub type ApiResult<T> = Result<T, ApiError>;

impl std::ops::Deref for ApiError {
    type Target = AppError;
    fn deref(&self) -> &AppError {
        &self.0
    }
}

/// The one place an error kind becomes a status.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::UnsupportedMedia => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        status_of(self.0.kind)
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError(AppError::invalid(field, message))
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError(AppError::not_found(what))
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        ApiError(AppError::internal(err))
    }

    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        ApiError(AppError::new(kind, code, message))
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        ApiError(err)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        ApiError(err.into())
    }
}

impl From<hikeshi_model::UnknownValue> for ApiError {
    fn from(err: hikeshi_model::UnknownValue) -> Self {
        ApiError(err.into())
    }
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.0.code,
                message: &self.0.message,
                field: self.0.field.as_deref(),
            },
        };
        let mut response = (self.status(), axum::Json(body)).into_response();
        if let Some(secs) = self.0.retry_after_secs {
            if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        response
    }
}

/// So that `?` works either way inside a handler that mixes web checks with use cases.
impl From<ApiError> for AppError {
    fn from(err: ApiError) -> Self {
        err.0
    }
}
