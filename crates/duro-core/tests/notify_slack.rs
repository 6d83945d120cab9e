//! Slack notifications against a loopback HTTP listener that captures the requests: the request
//! slack-morphism sends (path, token, channel, text) with a bot token or to an incoming webhook,
//! channel fallback, repeat suppression, the periodic log message (once per period whatever the
//! number of senders), and an outage that only logs.

use duro_core::build::{BuiltTable, FailureClass};
use duro_core::config::SlackConfig;
use duro_core::notify::{Notifications, Notifier, SlackNotifier};
use duro_core::testing::http::{Captured, answering};
use std::net::TcpListener;
use std::sync::mpsc::Receiver;
use std::time::Duration;

/// Listens on a free loopback port; answers every request like Slack's `chat.postMessage`.
fn listener() -> (String, Receiver<Captured>) {
    let (address, requests) = answering(
        "200 OK",
        "application/json",
        r#"{"ok":true,"channel":"C1","ts":"1.2","message":{"ts":"1.2"}}"#,
    );
    (format!("{address}/api/"), requests)
}

#[test]
fn chat_post_message_carries_channel_text_and_token() {
    let (url, requests) = listener();
    SlackNotifier::new(&url, "xoxb-test-token")
        .send(Some("#data-alerts"), "first.cities failed")
        .unwrap();
    let request = requests.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(request.request_line, "POST /api/chat.postMessage HTTP/1.1");
    assert_eq!(request.header("authorization"), Some("Bearer xoxb-test-token"));
    let body: serde_json::Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body["channel"], "#data-alerts");
    assert_eq!(body["text"], "first.cities failed");
}

#[test]
fn identical_failures_are_not_repeated_within_the_window() {
    let (url, requests) = listener();
    let state = tempfile::tempdir().unwrap();
    let config = SlackConfig {
        api_url: url.clone(),
        token: Some("xoxb-t".into()),
        failure_channel: Some("#alerts".into()),
        success_channel: Some("#builds".into()),
        ui_url: Some("https://duro.example.com/".into()),
        ..SlackConfig::default()
    };
    let notifications = Notifications::from_config(&config, &state.path().join("duro.db"));
    notifications.build_failed("first.cities", FailureClass::TestFailed, "tests failed");
    notifications.build_failed("first.cities", FailureClass::TestFailed, "tests failed");
    notifications.build_failed("first.cities", FailureClass::Timeout, "took too long");
    notifications.cycle_built(&[shops_built()]);
    let bodies: Vec<serde_json::Value> = (0..3)
        .map(|_| {
            serde_json::from_str(&requests.recv_timeout(Duration::from_secs(10)).unwrap().body)
                .unwrap()
        })
        .collect();
    assert!(
        requests.recv_timeout(Duration::from_millis(300)).is_err(),
        "the repeated failure was sent again"
    );
    assert_eq!(bodies[0]["channel"], "#alerts");
    let text = bodies[0]["text"].as_str().unwrap();
    assert!(text.contains("first.cities") && text.contains("test_failed"), "{text}");
    assert!(text.contains("https://duro.example.com/tables/first.cities"), "{text}");
    assert!(bodies[1]["text"].as_str().unwrap().contains("timeout"));
    assert_eq!(bodies[2]["channel"], "#builds");
    assert!(bodies[2]["text"].as_str().unwrap().contains("first.shops: 8 rows"));
}

#[test]
fn an_outage_is_an_error_not_a_panic() {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let error =
        SlackNotifier::new(&format!("http://{closed}/api"), "t").send(Some("#c"), "x").unwrap_err();
    assert!(error.to_string().contains("Slack"), "{error}");
    let state = tempfile::tempdir().unwrap();
    let config = SlackConfig {
        api_url: format!("http://{closed}/api"),
        token: Some("t".into()),
        failure_channel: Some("#c".into()),
        ..SlackConfig::default()
    };
    Notifications::from_config(&config, &state.path().join("duro.db")).build_failed(
        "s.t",
        FailureClass::SqlError,
        "boom",
    );
}

fn body(requests: &Receiver<Captured>) -> serde_json::Value {
    serde_json::from_str(&requests.recv_timeout(Duration::from_secs(10)).unwrap().body).unwrap()
}

/// The original Duro's way: an incoming webhook, `channel` as the fallback of the others, and
/// the webhook's own channel when none is set. Slack answers a webhook with a plain `ok`.
#[test]
fn webhooks_post_text_and_channel_with_the_fallback() {
    let (address, requests) = answering("200 OK", "text/html", "ok");
    let state = tempfile::tempdir().unwrap();
    let config = SlackConfig {
        webhook_url: Some(format!("{address}/services/T0/B0/XYZ").into()),
        channel: Some("#duro".into()),
        failure_channel: Some("#alerts".into()),
        ..SlackConfig::default()
    };
    let notifications = Notifications::from_config(&config, &state.path().join("duro.db"));
    notifications.build_failed("first.cities", FailureClass::TestFailed, "tests failed");
    let request = requests.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(request.request_line, "POST /services/T0/B0/XYZ HTTP/1.1");
    assert_eq!(request.header("authorization"), None);
    let failure: serde_json::Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(failure["channel"], "#alerts");
    assert!(failure["text"].as_str().unwrap().contains("*first.cities* failed (test_failed)"));
    notifications.cycle_built(&[shops_built()]);
    assert_eq!(body(&requests)["channel"], "#duro");

    let own_channel = SlackConfig {
        webhook_url: Some(format!("{address}/services/T0/B0/XYZ").into()),
        ..SlackConfig::default()
    };
    Notifications::from_config(&own_channel, &state.path().join("duro.db"))
        .rescheduled("New tables: s.a.");
    let message = body(&requests);
    assert_eq!(message.get("channel"), None, "{message}");
    assert_eq!(message["text"], ":calendar: Rescheduled views. New tables: s.a.");
}

/// A refusing webhook is an error that does not show its URL (a secret).
#[test]
fn a_refused_webhook_hides_its_url() {
    let (address, _requests) = answering("404 Not Found", "text/html", "no_service");
    let error = SlackNotifier::webhook(&format!("{address}/services/T0/B0/SECRETPART"))
        .send(Some("#c"), "x")
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("Slack refused the message"), "{error}");
    assert!(!error.contains("SECRETPART"), "{error}");
}

/// The "I'm working" message: the figures of the period, to `log_channel` (else `channel`),
/// once per `log_every` however many creators ask; none without a log channel.
#[test]
fn the_periodic_message_goes_out_once_per_period() {
    use duro_core::build::BuildOutcome;
    use duro_core::state::StateFile;
    use duro_core::testing::record_build;
    let (address, requests) = answering("200 OK", "text/html", "ok");
    let state_dir = tempfile::tempdir().unwrap();
    let state_path = state_dir.path().join("duro.db");
    let now = 1_800_000_000_000_i64;
    let hour = 3_600_000;
    let mut state = StateFile::open(&state_path).unwrap();
    for (table, start, outcome) in [
        ("s.a", now - 2 * hour, BuildOutcome::Succeeded),
        ("s.a", now - hour, BuildOutcome::Succeeded),
        ("s.b", now - hour, BuildOutcome::Failed),
        ("s.c", now - 30 * hour, BuildOutcome::Succeeded),
    ] {
        record_build(&mut state, table, start, start + 36_000, outcome);
    }
    let config = SlackConfig {
        webhook_url: Some(format!("{address}/services/T0/B0/XYZ").into()),
        channel: Some("#duro".into()),
        log_channel: Some("#duro-log".into()),
        ..SlackConfig::default()
    };
    let creators: Vec<Notifications> =
        (0..2).map(|_| Notifications::from_config(&config, &state_path)).collect();
    let sent: Vec<bool> = creators.iter().map(|c| c.periodic_report(now)).collect();
    assert_eq!(sent, [true, false]);
    let message = body(&requests);
    assert_eq!(message["channel"], "#duro-log");
    assert_eq!(
        message["text"],
        ":white_check_mark: I'm working! In the last 1d: 1 tables built, 3 builds, 1 failed. 0.13% of the time spent building."
    );
    assert!(!creators[1].periodic_report(now + 23 * hour), "sent twice in one period");
    assert!(creators[1].periodic_report(now + 24 * hour));
    assert!(body(&requests)["text"].as_str().unwrap().contains("0 tables built, 0 builds"));

    // Without `log_channel`, `channel` receives it; without either, nothing is sent.
    let fallback = SlackConfig { log_channel: None, log_every: Duration::from_secs(60), ..config };
    assert!(Notifications::from_config(&fallback, &state_path).periodic_report(now + 25 * hour));
    assert_eq!(body(&requests)["channel"], "#duro");
    let silent = SlackConfig { channel: None, ..fallback };
    assert!(!Notifications::from_config(&silent, &state_path).periodic_report(now + 26 * hour));
    assert!(requests.recv_timeout(Duration::from_millis(300)).is_err());
}

/// `first.shops` built: 8 rows in 1.5 s.
fn shops_built() -> BuiltTable {
    BuiltTable {
        table: "first.shops".into(),
        rows: 8,
        ms: 1_500,
        outcome: duro_core::build::BuildOutcome::Succeeded,
        message: None,
    }
}
