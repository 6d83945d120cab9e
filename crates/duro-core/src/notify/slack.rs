//! Slack through slack-morphism: `chat.postMessage` with a bot token, or an incoming webhook
//! (the original Duro's way), each with a configurable address (so tests can point it at a
//! loopback listener). Synchronous for the caller: each message runs on a small current-thread
//! runtime, with a time limit.

use super::{Notifier, NotifyError};
use hyper_rustls::HttpsConnectorBuilder;
use slack_morphism::api::{SlackApiChatPostMessageRequest, SlackApiPostWebhookMessageResponse};
use slack_morphism::hyper_tokio::SlackClientHyperConnector;
use slack_morphism::{
    SlackApiToken, SlackApiTokenValue, SlackChannelId, SlackClient, SlackClientApiCallContext,
    SlackClientHttpConnector, SlackMessageContent,
};
use std::time::Duration;

/// How long one message may take before it is given up.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// How messages reach Slack.
enum Transport {
    /// `chat.postMessage` under `api_url` with a bot token.
    Bot { api_url: String, token: String },
    /// A POST of `{"text", "channel"}` to an incoming webhook's URL (a secret too).
    Webhook { url: String },
}

/// Posts messages to Slack.
pub struct SlackNotifier {
    transport: Transport,
}

/// An incoming webhook's body. Webhooks made for one channel ignore `channel`; legacy ones, as
/// the original Duro used, post to it.
#[derive(serde::Serialize)]
struct WebhookMessage<'a> {
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<&'a str>,
}

impl SlackNotifier {
    /// With a bot token; `api_url` like `https://slack.com/api` (a trailing `/` is fine).
    pub fn new(api_url: &str, token: &str) -> Self {
        let api_url = api_url.trim_end_matches('/').to_owned();
        Self { transport: Transport::Bot { api_url, token: token.to_owned() } }
    }

    /// With an incoming webhook's URL.
    pub fn webhook(url: &str) -> Self {
        Self { transport: Transport::Webhook { url: url.to_owned() } }
    }
}

impl std::fmt::Debug for SlackNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.transport {
            Transport::Bot { api_url, .. } => f
                .debug_struct("SlackNotifier")
                .field("api_url", api_url)
                .field("token", &"<redacted>")
                .finish(),
            Transport::Webhook { .. } => {
                f.debug_struct("SlackNotifier").field("webhook_url", &"<redacted>").finish()
            }
        }
    }
}

impl Notifier for SlackNotifier {
    fn needs_channel(&self) -> bool {
        matches!(self.transport, Transport::Bot { .. })
    }

    fn send(&self, channel: Option<&str>, text: &str) -> Result<(), NotifyError> {
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
            let connector = SlackClientHyperConnector::with_connector(https);
            let sent = match &self.transport {
                Transport::Bot { api_url, token } => {
                    let Some(channel) = channel else {
                        return Err(NotifyError::Client("a bot token needs a channel".to_owned()));
                    };
                    let client = SlackClient::new(connector.with_slack_api_url(api_url));
                    let token = SlackApiToken::new(SlackApiTokenValue::new(token.clone()));
                    let request = SlackApiChatPostMessageRequest::new(
                        SlackChannelId::new(channel.to_owned()),
                        SlackMessageContent::new().with_text(text.to_owned()),
                    );
                    let session = client.open_session(&token);
                    tokio::time::timeout(SEND_TIMEOUT, session.chat_post_message(&request))
                        .await
                        .map(|result| result.map(drop))
                }
                Transport::Webhook { url } => {
                    let url = url.parse().map_err(|_| {
                        NotifyError::Client("slack.webhook_url is not a URL".to_owned())
                    })?;
                    let span = tracing::debug_span!("Slack webhook");
                    let context = SlackClientApiCallContext {
                        rate_control_params: None,
                        token: None,
                        tracing_span: &span,
                        is_sensitive_url: true,
                    };
                    let message = WebhookMessage { text, channel };
                    let post = connector.http_post_uri::<_, SlackApiPostWebhookMessageResponse>(
                        url, &message, context,
                    );
                    tokio::time::timeout(SEND_TIMEOUT, post).await.map(|result| result.map(drop))
                }
            };
            match sent {
                Ok(Ok(())) => Ok(()),
                Ok(Err(error)) => Err(NotifyError::Refused(error.to_string())),
                Err(_) => Err(NotifyError::Timeout(SEND_TIMEOUT.as_secs())),
            }
        })
    }
}
