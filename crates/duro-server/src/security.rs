//! Who may read and write, and proof that a form post came from our own page.
//!
//! - **Authentication** (optional, `server.auth`): `token` accepts `Authorization: Bearer <token>`
//!   or the token as the password of basic auth (any user name); `basic` accepts the configured
//!   users. Scheme names are case-insensitive (RFC 7235); comparisons are constant-time. Writes
//!   are always checked; with `server.read_auth`, every other request but `/healthz` too.
//! - **CSRF** for the HTML forms: a token in a `SameSite=Strict`, `HttpOnly` cookie (`Secure`
//!   when the request came over HTTPS) that every form repeats in a hidden field (double
//!   submit). The token is a random nonce signed with a key the server draws at start
//!   (HMAC-SHA256), so a pair the server did not hand out is refused, and a page left open
//!   across a restart is told to reload. The JSON API needs `Content-Type: application/json`,
//!   which a cross-site form cannot send.

use crate::errors::{AppError, BASIC_CHALLENGE, BEARER_CHALLENGE};
use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use base64::Engine;
use duro_core::config::{AuthMode, Secret, ServerConfig};
use ring::hmac;
use subtle::ConstantTimeEq;

pub(crate) const CSRF_COOKIE: &str = "duro_csrf";

/// The configured credentials.
#[derive(Clone, Debug)]
pub enum Auth {
    Open,
    Token(Secret),
    Users(Vec<(String, Secret)>),
}

impl Auth {
    /// From the server settings; an `auth` mode without its secret is an error.
    pub fn from_config(config: &ServerConfig) -> Result<Auth, String> {
        match config.auth {
            AuthMode::None => Ok(Auth::Open),
            AuthMode::Token => match &config.token {
                Some(token) if !token.expose().is_empty() => Ok(Auth::Token(token.clone())),
                _ => Err("server.auth is `token` but no token is set: set DURO_SERVER__TOKEN or server.token_file".to_owned()),
            },
            AuthMode::Basic => {
                let users = config.users().map_err(|e| e.to_string())?;
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
        self.check_for(
            request,
            "writing needs credentials: basic auth, or `Authorization: Bearer <token>`",
        )
    }

    /// Checks the request's credentials for a read (with `server.read_auth`).
    pub fn check_read(&self, request: &HttpRequest) -> Result<(), AppError> {
        self.check_for(
            request,
            "reading needs credentials: basic auth, or `Authorization: Bearer <token>`",
        )
    }

    fn check_for(&self, request: &HttpRequest, message: &str) -> Result<(), AppError> {
        if self.allows(request) {
            return Ok(());
        }
        let mut error = AppError::unauthorized(message);
        if let Auth::Token(_) = self {
            // Browsers answer the basic challenge (the token as the password); clients the other.
            error.challenges = &[BASIC_CHALLENGE, BEARER_CHALLENGE];
        }
        Err(error)
    }

    fn allows(&self, request: &HttpRequest) -> bool {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::trim);
        match self {
            Auth::Open => true,
            Auth::Token(token) => match given {
                Some(value) => match credentials(value, "Bearer") {
                    Some(bearer) => same(bearer, token.expose()),
                    None => basic_credentials(value).is_some_and(|(_, p)| same(&p, token.expose())),
                },
                None => false,
            },
            Auth::Users(users) => given.and_then(basic_credentials).is_some_and(|(u, p)| {
                // Check every entry so the time taken does not tell which user exists.
                users.iter().fold(false, |ok, (user, password)| {
                    ok | (same(&u, user) & same(&p, password.expose()))
                })
            }),
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// What follows `scheme` in an `Authorization` value, the scheme in any case (RFC 7235).
fn credentials<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, rest) = value.split_once([' ', '\t'])?;
    given.eq_ignore_ascii_case(scheme).then(|| rest.trim())
}

/// (user, password) from `Basic <base64>`.
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let encoded = credentials(value, "Basic")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The key that signs CSRF tokens: random, drawn once per server start, never stored.
pub struct CsrfKey(hmac::Key);

impl CsrfKey {
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
        CsrfKey(hmac::Key::new(hmac::HMAC_SHA256, &bytes))
    }

    /// A new token: `<nonce>.<signature>`, both in hex.
    fn issue(&self) -> String {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).expect("the operating system provides random bytes");
        let nonce = hex(&nonce);
        let signature = hex(hmac::sign(&self.0, nonce.as_bytes()).as_ref());
        format!("{nonce}.{signature}")
    }

    /// Whether this key signed `token` (in constant time).
    fn signed(&self, token: &str) -> bool {
        let Some((nonce, signature)) = token.split_once('.') else {
            return false;
        };
        let Some(signature) = unhex(signature) else {
            return false;
        };
        unhex(nonce).is_some_and(|nonce| nonce.len() == 16)
            && hmac::verify(&self.0, nonce.as_bytes(), &signature).is_ok()
    }
}

/// The request's CSRF token, and the cookie to set when it had none signed by `key` (none
/// yet, or one from before a restart).
pub(crate) fn csrf_token(
    request: &HttpRequest,
    cookie_path: &str,
    key: &CsrfKey,
) -> (String, Option<Cookie<'static>>) {
    if let Some(cookie) = request.cookie(CSRF_COOKIE)
        && key.signed(cookie.value())
    {
        return (cookie.value().to_owned(), None);
    }
    let token = key.issue();
    let cookie = Cookie::build(CSRF_COOKIE, token.clone())
        .path(cookie_path.to_owned())
        .http_only(true)
        .secure(is_https(request))
        .same_site(SameSite::Strict)
        .finish();
    (token, Some(cookie))
}

/// Whether the request came over HTTPS: a TLS connection, or `X-Forwarded-Proto: https` from
/// the reverse proxy (which must set or override that header).
fn is_https(request: &HttpRequest) -> bool {
    request.app_config().secure()
        || request
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// Checks that a form's token matches the cookie and that this server signed it.
pub(crate) fn check_csrf(
    request: &HttpRequest,
    form_token: &str,
    key: &CsrfKey,
) -> Result<(), AppError> {
    match request.cookie(CSRF_COOKIE) {
        Some(cookie) if same(cookie.value(), form_token) => {
            if key.signed(cookie.value()) {
                Ok(())
            } else {
                // Signed with another key (the server restarted since the page was loaded), or
                // not by us at all.
                Err(AppError::forbidden("the page is out of date: reload the page and try again")
                    .page())
            }
        }
        _ => Err(AppError::forbidden(
            "the form's CSRF token does not match: reload the page and try again",
        )
        .page()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    // Lower case only: one spelling per token.
    if !text.len().is_multiple_of(2)
        || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
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
        let auth = Auth::Token("t0ken".into());
        let with = |value: &str| {
            TestRequest::default().insert_header((header::AUTHORIZATION, value)).to_http_request()
        };
        assert!(auth.check(&with("Bearer t0ken")).is_ok());
        assert!(auth.check(&with(&basic("anyone", "t0ken"))).is_ok());
        assert!(auth.check(&with("Bearer wrong")).is_err());
        assert!(auth.check(&with(&basic("anyone", "wrong"))).is_err());
        assert!(auth.check(&TestRequest::default().to_http_request()).is_err());
    }

    #[test]
    fn basic_auth_checks_user_and_password_together() {
        let auth =
            Auth::Users(vec![("alice".to_owned(), "one".into()), ("bob".to_owned(), "two".into())]);
        let with = |value: String| {
            TestRequest::default().insert_header((header::AUTHORIZATION, value)).to_http_request()
        };
        assert!(auth.check(&with(basic("alice", "one"))).is_ok());
        assert!(auth.check(&with(basic("bob", "two"))).is_ok());
        assert!(auth.check(&with(basic("alice", "two"))).is_err());
        assert!(auth.check(&with("Basic !!!".to_owned())).is_err());
    }

    #[test]
    fn missing_secrets_are_configuration_errors() {
        let config = ServerConfig { auth: AuthMode::Token, ..ServerConfig::default() };
        assert!(Auth::from_config(&config).unwrap_err().contains("DURO_SERVER__TOKEN"));
        let config = ServerConfig { auth: AuthMode::Basic, ..ServerConfig::default() };
        assert!(Auth::from_config(&config).unwrap_err().contains("DURO_SERVER__USERS"));
    }

    #[test]
    fn auth_schemes_are_case_insensitive() {
        let token = Auth::Token("t0ken".into());
        let users = Auth::Users(vec![("alice".to_owned(), "one".into())]);
        let encoded = base64::engine::general_purpose::STANDARD.encode("alice:one");
        let token_as_password = base64::engine::general_purpose::STANDARD.encode("x:t0ken");
        for (auth, value, allowed) in [
            (&token, "Bearer t0ken".to_owned(), true),
            (&token, "bearer t0ken".to_owned(), true),
            (&token, "BEARER t0ken".to_owned(), true),
            (&token, "bEaReR   t0ken".to_owned(), true),
            (&token, format!("basic {token_as_password}"), true),
            (&token, "Bearert0ken".to_owned(), false),
            (&token, "Token t0ken".to_owned(), false),
            (&token, "bearer T0KEN".to_owned(), false),
            (&users, format!("Basic {encoded}"), true),
            (&users, format!("basic {encoded}"), true),
            (&users, format!("BASIC {encoded}"), true),
            (&users, format!("Basic{encoded}"), false),
            (&users, format!("Bearer {encoded}"), false),
        ] {
            let request = TestRequest::default()
                .insert_header((header::AUTHORIZATION, value.clone()))
                .to_http_request();
            assert_eq!(auth.check(&request).is_ok(), allowed, "{value}");
        }
    }

    #[test]
    fn reads_and_writes_ask_with_the_scheme_of_the_mode() {
        let anonymous = TestRequest::default().to_http_request();
        let token = Auth::Token("t0ken".into());
        let users = Auth::Users(vec![("alice".to_owned(), "one".into())]);
        for (auth, read, challenges) in [
            (&token, true, vec![BASIC_CHALLENGE, BEARER_CHALLENGE]),
            (&token, false, vec![BASIC_CHALLENGE, BEARER_CHALLENGE]),
            (&users, true, vec![BASIC_CHALLENGE]),
            (&users, false, vec![BASIC_CHALLENGE]),
        ] {
            let error = if read { auth.check_read(&anonymous) } else { auth.check(&anonymous) }
                .unwrap_err();
            assert_eq!(error.status.as_u16(), 401);
            assert_eq!(error.challenges, challenges.as_slice());
            let verb = if read { "reading" } else { "writing" };
            assert!(error.message.starts_with(verb), "{}", error.message);
        }
        assert!(Auth::Open.check_read(&anonymous).is_ok());
    }

    #[test]
    fn csrf_tokens_are_random_signed_and_checked_against_the_cookie() {
        let key = CsrfKey::random();
        let (first, cookie) = csrf_token(&TestRequest::default().to_http_request(), "/", &key);
        let (second, _) = csrf_token(&TestRequest::default().to_http_request(), "/", &key);
        assert_ne!(first, second);
        assert!(key.signed(&first) && key.signed(&second));
        let cookie = cookie.unwrap();
        assert!(cookie.http_only().unwrap());
        let request = TestRequest::default().cookie(cookie).to_http_request();
        assert_eq!(csrf_token(&request, "/", &key), (first.clone(), None));
        assert!(check_csrf(&request, &first, &key).is_ok());
        assert!(check_csrf(&request, &second, &key).is_err());
        assert!(check_csrf(&TestRequest::default().to_http_request(), &first, &key).is_err());
    }

    #[test]
    fn csrf_pairs_not_signed_by_this_key_are_refused() {
        let key = CsrfKey::random();
        let other = CsrfKey::random();
        let mine = key.issue();
        let theirs = other.issue();
        let (nonce, signature) = mine.split_once('.').unwrap();
        let flipped = format!(
            "{nonce}.{}{}",
            if signature.starts_with('0') { '1' } else { '0' },
            &signature[1..]
        );
        let upper = format!("{nonce}.{}", signature.to_uppercase());
        let plus = format!("{nonce}.+{}", &signature[1..]);
        for (token, signed) in [
            (mine.clone(), true),
            (theirs.clone(), false),
            (flipped, false),
            (plus, false),
            (upper, false),
            (nonce.to_owned(), false),
            (String::new(), false),
            ("0".repeat(32), false),
            (format!("{}.{}", "0".repeat(32), "0".repeat(64)), false),
            (format!("{}.{signature}", "0".repeat(32)), false),
        ] {
            let token = token.as_str();
            assert_eq!(key.signed(token), signed, "{token}");
            // The same value in the cookie and the field passes only when this key signed it.
            let request = TestRequest::default()
                .cookie(Cookie::new(CSRF_COOKIE, token.to_owned()))
                .to_http_request();
            let checked = check_csrf(&request, token, &key);
            assert_eq!(checked.is_ok(), signed, "{token}");
            if let Err(error) = checked {
                assert_eq!(error.status.as_u16(), 403);
                assert!(error.html);
                assert_eq!(error.message, "the page is out of date: reload the page and try again");
            }
        }
        // A page with a cookie from before a restart gets a new one.
        let request = TestRequest::default()
            .cookie(Cookie::new(CSRF_COOKIE, theirs.clone()))
            .to_http_request();
        let (fresh, cookie) = csrf_token(&request, "/", &key);
        assert!(key.signed(&fresh) && fresh != theirs && cookie.is_some());
    }

    #[test]
    fn the_csrf_cookie_is_secure_over_https() {
        let key = CsrfKey::random();
        for (forwarded, secure) in [
            (None, false),
            (Some("http"), false),
            (Some("https"), true),
            (Some("HTTPS"), true),
            (Some("https, http"), true),
            (Some("http, https"), false),
        ] {
            let mut request = TestRequest::default();
            if let Some(value) = forwarded {
                request = request.insert_header(("X-Forwarded-Proto", value));
            }
            let (_, cookie) = csrf_token(&request.to_http_request(), "/", &key);
            let cookie = cookie.unwrap();
            assert_eq!(cookie.secure().unwrap_or(false), secure, "{forwarded:?}");
            assert_eq!(cookie.same_site(), Some(SameSite::Strict));
        }
    }
}
