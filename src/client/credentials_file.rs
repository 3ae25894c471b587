//! Credentials from the config file's `token`, `token_file`, `ca`, `client_cert`,
//! `client_key` and `tls_server_name`, and from `FLEETDECK_TOKEN`.

use std::path::{Path, PathBuf};

use super::credentials::{ClientTls, Credentials};
use crate::config::Config;

/// A problem with one credential setting: the key and a message for the user.
pub type CredentialError = (&'static str, String);

/// Relative paths are taken from the config file's folder.
pub(crate) fn resolve(path: &Path, config_path: Option<&Path>) -> PathBuf {
    match config_path.and_then(Path::parent) {
        Some(dir) if path.is_relative() => dir.join(path),
        _ => path.to_path_buf(),
    }
}

fn read(
    key: &'static str,
    path: &Path,
    config_path: Option<&Path>,
) -> Result<Vec<u8>, CredentialError> {
    let full = resolve(path, config_path);
    std::fs::read(&full).map_err(|e| (key, format!("cannot read {}: {e}", full.display())))
}

/// The credentials `config` (read from `config_path`) describes.
pub fn from_config(
    config: &Config,
    config_path: Option<&Path>,
) -> Result<Credentials, CredentialError> {
    let mut c = Credentials::none();
    let token = match (&config.token, &config.token_file) {
        (Some(_), Some(_)) => {
            return Err(("token", "set `token` or `token_file`, not both".into()));
        }
        (Some(t), None) => Some((t.clone(), "token")),
        (None, Some(f)) => {
            let bytes = read("token_file", f, config_path)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| ("token_file", "the token file is not text".to_string()))?;
            Some((text, "token_file"))
        }
        (None, None) => None,
    };
    if let Some((t, key)) = token {
        c = c.with_token(&t).map_err(|e| (key, e.to_string()))?;
    }
    match (&config.ca, &config.client_cert, &config.client_key) {
        (None, None, None) => {
            if config.tls_server_name.is_some() {
                return Err(("tls_server_name", "it needs `ca` too".into()));
            }
        }
        (None, _, _) => {
            return Err(("client_cert", "a client certificate needs `ca` too".into()));
        }
        (Some(_), Some(_), None) | (Some(_), None, Some(_)) => {
            return Err((
                "client_cert",
                "set both `client_cert` and `client_key`".into(),
            ));
        }
        (Some(ca), cert, key) => {
            let ca_pem = read("ca", ca, config_path)?;
            if !String::from_utf8_lossy(&ca_pem).contains("-----BEGIN CERTIFICATE-----") {
                return Err(("ca", "the file holds no PEM certificate".into()));
            }
            let identity = match (cert, key) {
                (Some(cert), Some(key)) => Some((
                    read("client_cert", cert, config_path)?,
                    read("client_key", key, config_path)?,
                )),
                _ => None,
            };
            c = c.with_tls(ClientTls {
                ca_pem,
                identity,
                server_name: config.tls_server_name.clone(),
            });
        }
    }
    Ok(c)
}

/// `credentials` with the token from `FLEETDECK_TOKEN` when it is set (it wins over the file).
pub fn with_env_token(credentials: Credentials, env: Option<&str>) -> Result<Credentials, String> {
    match env {
        Some(t) if !t.trim().is_empty() => credentials
            .with_token(t)
            .map_err(|e| format!("{}: {e}", super::TOKEN_ENV)),
        _ => Ok(credentials),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_sources_and_tls_combinations() {
        let dir = tempfile::tempdir().unwrap();
        let cfg_path = dir.path().join("config.toml");
        std::fs::write(dir.path().join("tok"), "fdk_123\n").unwrap();
        std::fs::write(
            dir.path().join("ca.pem"),
            "-----BEGIN CERTIFICATE-----\nx\n",
        )
        .unwrap();
        let mut config = Config {
            token_file: Some("tok".into()),
            ..Config::default()
        };
        let c = from_config(&config, Some(&cfg_path)).unwrap();
        assert!(c.has_token() && !c.uses_tls());
        config.token = Some("fdk_1".into());
        assert_eq!(
            from_config(&config, Some(&cfg_path)).unwrap_err().0,
            "token"
        );
        config.token = None;
        config.client_cert = Some("c.pem".into());
        assert!(
            from_config(&config, Some(&cfg_path))
                .unwrap_err()
                .1
                .contains("`ca`")
        );
        config.client_cert = None;
        config.ca = Some("ca.pem".into());
        assert!(from_config(&config, Some(&cfg_path)).unwrap().uses_tls());
        config.ca = Some("missing.pem".into());
        let e = from_config(&config, Some(&cfg_path)).unwrap_err();
        assert_eq!(e.0, "ca");
        assert!(e.1.contains("missing.pem"), "{}", e.1);
        let env = with_env_token(Credentials::none(), Some("fdk_env")).unwrap();
        assert!(env.has_token());
        assert!(with_env_token(Credentials::none(), Some("bad token")).is_err());
    }
}
