//! What every request handler shares: where the state file is, the path prefix, the
//! credentials, the key that signs CSRF tokens and the page templates. The state file is opened
//! per request on a blocking thread, so a slow disk never stalls the server's event loop;
//! `ServerContext::read` hands a handler's work the table overview with it.

use crate::errors::AppError;
use crate::graph_svg::{self, Layout, Node};
use crate::memo::Memo;
use crate::model::Stats;
use crate::queries;
use crate::queries::Overview;
use crate::security::{Auth, CsrfKey};
use crate::templates;
use actix_web::web;
use duro_core::config::Config;
use duro_core::plan::Planner;
use duro_core::state::{StateFile, TableActivity, TableSummary};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// How long the header's 24-hour figures are reused before they are computed again.
pub(crate) const STATS_TTL_MS: i64 = 10_000;
/// How long the table overview is reused while the state file is unchanged (statuses like
/// "due" move with the clock, so not forever).
pub(crate) const OVERVIEW_TTL_MS: i64 = 5_000;
/// Page cache per pooled state-file connection.
const CACHE_MIB: u32 = 64;

/// What `ServerContext::read` hands its work: the state file, the overview of every table at
/// `now_ms`, and the header figures on demand.
pub struct View<'a> {
    pub state: &'a mut StateFile,
    pub overview: Arc<Overview>,
    pub now_ms: i64,
    context: &'a ServerContext,
}

impl View<'_> {
    /// The header's figures at `now_ms` (see `ServerContext::header_stats`).
    pub fn header_stats(&self) -> Result<Stats, AppError> {
        self.context.header_stats(self.state, self.now_ms)
    }
}

pub struct ServerContext {
    pub state_path: PathBuf,
    /// `""` or a prefix like `/duro` (no trailing slash).
    pub base_path: String,
    pub auth: Auth,
    /// Whether reads need the credentials too (`server.read_auth`).
    pub read_auth: bool,
    /// Signs the CSRF tokens; drawn at start, so a restart makes open pages out of date.
    pub csrf_key: CsrfKey,
    pub templates: tera::Tera,
    /// Open state-file connections, reused so their page caches stay warm.
    connections: Arc<Mutex<Vec<StateFile>>>,
    /// The header figures, by the time they were computed.
    stats: Memo<i64, Stats>,
    /// A connection that only watches the file's `data_version`.
    watcher: Mutex<Option<StateFile>>,
    /// The last overview, by the `data_version` and time it was read at.
    overview: Memo<(i64, i64), Arc<Overview>>,
    /// The planner for the last catalog seen, by `queries::catalog_fingerprint`.
    planner: Memo<u64, Arc<Planner>>,
    /// The last graph layout, by a hash of its names and edges.
    graph: Memo<u64, Arc<Layout>>,
}

impl ServerContext {
    /// From the configuration; `base_path` overrides `server.base_path` when given.
    pub fn new(config: &Config, base_path: Option<&str>) -> Result<Self, String> {
        let base_path = normalize_base_path(base_path.unwrap_or(&config.server.base_path))?;
        let auth = Auth::from_config(&config.server)?;
        if config.server.read_auth && auth.is_open() {
            return Err("server.read_auth needs server.auth (`token` or `basic`)".to_owned());
        }
        Ok(Self {
            state_path: config.state.path.clone(),
            base_path,
            auth,
            read_auth: config.server.read_auth,
            csrf_key: CsrfKey::random(),
            templates: templates::load().map_err(|e| format!("page templates: {e}"))?,
            connections: Arc::new(Mutex::new(Vec::new())),
            stats: Memo::new(),
            watcher: Mutex::new(None),
            overview: Memo::new(),
            planner: Memo::new(),
            graph: Memo::new(),
        })
    }

    /// Runs `work` with the state file open, on a blocking thread. Connections are pooled;
    /// one that saw an error is dropped rather than reused.
    pub async fn with_state<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut StateFile) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let connections = self.connections.clone();
        let path = self.state_path.clone();
        web::block(move || {
            let pooled = connections.lock().ok().and_then(|mut pool| pool.pop());
            let mut state = match pooled {
                Some(state) => state,
                None => {
                    let state = StateFile::open(&path)?;
                    state.set_cache_mib(CACHE_MIB)?;
                    state
                }
            };
            let result = work(&mut state);
            if result.is_ok()
                && let Ok(mut pool) = connections.lock()
            {
                pool.push(state);
            }
            result
        })
        .await
        .map_err(|e| AppError::internal(format!("the request's worker failed: {e}")))?
    }

    /// Runs `work` like `with_state`, with the overview of every table at `now_ms` read first
    /// (see `overview`).
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        now_ms: i64,
        work: impl FnOnce(View<'_>) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let shared = Arc::clone(self);
        self.with_state(move |state| {
            let overview = shared.overview(state, now_ms)?;
            work(View { state, overview, now_ms, context: &shared })
        })
        .await
    }

    /// The header's figures for the last 24 hours, reused for `STATS_TTL_MS`.
    pub fn header_stats(&self, state: &StateFile, now_ms: i64) -> Result<Stats, AppError> {
        self.stats.get_or(
            now_ms,
            |at| (*at..*at + STATS_TTL_MS).contains(&now_ms),
            || queries::stats(state, now_ms),
        )
    }

    /// Every listed table with its status, reused while the state file is unchanged (for at
    /// most `OVERVIEW_TTL_MS`). Any commit by another connection, the server's own force
    /// requests included, makes the next call read it again.
    fn overview(&self, state: &StateFile, now_ms: i64) -> Result<Arc<Overview>, AppError> {
        // Without a version (the watcher cannot read the file), nothing is reused.
        let version = self.data_version();
        self.overview.get_or(
            (version.unwrap_or(-1), now_ms),
            |(seen, at)| version == Some(*seen) && (*at..*at + OVERVIEW_TTL_MS).contains(&now_ms),
            || {
                let tables = state.table_overview(now_ms)?;
                let planner = self.planner(&tables);
                Ok(Arc::new(queries::overview(tables, planner, now_ms)))
            },
        )
    }

    /// The planner for this catalog: the last one when the catalog is unchanged.
    fn planner(&self, tables: &[(TableSummary, TableActivity)]) -> Arc<Planner> {
        let fingerprint = queries::catalog_fingerprint(tables);
        self.planner.get(
            fingerprint,
            |seen| *seen == fingerprint,
            || Arc::new(Planner::new(&duro_core::status::plan_tables(tables))),
        )
    }

    /// The layout of this graph: the last one when the names and edges are unchanged (laying
    /// out hundreds of tables takes a while).
    pub fn graph_layout(&self, nodes: &[Node], edges: &[(usize, usize)]) -> Arc<Layout> {
        use std::hash::{Hash, Hasher};
        let names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (&names, edges).hash(&mut hasher);
        let key = hasher.finish();
        self.graph.get(key, |seen| *seen == key, || Arc::new(graph_svg::layout(&names, edges)))
    }

    /// The watcher connection's view of the file's version; `None` when it cannot be read.
    fn data_version(&self) -> Option<i64> {
        let mut watcher = self.watcher.lock().ok()?;
        if watcher.is_none() {
            *watcher = StateFile::open(&self.state_path).ok();
        }
        let version = watcher.as_ref()?.data_version();
        if version.is_err() {
            *watcher = None;
        }
        version.ok()
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
