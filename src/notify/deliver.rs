//! One delivery attempt to one receiver, and how receivers are named in logs and in
//! `--status` without their secrets (a Slack webhook's path is its password).

use super::alertmanager;
use super::config::WebhookFormat;
use super::http::HttpTarget;
use super::notice::Notice;
use super::webhook;

/// Most characters of a receiver's error reply kept for the log.
const REPLY_SHOWN_CHARS: usize = 200;

/// Where notices go.
#[derive(Debug, Clone)]
pub enum Receiver {
    /// An Alertmanager (its base URL); gets batches of alerts.
    Alertmanager(HttpTarget),
    /// A webhook; gets one alert per request.
    Webhook(HttpTarget, WebhookFormat),
}

impl Receiver {
    /// Notices one attempt carries at most.
    pub fn batch_max(&self) -> usize {
        match self {
            Self::Alertmanager(_) => alertmanager::BATCH_MAX,
            Self::Webhook(..) => 1,
        }
    }

    /// True when a newer notice of the same alert replaces a waiting one: Alertmanager
    /// wants the latest state of each alert; a webhook wants every transition.
    pub fn dedups(&self) -> bool {
        matches!(self, Self::Alertmanager(_))
    }

    /// `alertmanager http://127.0.0.1:9093/` or `webhook slack https://hooks.example/…`:
    /// no user, password or query, and a webhook's path is left out.
    pub fn name(&self) -> String {
        match self {
            Self::Alertmanager(t) => format!("alertmanager {}", shown_url(&t.url, true)),
            Self::Webhook(t, format) => {
                let format = match format {
                    WebhookFormat::Slack => "slack",
                    WebhookFormat::Json => "json",
                };
                format!("webhook {format} {}", shown_url(&t.url, false))
            }
        }
    }

    /// One attempt with `batch` (at most `batch_max` notices).
    pub async fn send(&self, batch: &[&Notice]) -> Result<(), String> {
        match self {
            Self::Alertmanager(t) => alertmanager::post(t, batch).await,
            Self::Webhook(t, format) => {
                for notice in batch {
                    webhook::post(t, *format, notice).await?;
                }
                Ok(())
            }
        }
    }
}

fn shown_url(url: &reqwest::Url, with_path: bool) -> String {
    let mut shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        shown.push_str(&format!(":{port}"));
    }
    match (with_path, url.path()) {
        (true, path) => shown.push_str(path),
        (false, "" | "/") => shown.push('/'),
        (false, _) => shown.push_str("/…"),
    }
    shown
}

/// POSTs `body` as JSON; any reply but 2xx is an error with its status and start.
pub(super) async fn post_json(
    target: &HttpTarget,
    url: reqwest::Url,
    body: &serde_json::Value,
) -> Result<(), String> {
    let reply = target
        .request(reqwest::Method::POST, url)
        .json(body)
        .send()
        .await
        .map_err(describe)?;
    let status = reply.status();
    if status.is_success() {
        return Ok(());
    }
    let text = reply.text().await.unwrap_or_default();
    let text: String = text.trim().chars().take(REPLY_SHOWN_CHARS).collect();
    Err(if text.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {text}")
    })
}

/// The error and its causes on one line, without the URL (it may hold a secret).
pub(crate) fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::{NotifyConfig, NotifySettings};

    #[test]
    fn names_leave_secrets_out() {
        let config: NotifyConfig = toml::from_str(
            "alertmanager = [\"http://u:p@127.0.0.1:9093/am?x=1\"]\n\
             [[webhook]]\nurl = \"https://hooks.example/services/T0/B0/SECRET\"\nformat = \"slack\"\n\
             [[webhook]]\nurl = \"http://127.0.0.1:8080\"\n",
        )
        .unwrap();
        let s = NotifySettings::resolve(&config, &[], None).unwrap();
        let am = Receiver::Alertmanager(s.alertmanagers[0].clone());
        assert_eq!(am.name(), "alertmanager http://127.0.0.1:9093/am");
        let (t, f) = s.webhooks[0].clone();
        assert_eq!(
            Receiver::Webhook(t, f).name(),
            "webhook slack https://hooks.example/…"
        );
        let (t, f) = s.webhooks[1].clone();
        assert_eq!(
            Receiver::Webhook(t, f).name(),
            "webhook json http://127.0.0.1:8080/"
        );
    }
}
