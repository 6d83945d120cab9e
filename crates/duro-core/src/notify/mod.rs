//! Notifications: build failures, per-cycle summaries of built tables, the scheduler's results
//! and a periodic "I'm working" message with the period's figures, sent through a [`Notifier`]
//! (Slack in production, with a bot token or an incoming webhook). Identical failures are not
//! sent again before `slack.repeat_after`, and the periodic message goes out once per
//! `slack.log_every`: both are remembered in the state file, so across processes too. Sending
//! never fails a build: problems are logged.

mod slack;

pub use slack::SlackNotifier;

use crate::build::{BuildOutcome, BuiltTable, FailureClass};
use crate::config::{SlackConfig, SlackPurpose};
use crate::state::{PeriodStats, StateFile};
use std::path::{Path, PathBuf};

/// Where messages go.
pub trait Notifier: Send + Sync {
    /// Sends `text` to `channel`, or where the notifier posts by default when `None`.
    fn send(&self, channel: Option<&str>, text: &str) -> Result<(), NotifyError>;

    /// Whether a message needs a channel (a bot token does; a webhook has its own).
    fn needs_channel(&self) -> bool {
        true
    }
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
    /// Slack when a token or a webhook is configured; otherwise notifications are off.
    pub fn from_config(config: &SlackConfig, state_path: &Path) -> Self {
        let notifier: Option<Box<dyn Notifier>> = match (&config.token, &config.webhook_url) {
            (Some(token), _) => Some(Box::new(SlackNotifier::new(&config.api_url, token.expose()))),
            (None, Some(url)) => Some(Box::new(SlackNotifier::webhook(url.expose()))),
            (None, None) => None,
        };
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

    /// Where a message about `purpose` goes: `None` when it goes nowhere (Slack off, or no
    /// channel for a notifier that needs one); `Some(None)` for a webhook's own channel.
    fn destination(&self, purpose: SlackPurpose) -> Option<(&dyn Notifier, Option<&str>)> {
        let notifier = self.notifier.as_deref()?;
        let channel = self.config.channel_for(purpose);
        if channel.is_none() && notifier.needs_channel() {
            return None;
        }
        Some((notifier, channel))
    }

    fn send(&self, purpose: SlackPurpose, text: &str) {
        let Some((notifier, channel)) = self.destination(purpose) else {
            return;
        };
        if let Err(error) = notifier.send(channel, text) {
            tracing::warn!("could not notify Slack: {error}");
        }
    }

    /// A failed build, to the failure channel; not repeated for `repeat_after` while identical.
    pub fn build_failed(&self, table: &str, class: FailureClass, message: &str) {
        if self.destination(SlackPurpose::Failure).is_none() {
            return;
        }
        let fingerprint = format!("build:{table}:{class}:{message}");
        if !self.first_in_window(&fingerprint) {
            tracing::debug!("not repeating the Slack message about {table}");
            return;
        }
        let text = format!(":x: *{table}* failed ({class}): {message}{}", self.table_link(table));
        self.send(SlackPurpose::Failure, &text);
    }

    /// The tables built in a cycle, to the success channel.
    pub fn cycle_built(&self, built: &[BuiltTable]) {
        if built.is_empty() {
            return;
        }
        let lines: Vec<String> = built
            .iter()
            .map(|built| match built.outcome {
                BuildOutcome::Unchanged => {
                    format!("• {}: nothing new ({:.1} s)", built.table, built.ms as f64 / 1000.0)
                }
                _ => format!(
                    "• {}: {} rows in {:.1} s",
                    built.table,
                    built.rows,
                    built.ms as f64 / 1000.0
                ),
            })
            .collect();
        let text =
            format!(":white_check_mark: Built {} table(s):\n{}", built.len(), lines.join("\n"));
        self.send(SlackPurpose::Success, &text);
    }

    /// The scheduler's new/updated/removed tables, to the success channel.
    pub fn rescheduled(&self, summary: &str) {
        self.send(SlackPurpose::Success, &format!(":calendar: Rescheduled views. {summary}"));
    }

    /// The scheduler's errors, to the failure channel; not repeated for `repeat_after` while
    /// identical.
    pub fn schedule_failed(&self, errors: &str) {
        if self.destination(SlackPurpose::Failure).is_none()
            || !self.first_in_window(&format!("schedule:{errors}"))
        {
            return;
        }
        self.send(
            SlackPurpose::Failure,
            &format!(":x: Duro could not schedule the views:\n{errors}"),
        );
    }

    /// The periodic "I'm working" message with the figures of the last `log_every`, to the log
    /// channel (`log_channel`, else `channel`; never a webhook's own channel, so it is asked
    /// for). Sent when this process claims the period in the state file, so once per period
    /// whatever the number of creators; returns whether it was sent.
    pub fn periodic_report(&self, now_ms: i64) -> bool {
        let Some((_, Some(_))) = self.destination(SlackPurpose::Log) else {
            return false;
        };
        let every_ms = i64::try_from(self.config.log_every.as_millis()).unwrap_or(i64::MAX);
        let figures = StateFile::open(&self.state_path).and_then(|mut state| {
            if !state.claim_period("slack_log", now_ms, every_ms)? {
                return Ok(None);
            }
            state.period_stats(now_ms.saturating_sub(every_ms), now_ms).map(Some)
        });
        let stats = match figures {
            Ok(Some(stats)) => stats,
            Ok(None) => return false,
            Err(error) => {
                tracing::warn!("cannot prepare the periodic Slack message: {error}");
                return false;
            }
        };
        let text = working_message(&stats, self.config.log_every.as_secs(), every_ms);
        self.send(SlackPurpose::Log, &text);
        true
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

/// "I'm working!" with a period's figures, as the original's `slack_log.py` meant it.
fn working_message(stats: &PeriodStats, every_seconds: u64, every_ms: i64) -> String {
    let period = match u32::try_from(every_seconds / 60) {
        Ok(minutes) if every_seconds.is_multiple_of(60) => crate::interval::format_minutes(minutes),
        _ => format!("{every_seconds}s"),
    };
    format!(
        ":white_check_mark: I'm working! In the last {period}: {} tables built, {} builds, {} failed. {}% of the time spent building.",
        stats.tables_built,
        stats.builds,
        stats.failures,
        stats.load_percent(every_ms)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_working_message_names_the_period_and_its_figures() {
        let stats = PeriodStats { tables_built: 3, builds: 5, failures: 1, busy_ms: 4_320_000 };
        assert_eq!(
            working_message(&stats, 86_400, 86_400_000),
            ":white_check_mark: I'm working! In the last 1d: 3 tables built, 5 builds, 1 failed. 5% of the time spent building."
        );
        assert!(working_message(&stats, 90, 90_000).contains("In the last 90s:"));
    }
}
