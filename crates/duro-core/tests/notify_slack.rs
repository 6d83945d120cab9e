//! Slack notifications against a loopback HTTP listener that captures the requests: the request
//! slack-morphism sends (path, token, channel, text), repeat suppression, and an outage that
//! only logs.

use duro_core::build::{BuiltTable, FailureClass};
use duro_core::config::SlackConfig;
use duro_core::notify::{Notifications, Notifier, SlackNotifier};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// A captured request: the request line, the headers (lower-cased names) and the body.
#[derive(Debug)]
struct Captured {
    request_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Captured {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Listens on a free loopback port; answers every request like Slack's `chat.postMessage`.
fn listener() -> (String, Receiver<Captured>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let (sender, receiver) = channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                headers.push((name.trim().to_lowercase(), value.trim().to_owned()));
            }
            let length: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .map(|(_, v)| v.parse().unwrap())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let response = r#"{"ok":true,"channel":"C1","ts":"1.2","message":{"ts":"1.2"}}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{response}",
                response.len()
            );
            let _ = sender.send(Captured {
                request_line: request_line.trim_end().to_owned(),
                headers,
                body: String::from_utf8(body).unwrap(),
            });
        }
    });
    (format!("http://{address}/api/"), receiver)
}

#[test]
fn chat_post_message_carries_channel_text_and_token() {
    let (url, requests) = listener();
    SlackNotifier::new(&url, "xoxb-test-token")
        .send("#data-alerts", "first.cities failed")
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
    notifications.cycle_built(&[BuiltTable { table: "first.shops".into(), rows: 8, ms: 1_500 }]);
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
        SlackNotifier::new(&format!("http://{closed}/api"), "t").send("#c", "x").unwrap_err();
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
