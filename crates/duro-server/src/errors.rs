//! Request errors: a status and a message a person can act on. API routes answer JSON
//! (`{"error": "…"}`), pages answer a small escaped HTML page. Only a broken state file is a 500.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use duro_core::state::StateError;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub message: String,
    /// Answer as an HTML page rather than JSON.
    pub html: bool,
    /// `WWW-Authenticate` challenges to answer with (a 401 asks for credentials).
    pub challenges: &'static [&'static str],
}

/// The basic-auth challenge; browsers ask for a user name and password.
pub(crate) const BASIC_CHALLENGE: &str = "Basic realm=\"duro\", charset=\"UTF-8\"";
/// The bearer-token challenge (RFC 6750).
pub(crate) const BEARER_CHALLENGE: &str = "Bearer realm=\"duro\"";

impl AppError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), html: false, challenges: &[] }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// A 401 asking for basic auth; `message` says what needs the credentials.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self { challenges: &[BASIC_CHALLENGE], ..Self::new(StatusCode::UNAUTHORIZED, message) }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// The same error, answered as a page.
    pub fn page(mut self) -> Self {
        self.html = true;
        self
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl From<StateError> for AppError {
    fn from(error: StateError) -> Self {
        tracing::error!("{error}");
        AppError::internal(format!("the state file cannot be read: {error}"))
    }
}

impl From<tera::Error> for AppError {
    fn from(error: tera::Error) -> Self {
        let text = duro_core::errors::with_causes(&error);
        tracing::error!("template: {text}");
        AppError::internal("a page template failed; see the server log").page()
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        for challenge in self.challenges {
            response.append_header((header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge)));
        }
        if self.html {
            response.content_type("text/html; charset=utf-8").body(format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{status} — duro</title></head>\
                 <body><h1>{status}</h1><p>{message}</p></body></html>",
                status = self.status,
                message = escape_html(&self.message)
            ))
        } else {
            response.json(serde_json::json!({ "error": self.message }))
        }
    }
}

/// Escapes text for HTML content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn pages_escape_the_message() {
        let error = AppError::bad_request("<script>alert('x')</script> & more").page();
        let body = error.error_response().into_body().try_into_bytes().unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert!(text.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more"));
        assert!(!text.contains("<script>"));
    }

    #[test]
    fn unauthorized_asks_for_basic_auth() {
        let response = AppError::unauthorized("reading needs credentials").error_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
