//! What the console shows an agent to be let in: a bearer token (from the config file, a
//! token file, or `FLEETDECK_TOKEN`; never a command-line argument) and TLS settings (the CA
//! that signed the agents' certificates, optionally a client certificate for mutual TLS).

use std::fmt;
use std::sync::Arc;

use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};
use tonic::{Request, Status};

/// Environment variable holding the console's token.
pub const TOKEN_ENV: &str = "FLEETDECK_TOKEN";

/// TLS settings for agent connections.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientTls {
    /// PEM of the CA the agents' certificates chain to.
    pub ca_pem: Vec<u8>,
    /// PEM certificate and key for mutual TLS.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
    /// Name to expect in the agents' certificates instead of the address's host.
    pub server_name: Option<String>,
}

/// Token and TLS settings; cheap to clone. `Debug` never prints the token.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    token: Option<Arc<str>>,
    tls: Option<Arc<ClientTls>>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// A token that cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the token is not usable: it must be printable ASCII without spaces (as `fleetdeck-agent token create` prints it)"
)]
pub struct BadToken;

impl Credentials {
    /// No token, plain TCP.
    pub fn none() -> Self {
        Self::default()
    }

    /// With `token` sent on every call.
    pub fn with_token(mut self, token: &str) -> Result<Self, BadToken> {
        let token = token.trim();
        if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(BadToken);
        }
        self.token = Some(Arc::from(token));
        Ok(self)
    }

    /// With TLS to every agent.
    pub fn with_tls(mut self, tls: ClientTls) -> Self {
        self.tls = Some(Arc::new(tls));
        self
    }

    /// True when connections use TLS.
    pub fn uses_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// True when a client certificate is shown (mutual TLS).
    pub fn has_client_cert(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.identity.is_some())
    }

    /// True when a token is sent.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// tonic's TLS settings, for an agent whose host is `host`.
    pub fn tls_config(&self, host: &str) -> Option<ClientTlsConfig> {
        let tls = self.tls.as_ref()?;
        let mut config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&tls.ca_pem))
            .domain_name(
                tls.server_name
                    .clone()
                    .unwrap_or_else(|| host.trim_matches(['[', ']']).to_string()),
            );
        if let Some((cert, key)) = &tls.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        Some(config)
    }

    /// The interceptor that adds the token to each call.
    pub fn interceptor(&self) -> TokenInterceptor {
        TokenInterceptor {
            header: self.token.as_ref().and_then(|t| {
                let mut v = AsciiMetadataValue::try_from(format!("Bearer {t}")).ok()?;
                v.set_sensitive(true);
                Some(v)
            }),
        }
    }
}

/// Adds `authorization: Bearer TOKEN` to every call (nothing without a token).
#[derive(Clone, Debug)]
pub struct TokenInterceptor {
    header: Option<AsciiMetadataValue>,
}

impl Interceptor for TokenInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(h) = &self.header {
            request.metadata_mut().insert("authorization", h.clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_checked_and_never_printed() {
        let c = Credentials::none().with_token(" fdk_abc \n").unwrap();
        assert!(!format!("{c:?}").contains("fdk_abc"));
        assert!(Credentials::none().with_token("a b").is_err());
        assert!(Credentials::none().with_token("").is_err());
        assert!(Credentials::none().with_token("é").is_err());
        let mut i = c.interceptor();
        let r = i.call(Request::new(())).unwrap();
        assert_eq!(r.metadata().get("authorization").unwrap(), "Bearer fdk_abc");
        let mut none = Credentials::none().interceptor();
        assert!(none.call(Request::new(())).unwrap().metadata().is_empty());
    }
}
