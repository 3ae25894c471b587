//! The metrics endpoint: `/metrics` (OpenMetrics text), `/healthz` (the process serves)
//! and `/readyz` (the runtime answers and gRPC is serving), over HTTP/1.1 or HTTP/2, with
//! TLS when the agent has a certificate. Exposure follows the gRPC listener's rule: open
//! on loopback; beyond it only with TLS, or with `--metrics-insecure`, said loudly.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_rustls::rustls::ServerConfig;

use crate::AgentError;
use crate::cancel::{self, Cancel, CancelSource};
use crate::runtime::Runtime;
use crate::server::tls::{self, Accepted, HandshakeRefusal, TlsFiles};

/// Longest `/readyz` waits for the runtime to answer before it says not ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest a client may take to send a request's headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more are closed at once (a scraper needs one or two).
const MAX_CONNECTIONS: usize = 64;
/// Content type of the exposition prometheus-client writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Where and how to serve metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Address to serve on.
    pub listen: SocketAddr,
    /// Allow a non-loopback address without TLS (warns).
    pub insecure: bool,
}

/// Whether the gRPC server is serving: set while its task runs.
#[derive(Debug, Clone, Default)]
pub struct Serving(Arc<AtomicBool>);

impl Serving {
    /// Marks the server serving until the returned guard is dropped (its task ended or was
    /// aborted).
    pub fn enter(&self) -> ServingGuard {
        self.0.store(true, Ordering::SeqCst);
        ServingGuard(Arc::clone(&self.0))
    }

    /// Whether the server is serving now.
    pub fn is_serving(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Clears [`Serving`] when dropped.
#[derive(Debug)]
pub struct ServingGuard(Arc<AtomicBool>);

impl Drop for ServingGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Decides TLS for the metrics listener on `addr`: TLS whenever the agent has a
/// certificate; none on loopback; beyond loopback without TLS only with `insecure`, and
/// then loudly.
pub fn exposure(
    addr: SocketAddr,
    tls_files: Option<&TlsFiles>,
    insecure: bool,
) -> Result<Option<Arc<ServerConfig>>, AgentError> {
    let tls = match tls_files {
        Some(files) => {
            let config = tls::server_config(files)?;
            let mut config = ServerConfig::clone(&config);
            // Scrapers speak HTTP/1.1 as often as HTTP/2.
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Some(Arc::new(config))
        }
        None => None,
    };
    if tls.is_some() || addr.ip().is_loopback() {
        return Ok(tls);
    }
    if !insecure {
        return Err(AgentError::Config(format!(
            "refusing to serve metrics on {addr} without TLS (give --tls-cert and --tls-key); \
             or pass --metrics-insecure to accept the risk"
        )));
    }
    let warning = format!(
        "INSECURE: serving metrics on {addr} without TLS: anyone who can reach this port can \
         read this node's containers and figures"
    );
    tracing::warn!("{warning}");
    eprintln!("fleetdeck-agent: WARNING: {warning}");
    Ok(None)
}

/// Decides TLS for `m`'s address (see [`exposure`]) and binds it; a busy port says which
/// flag to change.
pub async fn bind(
    m: &MetricsConfig,
    tls_files: Option<&TlsFiles>,
) -> Result<(TcpListener, Option<Arc<ServerConfig>>), AgentError> {
    let tls = exposure(m.listen, tls_files, m.insecure)?;
    let listener = TcpListener::bind(m.listen).await.map_err(|e| {
        let advice = if e.kind() == std::io::ErrorKind::AddrInUse {
            "pick another --metrics-listen port or stop what is using it"
        } else {
            "check the --metrics-listen address"
        };
        AgentError::Config(format!(
            "cannot serve metrics on {}: {}; {advice}",
            m.listen,
            crate::describe_io(&e)
        ))
    })?;
    Ok((listener, tls))
}

/// What the endpoint answers from.
struct Endpoint {
    registry: Registry,
    runtime: Arc<dyn Runtime>,
    serving: Serving,
}

fn text(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, v);
    }
    response
}

impl Endpoint {
    async fn respond(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        const PLAIN: &str = "text/plain; charset=utf-8";
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut r = text(
                StatusCode::METHOD_NOT_ALLOWED,
                PLAIN,
                "use GET\n".to_owned(),
            );
            if let Ok(v) = "GET, HEAD".parse() {
                r.headers_mut().insert(hyper::header::ALLOW, v);
            }
            return r;
        }
        match req.uri().path() {
            "/metrics" => {
                let mut body = String::new();
                match prometheus_client::encoding::text::encode(&mut body, &self.registry) {
                    Ok(()) => text(StatusCode::OK, OPENMETRICS, body),
                    Err(e) => {
                        tracing::error!("cannot encode metrics: {e}");
                        text(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            PLAIN,
                            "cannot encode metrics\n".to_owned(),
                        )
                    }
                }
            }
            "/healthz" => text(StatusCode::OK, PLAIN, "ok\n".to_owned()),
            "/readyz" => match self.readiness().await {
                Ok(()) => text(StatusCode::OK, PLAIN, "ready\n".to_owned()),
                Err(why) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    PLAIN,
                    format!("not ready: {why}\n"),
                ),
            },
            _ => text(
                StatusCode::NOT_FOUND,
                PLAIN,
                "not found: try /metrics, /healthz or /readyz\n".to_owned(),
            ),
        }
    }

    /// Ready when gRPC is serving and the runtime answers within [`READY_TIMEOUT`].
    async fn readiness(&self) -> Result<(), String> {
        if !self.serving.is_serving() {
            return Err("the gRPC server is not serving".to_owned());
        }
        match tokio::time::timeout(READY_TIMEOUT, self.runtime.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "the runtime did not answer within {} s",
                READY_TIMEOUT.as_secs()
            )),
        }
    }
}

/// A running metrics endpoint; dropping it stops it.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    tls: bool,
    stop: CancelSource,
    acceptor: JoinHandle<()>,
    server: JoinHandle<()>,
}

impl MetricsServer {
    /// Serves `registry` and readiness on `listener` (TLS with `tls`) until stopped.
    /// Certificate refusals go to `refused` (the audit log).
    pub fn start(
        listener: TcpListener,
        tls: Option<Arc<ServerConfig>>,
        registry: Registry,
        runtime: Arc<dyn Runtime>,
        serving: Serving,
        refused: impl Fn(HandshakeRefusal) + Send + Sync + 'static,
    ) -> Result<Self, AgentError> {
        let addr = listener
            .local_addr()
            .map_err(|e| AgentError::Config(format!("cannot serve metrics: {e}")))?;
        let secure = tls.is_some();
        let (accepted, acceptor) = tls::accept_loop(listener, tls, refused);
        let endpoint = Arc::new(Endpoint {
            registry,
            runtime,
            serving,
        });
        let (stop, cancel) = cancel::channel();
        let server = tokio::spawn(serve(accepted, endpoint, cancel));
        tracing::info!(%addr, tls = secure, "serving metrics");
        Ok(Self {
            addr,
            tls: secure,
            stop,
            acceptor,
            server,
        })
    }

    /// Address served on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://ADDR/metrics` or `http://ADDR/metrics`.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/metrics", self.addr)
    }

    /// Stops accepting and closes every connection.
    pub fn stop(&self) {
        self.stop.cancel();
        self.acceptor.abort();
        self.server.abort();
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Serves each accepted connection in a task of its own, at most [`MAX_CONNECTIONS`] at
/// once, until `cancel` fires.
async fn serve(
    mut accepted: tokio::sync::mpsc::Receiver<Accepted>,
    endpoint: Arc<Endpoint>,
    cancel: Cancel,
) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let conn = tokio::select! {
            () = cancel.cancelled() => return,
            conn = accepted.recv() => conn,
        };
        let Some(Accepted { io, peer }) = conn else {
            return;
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::debug!(remote = ?peer.remote, "metrics: too many connections, closing one");
            continue;
        };
        let endpoint = Arc::clone(&endpoint);
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let endpoint = Arc::clone(&endpoint);
                async move { Ok::<_, Infallible>(endpoint.respond(&req).await) }
            });
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT);
            let conn = builder.serve_connection(TokioIo::new(io), service);
            tokio::select! {
                () = cancel.cancelled() => {}
                r = conn => if let Err(e) = r {
                    tracing::debug!(remote = ?peer.remote, "metrics connection ended: {e}");
                },
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_open_and_beyond_needs_tls_or_the_flag() {
        let lo: SocketAddr = "127.0.0.1:9100".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:9100".parse().unwrap();
        assert!(exposure(lo, None, false).unwrap().is_none());
        let err = exposure(any, None, false).unwrap_err().to_string();
        assert!(
            err.contains("refusing to serve metrics on 0.0.0.0:9100"),
            "{err}"
        );
        assert!(err.contains("--metrics-insecure"), "{err}");
        assert!(exposure(any, None, true).unwrap().is_none());
    }

    #[test]
    fn serving_clears_when_its_guard_goes() {
        let serving = Serving::default();
        assert!(!serving.is_serving());
        let guard = serving.enter();
        assert!(serving.is_serving());
        drop(guard);
        assert!(!serving.is_serving());
    }
}
