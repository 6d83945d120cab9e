//! Who may write, and proof that a form post came from our own page.
//!
//! - **Authentication** (optional, `server.auth`): `token` accepts `Authorization: Bearer <token>`
//!   or the token as the password of basic auth (any user name); `basic` accepts the configured
//!   users. Only writes are checked; comparisons are constant-time.
//! - **CSRF** for the HTML forms: a random token in a `SameSite=Strict`, `HttpOnly` cookie that
//!   every form repeats in a hidden field (double submit). The JSON API needs
//!   `Content-Type: application/json`, which a cross-site form cannot send.

use crate::errors::AppError;
use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use base64::Engine;
use duro_core::config::{AuthMode, ServerConfig};
use subtle::ConstantTimeEq;

pub const CSRF_COOKIE: &str = "duro_csrf";

/// The configured write credentials.
#[derive(Clone)]
pub enum Auth {
    Open,
    Token(String),
    Users(Vec<(String, String)>),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Open => f.write_str("Open"),
            Auth::Token(_) => f.write_str("Token(<redacted>)"),
            Auth::Users(users) => write!(f, "Users({} users)", users.len()),
        }
    }
}

impl Auth {
    /// From the server settings; an `auth` mode without its secret is an error.
    pub fn from_config(config: &ServerConfig) -> Result<Auth, String> {
        match config.auth {
            AuthMode::None => Ok(Auth::Open),
            AuthMode::Token => match config.resolved_token().map_err(|e| e.to_string())? {
                Some(token) if !token.is_empty() => Ok(Auth::Token(token)),
                _ => Err("server.auth is `token` but no token is set: set DURO_SERVER__TOKEN or server.token_file".to_owned()),
            },
            AuthMode::Basic => {
                let users = config.resolved_users().map_err(|e| e.to_string())?;
                if users.is_empty() {
                    Err("server.auth is `basic` but no users are set: set DURO_SERVER__USERS=user:password,… or server.users_file".to_owned())
                } else {
                    Ok(Auth::Users(users))
                }
            }
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self, Auth::Open)
    }

    /// Checks the request's credentials for a write.
    pub fn check(&self, request: &HttpRequest) -> Result<(), AppError> {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        let allowed = match self {
            Auth::Open => true,
            Auth::Token(token) => match given {
                Some(value) if value.starts_with("Bearer ") => {
                    same(value["Bearer ".len()..].trim(), token)
                }
                Some(value) => basic_credentials(value).is_some_and(|(_, p)| same(&p, token)),
                None => false,
            },
            Auth::Users(users) => given.and_then(basic_credentials).is_some_and(|(u, p)| {
                // Check every entry so the time taken does not tell which user exists.
                users.iter().fold(false, |ok, (user, password)| {
                    ok | (same(&u, user) & same(&p, password))
                })
            }),
        };
        if allowed {
            Ok(())
        } else {
            Err(AppError::unauthorized())
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// (user, password) from `Basic <base64>`.
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let encoded = value.strip_prefix("Basic ")?.trim();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The request's CSRF token, and the cookie to set when it had none.
pub fn csrf_token(request: &HttpRequest, cookie_path: &str) -> (String, Option<Cookie<'static>>) {
    if let Some(cookie) = request.cookie(CSRF_COOKIE)
        && is_token(cookie.value())
    {
        return (cookie.value().to_owned(), None);
    }
    let token = new_token();
    let cookie = Cookie::build(CSRF_COOKIE, token.clone())
        .path(cookie_path.to_owned())
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    (token, Some(cookie))
}

/// Checks that a form's token matches the cookie.
pub fn check_csrf(request: &HttpRequest, form_token: &str) -> Result<(), AppError> {
    let cookie = request.cookie(CSRF_COOKIE);
    match cookie {
        Some(cookie) if is_token(cookie.value()) && same(cookie.value(), form_token) => Ok(()),
        _ => Err(AppError::forbidden(
            "the form's CSRF token does not match: reload the page and try again",
        )
        .page()),
    }
}

fn is_token(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn new_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn basic(user: &str, password: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        )
    }

    #[test]
    fn token_auth_accepts_bearer_or_basic_password() {
        let auth = Auth::Token("t0ken".to_owned());
        let with = |value: &str| {
            TestRequest::default()
                .insert_header((header::AUTHORIZATION, value))
                .to_http_request()
        };
        assert!(auth.check(&with("Bearer t0ken")).is_ok());
        assert!(auth.check(&with(&basic("anyone", "t0ken"))).is_ok());
        assert!(auth.check(&with("Bearer wrong")).is_err());
        assert!(auth.check(&with(&basic("anyone", "wrong"))).is_err());
        assert!(
            auth.check(&TestRequest::default().to_http_request())
                .is_err()
        );
    }

    #[test]
    fn basic_auth_checks_user_and_password_together() {
        let auth = Auth::Users(vec![
            ("alice".to_owned(), "one".to_owned()),
            ("bob".to_owned(), "two".to_owned()),
        ]);
        let with = |value: String| {
            TestRequest::default()
                .insert_header((header::AUTHORIZATION, value))
                .to_http_request()
        };
        assert!(auth.check(&with(basic("alice", "one"))).is_ok());
        assert!(auth.check(&with(basic("bob", "two"))).is_ok());
        assert!(auth.check(&with(basic("alice", "two"))).is_err());
        assert!(auth.check(&with("Basic !!!".to_owned())).is_err());
    }

    #[test]
    fn missing_secrets_are_configuration_errors() {
        let config = ServerConfig {
            auth: AuthMode::Token,
            ..ServerConfig::default()
        };
        assert!(
            Auth::from_config(&config)
                .unwrap_err()
                .contains("DURO_SERVER__TOKEN")
        );
        let config = ServerConfig {
            auth: AuthMode::Basic,
            ..ServerConfig::default()
        };
        assert!(
            Auth::from_config(&config)
                .unwrap_err()
                .contains("DURO_SERVER__USERS")
        );
    }

    #[test]
    fn csrf_tokens_are_random_and_checked_against_the_cookie() {
        let (first, cookie) = csrf_token(&TestRequest::default().to_http_request(), "/");
        let (second, _) = csrf_token(&TestRequest::default().to_http_request(), "/");
        assert_ne!(first, second);
        let cookie = cookie.unwrap();
        assert!(cookie.http_only().unwrap());
        let request = TestRequest::default().cookie(cookie).to_http_request();
        assert_eq!(csrf_token(&request, "/"), (first.clone(), None));
        assert!(check_csrf(&request, &first).is_ok());
        assert!(check_csrf(&request, &second).is_err());
        assert!(check_csrf(&TestRequest::default().to_http_request(), &first).is_err());
    }
}
