//! What every request handler shares: where the state file is, the path prefix, the write
//! credentials and the page templates. The state file is opened per request on a blocking
//! thread, so a slow disk never stalls the server's event loop.

use crate::errors::AppError;
use crate::security::Auth;
use crate::templates;
use actix_web::web;
use duro_core::config::Config;
use duro_core::state::StateFile;
use std::path::PathBuf;

pub struct ServerContext {
    pub state_path: PathBuf,
    /// `""` or a prefix like `/duro` (no trailing slash).
    pub base_path: String,
    pub auth: Auth,
    pub templates: tera::Tera,
}

impl ServerContext {
    /// From the configuration; `base_path` overrides `server.base_path` when given.
    pub fn new(config: &Config, base_path: Option<&str>) -> Result<Self, String> {
        let base_path = normalize_base_path(base_path.unwrap_or(&config.server.base_path))?;
        Ok(Self {
            state_path: config.state.path.clone(),
            base_path,
            auth: Auth::from_config(&config.server)?,
            templates: templates::load().map_err(|e| format!("page templates: {e}"))?,
        })
    }

    /// Runs `work` with the state file open, on a blocking thread.
    pub async fn with_state<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut StateFile) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let path = self.state_path.clone();
        web::block(move || {
            let mut state = StateFile::open(&path)?;
            work(&mut state)
        })
        .await
        .map_err(|e| AppError::internal(format!("the request's worker failed: {e}")))?
    }

    /// An absolute path inside the app: `/tables/` → `/duro/tables/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_path)
    }
}

/// `duro`, `/duro/` → `/duro`; `/` or empty → `""`. Only plain path characters are allowed.
pub fn normalize_base_path(text: &str) -> Result<String, String> {
    let trimmed = text.trim().trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let valid = trimmed.split('/').all(|segment| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
    });
    if valid {
        Ok(format!("/{trimmed}"))
    } else {
        Err(format!(
            "base path `{text}` must be a plain path like `/duro` (letters, digits, `-`, `_`, `.`, `~`)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_are_normalized_or_refused() {
        assert_eq!(normalize_base_path("").unwrap(), "");
        assert_eq!(normalize_base_path("/").unwrap(), "");
        assert_eq!(normalize_base_path("duro").unwrap(), "/duro");
        assert_eq!(normalize_base_path("/tools/duro/").unwrap(), "/tools/duro");
        for bad in ["/a b", "/a//b", "/../x", "/a\"b", "/<x>"] {
            assert!(normalize_base_path(bad).is_err(), "{bad}");
        }
    }
}
