//! TLS for the agent's listener (rustls, ring): server certificate, optional client
//! certificates checked against an operator-given CA with CRLs, and the accept loop that
//! runs handshakes off the listener so one slow or hostile peer cannot stall the others.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig, server::WebPkiClientVerifier};

/// Longest a TLS handshake may take before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshakes in progress at once; more connections wait in the kernel's backlog.
const MAX_HANDSHAKES: usize = 64;
/// Accepted connections queued for the server.
const ACCEPTED_QUEUE: usize = 64;
/// Longest certificate subject kept for the audit log.
const MAX_SUBJECT_CHARS: usize = 256;

/// Where the agent's TLS material is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Server certificate chain, PEM.
    pub cert: PathBuf,
    /// Server private key, PEM.
    pub key: PathBuf,
    /// CA for client certificates, PEM; set = mutual TLS (every client must show one).
    pub client_ca: Option<PathBuf>,
    /// Certificate revocation lists, PEM, checked against client certificates.
    pub crls: Vec<PathBuf>,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or holds nothing usable.
    #[error("{what} {}: {message}", path.display())]
    File {
        /// What the file should hold.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// rustls refused the material.
    #[error("TLS setup: {0}")]
    Rustls(String),
}

/// Who is on the other end of one connection (tonic puts it in every request's extensions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerInfo {
    /// Remote address.
    pub remote: Option<SocketAddr>,
    /// Subject of the verified client certificate (mutual TLS), e.g. `CN=ops-1`.
    pub cert_subject: Option<String>,
    /// The connection is encrypted.
    pub tls: bool,
}

fn file_err(what: &'static str, path: &Path, message: impl ToString) -> TlsError {
    TlsError::File {
        what,
        path: path.to_owned(),
        message: message.to_string(),
    }
}

fn read_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_err(what, path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_err(what, path, e))?;
    if certs.is_empty() {
        return Err(file_err(what, path, "no PEM certificate in it"));
    }
    Ok(certs)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls server configuration for `files` (HTTP/2 only).
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = read_certs("server certificate", &files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| file_err("server key", &files.key, e))?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    let builder = match &files.client_ca {
        None => {
            if !files.crls.is_empty() {
                return Err(TlsError::Rustls(
                    "--crl checks client certificates; give --client-ca too".into(),
                ));
            }
            builder.with_no_client_auth()
        }
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in read_certs("client CA", ca)? {
                roots
                    .add(c)
                    .map_err(|e| file_err("client CA", ca, e.to_string()))?;
            }
            let mut crls = Vec::new();
            for path in &files.crls {
                let found = CertificateRevocationListDer::pem_file_iter(path)
                    .map_err(|e| file_err("CRL", path, e))?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| file_err("CRL", path, e))?;
                if found.is_empty() {
                    return Err(file_err("CRL", path, "no PEM X509 CRL in it"));
                }
                crls.extend(found);
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                .with_crls(crls)
                .build()
                .map_err(|e| TlsError::Rustls(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Rustls(format!("server certificate and key: {e}")))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// The subject of a DER certificate as `CN=...,O=...`, control characters escaped.
pub fn subject_of(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let s: String = cert.subject().to_string().escape_debug().collect();
    Some(s.chars().take(MAX_SUBJECT_CHARS).collect())
}

/// A connection's byte stream, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// An accepted connection, ready for HTTP/2.
pub struct Accepted {
    /// Its bytes.
    pub io: Box<dyn Io>,
    /// Who it is.
    pub peer: PeerInfo,
}

/// A client whose handshake failed because of its certificate (for the audit log).
#[derive(Debug, Clone)]
pub struct HandshakeRefusal {
    /// Remote address.
    pub remote: Option<SocketAddr>,
    /// rustls' reason, e.g. "invalid peer certificate: Expired".
    pub reason: String,
}

/// Accepts connections on `listener` (with TLS when `tls` is set) in a task of its own;
/// connections come out of the returned channel. Certificate refusals go to `refused`.
pub fn accept_loop(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    refused: impl Fn(HandshakeRefusal) + Send + Sync + 'static,
) -> (mpsc::Receiver<Accepted>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(ACCEPTED_QUEUE);
    let refused = Arc::new(refused);
    let task = tokio::spawn(async move {
        let acceptor = tls.map(TlsAcceptor::from);
        let permits = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        loop {
            let (stream, remote) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            // Small messages should leave at once, not wait for Nagle.
            let _ = stream.set_nodelay(true);
            let Some(acceptor) = acceptor.clone() else {
                let peer = PeerInfo {
                    remote: Some(remote),
                    ..PeerInfo::default()
                };
                if tx
                    .send(Accepted {
                        io: Box::new(stream),
                        peer,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
                continue;
            };
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return;
            };
            let tx = tx.clone();
            let refused = Arc::clone(&refused);
            tokio::spawn(async move {
                let _permit = permit;
                match handshake(&acceptor, stream, remote).await {
                    Ok(a) => {
                        let _ = tx.send(a).await;
                    }
                    Err(e) => {
                        tracing::warn!(%remote, "TLS handshake refused: {e}");
                        if is_certificate_refusal(&e) {
                            refused(HandshakeRefusal {
                                remote: Some(remote),
                                reason: e.to_string(),
                            });
                        }
                    }
                }
            });
        }
    });
    (rx, task)
}

async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    remote: SocketAddr,
) -> io::Result<Accepted> {
    let tls = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "handshake timed out"))??;
    let cert_subject = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .and_then(|c| subject_of(c));
    Ok(Accepted {
        io: Box::new(tls),
        peer: PeerInfo {
            remote: Some(remote),
            cert_subject,
            tls: true,
        },
    })
}

fn is_certificate_refusal(e: &io::Error) -> bool {
    matches!(
        e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented)
    )
}
