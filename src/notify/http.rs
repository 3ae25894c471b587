//! HTTP clients for Alertmanager and webhooks, built once from `[notify]`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use tokio_rustls::rustls;

use super::config::{HttpAuth, NotifyConfig, WebhookFormat};

/// Time to connect to a receiver before the attempt counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Time one request may take in all, so a hung receiver never holds a sender.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A problem with one `[notify]` setting: the key, the offending value when there is
/// one (for the line number), and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyError {
    pub key: String,
    pub value: Option<String>,
    pub message: String,
}

/// One receiver: where to send, and the client that carries its TLS and token.
#[derive(Debug, Clone)]
pub struct HttpTarget {
    /// The URL as configured (Alertmanager: the base; webhook: the full URL).
    pub url: reqwest::Url,
    /// A client with this receiver's CA and client certificate; cheap to clone.
    pub client: reqwest::Client,
    /// Sent as `Authorization: Bearer ...` when set.
    pub bearer: Option<String>,
}

impl HttpTarget {
    /// `url` joined with `path` (`api/v2/alerts`), keeping any prefix the base has.
    pub fn endpoint(&self, path: &str) -> reqwest::Url {
        let mut base = self.url.clone();
        if !base.path().ends_with('/') {
            let with_slash = format!("{}/", base.path());
            base.set_path(&with_slash);
        }
        base.join(path).unwrap_or(base)
    }

    /// A request to `url` with this receiver's bearer token.
    pub fn request(&self, method: reqwest::Method, url: reqwest::Url) -> reqwest::RequestBuilder {
        let builder = self.client.request(method, url);
        match &self.bearer {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }
}

/// `[notify]` resolved: every URL checked, every file read, every client built.
#[derive(Debug, Clone, Default)]
pub struct NotifySettings {
    /// Alertmanager instances; each gets every alert.
    pub alertmanagers: Vec<HttpTarget>,
    /// Webhooks and the body each wants.
    pub webhooks: Vec<(HttpTarget, WebhookFormat)>,
}

/// Settings compare by where they send and with which token (clients have no equality).
impl PartialEq for NotifySettings {
    fn eq(&self, other: &Self) -> bool {
        let key = |t: &HttpTarget| (t.url.clone(), t.bearer.clone());
        self.alertmanagers
            .iter()
            .map(key)
            .eq(other.alertmanagers.iter().map(key))
            && self
                .webhooks
                .iter()
                .map(|(t, f)| (key(t), *f))
                .eq(other.webhooks.iter().map(|(t, f)| (key(t), *f)))
    }
}

impl NotifySettings {
    /// True when nothing is configured.
    pub fn is_empty(&self) -> bool {
        self.alertmanagers.is_empty() && self.webhooks.is_empty()
    }

    /// Resolves `config` (read from `config_path`, which relative paths are taken from),
    /// with `extra_alertmanagers` (`--alertmanager`) added to the file's.
    pub fn resolve(
        config: &NotifyConfig,
        extra_alertmanagers: &[String],
        config_path: Option<&Path>,
    ) -> Result<Self, NotifyError> {
        let mut alertmanagers = Vec::new();
        let urls = config.alertmanager.iter().chain(extra_alertmanagers);
        for url in urls {
            let url = parse_url("notify.alertmanager", url)?;
            let target = target(
                url,
                &config.alertmanager_auth,
                "notify.alertmanager_auth",
                config_path,
            )?;
            alertmanagers.push(target);
        }
        let mut webhooks = Vec::new();
        for hook in &config.webhook {
            let url = parse_url("notify.webhook.url", &hook.url)?;
            let target = target(url, &hook.auth, "notify.webhook.auth", config_path)?;
            webhooks.push((target, hook.format));
        }
        Ok(Self {
            alertmanagers,
            webhooks,
        })
    }
}

pub(crate) fn parse_url(key: &str, text: &str) -> Result<reqwest::Url, NotifyError> {
    let fail = |message: String| NotifyError {
        key: key.to_string(),
        value: Some(text.to_string()),
        message,
    };
    let url = reqwest::Url::parse(text).map_err(|e| {
        fail(format!(
            "{text:?} is not a URL ({e}); write it as http://host:port"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(fail(format!(
            "{text:?} uses scheme {:?}; use http:// or https://",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(fail(format!(
            "{text:?} names no host; write it as http://host:port"
        )));
    }
    Ok(url)
}

pub(crate) fn target(
    url: reqwest::Url,
    auth: &HttpAuth,
    key: &str,
    config_path: Option<&Path>,
) -> Result<HttpTarget, NotifyError> {
    let fail = |sub: &str, message: String| NotifyError {
        key: format!("{key}.{sub}"),
        value: None,
        message,
    };
    let read = |sub: &str, path: &Path| {
        let full = crate::client::credentials_file::resolve(path, config_path);
        std::fs::read(&full).map_err(|e| fail(sub, format!("cannot read {}: {e}", full.display())))
    };
    let bearer = match &auth.bearer_token_file {
        Some(path) => {
            let bytes = read("bearer_token_file", path)?;
            let token = String::from_utf8(bytes)
                .map_err(|_| fail("bearer_token_file", "the token file is not text".into()))?;
            let token = token.trim().to_string();
            if token.is_empty() || token.chars().any(|c| c.is_control() || c == ' ') {
                return Err(fail(
                    "bearer_token_file",
                    "the token file must hold one token on one line".into(),
                ));
            }
            Some(token)
        }
        None => None,
    };
    let mut roots = rustls::RootCertStore::empty();
    match &auth.ca {
        Some(path) => {
            let pem = read("ca", path)?;
            let certs = rustls_pki_types::CertificateDer::pem_slice_iter(&pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    fail(
                        "ca",
                        format!("the file holds no usable PEM certificate: {e}"),
                    )
                })?;
            if certs.is_empty() {
                return Err(fail("ca", "the file holds no PEM certificate".into()));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| fail("ca", format!("the certificate is not usable: {e}")))?;
            }
        }
        None => {
            // The system's trust store, as curl would use; certificates it cannot parse
            // are skipped rather than making every receiver unusable.
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail("ca", format!("TLS set-up failed: {e}")))?
        .with_root_certificates(roots);
    let tls = match (&auth.client_cert, &auth.client_key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let cert_pem = read("client_cert", cert)?;
            let key_pem = read("client_key", key)?;
            let chain = rustls_pki_types::CertificateDer::pem_slice_iter(&cert_pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| fail("client_cert", format!("no usable PEM certificate: {e}")))?;
            let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(&key_pem)
                .map_err(|e| fail("client_key", format!("no usable PEM private key: {e}")))?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                fail(
                    "client_cert",
                    format!("the certificate and key do not fit: {e}"),
                )
            })?
        }
        _ => {
            return Err(fail(
                "client_cert",
                "set both `client_cert` and `client_key`".into(),
            ));
        }
    };
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("fleetdeck/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| fail("ca", format!("cannot build the HTTP client: {e}")))?;
    Ok(HttpTarget {
        url,
        client,
        bearer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> NotifyConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn urls_are_checked_and_joined_under_their_prefix() {
        let c = config("alertmanager = [\"http://127.0.0.1:9093/am\"]");
        let s = NotifySettings::resolve(&c, &["http://[::1]:9094".into()], None).unwrap();
        assert_eq!(s.alertmanagers.len(), 2);
        assert_eq!(
            s.alertmanagers[0].endpoint("api/v2/alerts").as_str(),
            "http://127.0.0.1:9093/am/api/v2/alerts"
        );
        assert_eq!(
            s.alertmanagers[1].endpoint("api/v2/alerts").as_str(),
            "http://[::1]:9094/api/v2/alerts"
        );
        for bad in ["127.0.0.1:9093", "ftp://h/", "not a url", "http://"] {
            let c = config(&format!("alertmanager = [{bad:?}]"));
            let e = NotifySettings::resolve(&c, &[], None).unwrap_err();
            assert_eq!(e.key, "notify.alertmanager", "{bad}");
            assert_eq!(e.value.as_deref(), Some(bad));
        }
    }

    #[test]
    fn webhook_formats_and_credentials_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.toml");
        std::fs::write(dir.path().join("tok"), "s3cret\n").unwrap();
        let c = config(
            "[[webhook]]\nurl = \"https://h.example/x\"\nformat = \"slack\"\n\
             auth = { bearer_token_file = \"tok\" }\n[[webhook]]\nurl = \"http://h/y\"\n",
        );
        let s = NotifySettings::resolve(&c, &[], Some(&cfg)).unwrap();
        assert_eq!(s.webhooks[0].1, WebhookFormat::Slack);
        assert_eq!(s.webhooks[0].0.bearer.as_deref(), Some("s3cret"));
        assert_eq!(s.webhooks[1].1, WebhookFormat::Json);
        let bad: Result<NotifyConfig, _> =
            toml::from_str("[[webhook]]\nurl = \"http://h\"\nformat = \"teams\"\n");
        assert!(bad.unwrap_err().to_string().contains("teams"));
        let c =
            config("alertmanager = [\"http://h\"]\nalertmanager_auth = { ca = \"missing.pem\" }");
        let e = NotifySettings::resolve(&c, &[], Some(&cfg)).unwrap_err();
        assert_eq!(e.key, "notify.alertmanager_auth.ca");
        assert!(e.message.contains("missing.pem"), "{}", e.message);
        let c = config("alertmanager = [\"http://h\"]\nalertmanager_auth = { client_key = \"k\" }");
        let e = NotifySettings::resolve(&c, &[], Some(&cfg)).unwrap_err();
        assert!(e.message.contains("both"), "{}", e.message);
    }
}
