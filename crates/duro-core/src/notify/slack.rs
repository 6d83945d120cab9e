//! Slack through slack-morphism's `chat.postMessage`, with a configurable API base URL (so tests
//! can point it at a loopback listener). Synchronous for the caller: each message runs on a
//! small current-thread runtime, with a time limit.

use super::{Notifier, NotifyError};
use hyper_rustls::HttpsConnectorBuilder;
use slack_morphism::api::SlackApiChatPostMessageRequest;
use slack_morphism::hyper_tokio::SlackClientHyperConnector;
use slack_morphism::{
    SlackApiToken, SlackApiTokenValue, SlackChannelId, SlackClient, SlackMessageContent,
};
use std::time::Duration;

/// How long one message may take before it is given up.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Posts messages with a bot token.
pub struct SlackNotifier {
    api_url: String,
    token: String,
}

impl SlackNotifier {
    /// `api_url` like `https://slack.com/api` (a trailing `/` is fine).
    pub fn new(api_url: &str, token: &str) -> Self {
        Self { api_url: api_url.trim_end_matches('/').to_owned(), token: token.to_owned() }
    }
}

impl std::fmt::Debug for SlackNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackNotifier")
            .field("api_url", &self.api_url)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl Notifier for SlackNotifier {
    fn send(&self, channel: &str, text: &str) -> Result<(), NotifyError> {
        crate::crypto::install_provider();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| NotifyError::Client(e.to_string()))?;
        runtime.block_on(async {
            let https = HttpsConnectorBuilder::new()
                .with_native_roots()
                .map_err(|e| {
                    NotifyError::Client(format!("cannot load TLS root certificates: {e}"))
                })?
                .https_or_http()
                .enable_http1()
                .enable_http2()
                .build();
            let connector =
                SlackClientHyperConnector::with_connector(https).with_slack_api_url(&self.api_url);
            let client = SlackClient::new(connector);
            let token = SlackApiToken::new(SlackApiTokenValue::new(self.token.clone()));
            let session = client.open_session(&token);
            let request = SlackApiChatPostMessageRequest::new(
                SlackChannelId::new(channel.to_owned()),
                SlackMessageContent::new().with_text(text.to_owned()),
            );
            match tokio::time::timeout(SEND_TIMEOUT, session.chat_post_message(&request)).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(error)) => Err(NotifyError::Refused(error.to_string())),
                Err(_) => Err(NotifyError::Timeout(SEND_TIMEOUT.as_secs())),
            }
        })
    }
}
