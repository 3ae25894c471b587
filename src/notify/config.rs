//! `[notify]` as written in the config file.

use std::path::PathBuf;

use serde::Deserialize;

/// `[notify]`: Alertmanager endpoints and webhooks, with their credentials.
///
/// ```toml
/// [notify]
/// alertmanager = ["http://127.0.0.1:9093"]
/// alertmanager_auth = { ca = "am-ca.pem", bearer_token_file = "am.token" }
///
/// [[notify.webhook]]
/// url = "https://chat.example/hooks/T000"
/// format = "slack"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// Base URLs of Alertmanager instances (`http://host:9093`); each gets every alert.
    pub alertmanager: Vec<String>,
    /// TLS and credentials for every Alertmanager.
    pub alertmanager_auth: HttpAuth,
    /// `[[notify.webhook]]`: receivers posted to on every firing and resolved alert.
    pub webhook: Vec<WebhookConfig>,
}

/// TLS and credentials for an HTTP receiver; paths are relative to the config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpAuth {
    /// CA (PEM) to trust instead of the public roots.
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM), for receivers that require mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub client_key: Option<PathBuf>,
    /// File holding a bearer token sent as `Authorization: Bearer ...`.
    pub bearer_token_file: Option<PathBuf>,
}

/// One `[[notify.webhook]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: String,
    /// Body shape.
    #[serde(default)]
    pub format: WebhookFormat,
    /// TLS and credentials for this receiver.
    #[serde(default)]
    pub auth: HttpAuth,
}

/// The body a webhook receives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// Slack's incoming-webhook message (`text` plus `attachments`).
    Slack,
    /// fleetdeck's own JSON: the alert's fields as they are.
    #[default]
    Json,
}
