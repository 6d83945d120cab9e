//! Notifications: build failures, per-cycle summaries of built tables, and the scheduler's
//! results, sent through a [`Notifier`] (Slack in production). Identical failures are not sent
//! again before `slack.repeat_after` (remembered in the state file, so across processes too).
//! Sending never fails a build: problems are logged.

mod slack;

pub use slack::SlackNotifier;

use crate::build::{BuiltTable, FailureClass};
use crate::config::SlackConfig;
use crate::state::StateFile;
use std::path::{Path, PathBuf};

/// Where messages go.
pub trait Notifier: Send + Sync {
    fn send(&self, channel: &str, text: &str) -> Result<(), NotifyError>;
}

/// Why a message was not delivered (logged; it never fails a build).
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("cannot start the Slack client: {0}")]
    Client(String),
    #[error("Slack refused the message: {0}")]
    Refused(String),
    #[error("Slack did not answer within {0} s")]
    Timeout(u64),
}

/// The messages Duro sends, with the channels and repeat rule of the configuration.
pub struct Notifications {
    notifier: Option<Box<dyn Notifier>>,
    config: SlackConfig,
    state_path: PathBuf,
}

impl Notifications {
    /// Slack when a token is configured; otherwise notifications are off.
    pub fn from_config(config: &SlackConfig, state_path: &Path) -> Self {
        let notifier: Option<Box<dyn Notifier>> = config.token.as_ref().map(|token| {
            Box::new(SlackNotifier::new(&config.api_url, token.expose())) as Box<dyn Notifier>
        });
        Self::with_notifier(notifier, config.clone(), state_path)
    }

    pub fn with_notifier(
        notifier: Option<Box<dyn Notifier>>,
        config: SlackConfig,
        state_path: &Path,
    ) -> Self {
        Self { notifier, config, state_path: state_path.to_owned() }
    }

    /// The link to a table's page in the web UI, when `slack.ui_url` is set.
    fn table_link(&self, table: &str) -> String {
        match &self.config.ui_url {
            Some(base) => format!(" <{}/tables/{table}|details>", base.trim_end_matches('/')),
            None => String::new(),
        }
    }

    fn send(&self, channel: Option<&str>, text: &str) {
        let (Some(notifier), Some(channel)) = (&self.notifier, channel) else {
            return;
        };
        if let Err(error) = notifier.send(channel, text) {
            tracing::warn!("could not notify Slack: {error}");
        }
    }

    /// A failed build, to `failure_channel`; not repeated for `repeat_after` while identical.
    pub fn build_failed(&self, table: &str, class: FailureClass, message: &str) {
        if self.notifier.is_none() || self.config.failure_channel.is_none() {
            return;
        }
        let fingerprint = format!("build:{table}:{class}:{message}");
        if !self.first_in_window(&fingerprint) {
            tracing::debug!("not repeating the Slack message about {table}");
            return;
        }
        let text = format!(":x: *{table}* failed ({class}): {message}{}", self.table_link(table));
        self.send(self.config.failure_channel.as_deref(), &text);
    }

    /// The tables built in a cycle, to `success_channel`.
    pub fn cycle_built(&self, built: &[BuiltTable]) {
        if built.is_empty() {
            return;
        }
        let lines: Vec<String> = built
            .iter()
            .map(|built| {
                format!(
                    "• {}: {} rows in {:.1} s",
                    built.table,
                    built.rows,
                    built.ms as f64 / 1000.0
                )
            })
            .collect();
        let text =
            format!(":white_check_mark: Built {} table(s):\n{}", built.len(), lines.join("\n"));
        self.send(self.config.success_channel.as_deref(), &text);
    }

    /// The scheduler's new/updated/removed tables, to `success_channel`.
    pub fn rescheduled(&self, summary: &str) {
        self.send(
            self.config.success_channel.as_deref(),
            &format!(":calendar: Rescheduled views. {summary}"),
        );
    }

    /// The scheduler's errors, to `failure_channel`; not repeated for `repeat_after` while identical.
    pub fn schedule_failed(&self, errors: &str) {
        if self.notifier.is_none() || !self.first_in_window(&format!("schedule:{errors}")) {
            return;
        }
        self.send(
            self.config.failure_channel.as_deref(),
            &format!(":x: Duro could not schedule the views:\n{errors}"),
        );
    }

    /// Whether this fingerprint was not sent within `repeat_after`; records it as sent now.
    fn first_in_window(&self, fingerprint: &str) -> bool {
        let now_ms = crate::clock::now_ms();
        let repeat_after_ms =
            i64::try_from(self.config.repeat_after.as_millis()).unwrap_or(i64::MAX);
        match StateFile::open(&self.state_path)
            .and_then(|mut s| s.claim_notification(fingerprint, now_ms, repeat_after_ms))
        {
            Ok(first) => first,
            Err(error) => {
                tracing::warn!("cannot check notification repeats: {error}");
                true
            }
        }
    }
}
