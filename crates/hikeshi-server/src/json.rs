//! A JSON body extractor whose errors say which field is wrong and answer 413 for bodies
//! over the limit, in the API's error format.

use crate::error::ApiError;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

/// JSON bodies larger than this are refused; uploads have their own, larger limit.
pub const JSON_LIMIT: usize = 1024 * 1024;

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::new(
                hikeshi_app::ErrorKind::UnsupportedMedia,
                "unsupported_media_type",
                "send the body as application/json",
            ));
        }
        let bytes = axum::body::to_bytes(req.into_body(), JSON_LIMIT)
            .await
            .map_err(|_| ApiError::from(hikeshi_app::AppError::too_large(JSON_LIMIT as u64)))?;
        parse_json(&bytes).map(ApiJson)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = if path == "." {
            "body".to_string()
        } else {
            path
        };
        // serde names the unknown field in its message; keep the message as it is.
        ApiError::invalid(&field, format!("{field}: {inner}"))
    })
}

/// Query-string extractor with the same error format as [`ApiJson`].
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, ApiError> {
        // An empty value means "not given": filter forms submit every field.
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(
                form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                    .filter(|(_, v)| !v.is_empty()),
            )
            .finish();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let field = e.path().to_string();
                ApiError::invalid(&field, format!("{field}: {}", e.into_inner()))
            })
    }
}
