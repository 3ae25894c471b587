//! `[coordination]` as written in the config file, and resolved: endpoints checked, the
//! password read, one HTTP client built with the CA and client certificate.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::etcd::Etcd;
use crate::notify::HttpAuth;

/// Environment variable with etcd endpoints, comma-separated; overrides the file's.
pub const ETCD_ENV: &str = "FLEETDECK_ETCD";
/// Key prefix when none is configured.
pub const DEFAULT_PREFIX: &str = "/fleetdeck/";

/// `[coordination]`: the etcd cluster that makes several consoles exclude each other.
///
/// ```toml
/// [coordination]
/// etcd = ["https://10.0.0.5:2379", "https://10.0.0.6:2379"]
/// ca = "etcd-ca.pem"
/// username = "fleetdeck"
/// password_file = "etcd.password"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoordConfig {
    /// etcd client URLs (`http://host:2379`); tried in order until one answers.
    pub etcd: Vec<String>,
    /// CA (PEM) that signed etcd's server certificates.
    pub ca: Option<PathBuf>,
    /// Client certificate (PEM) for an etcd that requires mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// Its private key (PEM).
    pub client_key: Option<PathBuf>,
    /// etcd user, when etcd's authentication is on.
    pub username: Option<String>,
    /// File holding that user's password (one line).
    pub password_file: Option<PathBuf>,
    /// Prefix of every key fleetdeck writes (default `/fleetdeck/`).
    pub prefix: Option<String>,
}

/// A problem with one `[coordination]` setting: the key and a message for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoordError {
    pub key: String,
    pub message: String,
}

fn fail(key: &str, message: impl Into<String>) -> CoordError {
    CoordError {
        key: format!("coordination.{key}"),
        message: message.into(),
    }
}

/// Endpoints from `FLEETDECK_ETCD` (comma-separated), if it names any.
pub fn env_endpoints(value: Option<&str>) -> Vec<String> {
    crate::config::comma_list(value)
}

/// Resolves `config` (read from `config_path`, which relative paths are taken from) with
/// `env` endpoints taking the place of the file's. `None` when no endpoint is configured.
pub fn resolve(
    config: &CoordConfig,
    env: &[String],
    config_path: Option<&Path>,
) -> Result<Option<Etcd>, CoordError> {
    let endpoints = if env.is_empty() { &config.etcd } else { env };
    if endpoints.is_empty() {
        let set = [
            config.ca.is_some(),
            config.client_cert.is_some(),
            config.username.is_some(),
            config.password_file.is_some(),
            config.prefix.is_some(),
        ];
        if set.iter().any(|s| *s) {
            return Err(fail(
                "etcd",
                format!(
                    "no etcd endpoint is given; list them as etcd = [\"http://host:2379\"] or set {ETCD_ENV}"
                ),
            ));
        }
        return Ok(None);
    }
    let prefix = config.prefix.as_deref().unwrap_or(DEFAULT_PREFIX);
    if prefix.is_empty() || !prefix.ends_with('/') || prefix.chars().any(char::is_control) {
        return Err(fail(
            "prefix",
            format!(
                "{prefix:?} is not a key prefix; use one ending in `/`, such as \"/fleetdeck/\""
            ),
        ));
    }
    let auth = HttpAuth {
        ca: config.ca.clone(),
        client_cert: config.client_cert.clone(),
        client_key: config.client_key.clone(),
        bearer_token_file: None,
    };
    let mut urls = Vec::new();
    let mut client = None;
    for text in endpoints {
        let url = crate::notify::parse_url("coordination.etcd", text).map_err(|e| CoordError {
            key: e.key,
            message: e.message,
        })?;
        if client.is_none() {
            let target =
                crate::notify::http_target(url.clone(), &auth, "coordination", config_path)
                    .map_err(|e| CoordError {
                        key: e.key,
                        message: e.message,
                    })?;
            client = Some(target.client);
        }
        urls.push(url);
    }
    let credentials = match (&config.username, &config.password_file) {
        (None, None) => None,
        (Some(user), Some(path)) => {
            let full = crate::client::credentials_file::resolve(path, config_path);
            let text = std::fs::read_to_string(&full).map_err(|e| {
                fail(
                    "password_file",
                    format!("cannot read {}: {e}", full.display()),
                )
            })?;
            let password = text.trim_end_matches(['\r', '\n']).to_string();
            if password.is_empty() || password.contains('\n') {
                return Err(fail(
                    "password_file",
                    "the password file must hold one password on one line",
                ));
            }
            Some((user.clone(), password))
        }
        (Some(_), None) => {
            return Err(fail(
                "password_file",
                "`username` is set without `password_file`; set both or neither",
            ));
        }
        (None, Some(_)) => {
            return Err(fail(
                "username",
                "`password_file` is set without `username`; set both or neither",
            ));
        }
    };
    let Some(client) = client else {
        return Ok(None);
    };
    Ok(Some(Etcd::new(client, urls, credentials, prefix)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> CoordConfig {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn nothing_configured_is_no_coordination() {
        assert!(
            resolve(&CoordConfig::default(), &[], None)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_environment_replaces_the_file_endpoints() {
        let c = config("etcd = [\"http://127.0.0.1:2379\"]\nprefix = \"/team-a/\"");
        let env = env_endpoints(Some(" http://127.0.0.1:3379 , http://[::1]:3379,"));
        let e = resolve(&c, &env, None).unwrap().unwrap();
        let shown: Vec<String> = e.endpoints().iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["http://127.0.0.1:3379/", "http://[::1]:3379/"]);
        assert_eq!(e.prefix(), "/team-a/");
        let e = resolve(&c, &[], None).unwrap().unwrap();
        assert_eq!(e.endpoints()[0].as_str(), "http://127.0.0.1:2379/");
    }

    #[test]
    fn bad_settings_say_which_and_what_to_do() {
        let cases = [
            (
                "etcd = [\"127.0.0.1:2379\"]",
                "coordination.etcd",
                "http://host:port",
            ),
            (
                "etcd = [\"ftp://h:1\"]",
                "coordination.etcd",
                "use http:// or https://",
            ),
            (
                "etcd = [\"http://h:1\"]\nprefix = \"/x\"",
                "coordination.prefix",
                "ending in `/`",
            ),
            (
                "etcd = [\"http://h:1\"]\nusername = \"u\"",
                "coordination.password_file",
                "set both",
            ),
            (
                "etcd = [\"http://h:1\"]\npassword_file = \"p\"",
                "coordination.username",
                "set both",
            ),
            (
                "etcd = [\"http://h:1\"]\nusername = \"u\"\npassword_file = \"/nonexistent/p\"",
                "coordination.password_file",
                "cannot read /nonexistent/p",
            ),
            ("username = \"u\"", "coordination.etcd", "FLEETDECK_ETCD"),
            (
                "etcd = [\"https://h:1\"]\nca = \"/nonexistent/ca.pem\"",
                "coordination.ca",
                "cannot read",
            ),
        ];
        for (text, key, says) in cases {
            let e = resolve(&config(text), &[], None).unwrap_err();
            assert_eq!(e.key, key, "{text}");
            assert!(e.message.contains(says), "{text}: {}", e.message);
            assert!(!e.message.contains('\n'), "{text}: one line");
        }
        assert!(toml::from_str::<CoordConfig>("etcd_endpoints = []").is_err());
    }

    #[test]
    fn a_password_is_read_relative_to_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "s3cret\n").unwrap();
        let c = config("etcd = [\"http://h:1\"]\nusername = \"fd\"\npassword_file = \"pw\"");
        let e = resolve(&c, &[], Some(&dir.path().join("config.toml")))
            .unwrap()
            .unwrap();
        assert!(e.has_credentials());
    }
}
