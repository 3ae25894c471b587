//! The tower layer in front of every rpc: identifies the caller, refuses calls its role does
//! not allow (before the request body is read), and hands the [`Identity`] to the handlers.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tonic::Status;
use tower::{Layer, Service};

use super::{AUTH_HEADER, AuthPolicy, Identity, Role, RpcRule, rpc_rule};
use crate::server::tls::PeerInfo;

/// A call the layer refused, for the audit log.
#[derive(Debug, Clone)]
pub struct RefusedCall {
    /// gRPC path, e.g. `/fleetdeck.v1.Agent/Act`.
    pub path: String,
    /// Who it was, when known.
    pub identity: Option<Identity>,
    /// The connection.
    pub peer: PeerInfo,
    /// What the caller was told.
    pub message: String,
}

/// Called for every refused call that is not a plain read.
pub type RefusalSink = Arc<dyn Fn(RefusedCall) + Send + Sync>;

/// Puts [`AuthService`] in front of a service.
#[derive(Clone)]
pub struct AuthLayer {
    policy: Arc<AuthPolicy>,
    refused: RefusalSink,
}

impl AuthLayer {
    /// Checks calls by `policy`; refusals of non-reads go to `refused`.
    pub fn new(policy: Arc<AuthPolicy>, refused: RefusalSink) -> Self {
        Self { policy, refused }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            policy: Arc::clone(&self.policy),
            refused: Arc::clone(&self.refused),
        }
    }
}

/// See [`AuthLayer`].
#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    policy: Arc<AuthPolicy>,
    refused: RefusalSink,
}

type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// Put in an Act call's extensions; the handler marks it once it has read the request, so
/// the layer can audit a request that never got that far (too large, or not decodable).
#[derive(Debug, Clone, Default)]
pub struct RequestRead(Arc<AtomicBool>);

impl RequestRead {
    /// The handler has the request.
    pub fn mark(&self) {
        self.0.store(true, Ordering::Release);
    }

    fn is_marked(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// The gRPC status in a trailers-only response (the form of an early error), if not OK.
fn early_error<B>(response: &http::Response<B>) -> Option<String> {
    let status = response.headers().get("grpc-status")?.to_str().ok()?;
    if status == "0" {
        return None;
    }
    let message = response
        .headers()
        .get("grpc-message")
        .and_then(|m| m.to_str().ok())
        .unwrap_or("");
    Some(format!(
        "request not read (grpc-status {status}): {}",
        crate::audit::clip(message, 200)
    ))
}

/// Decides one call: the identity to pass on, or the status to answer with.
pub fn decide(
    policy: &AuthPolicy,
    path: &str,
    header: Option<&str>,
    peer: &PeerInfo,
) -> Result<Identity, (Status, Option<Identity>)> {
    let identity = policy
        .identify(header, peer.cert_subject.as_deref())
        .map_err(|m| (Status::unauthenticated(m), None))?;
    match rpc_rule(path) {
        RpcRule::PerRequest => Ok(identity),
        RpcRule::Fixed(need) if identity.role >= need => Ok(identity),
        RpcRule::Fixed(need) => Err((denied(path, need, &identity), Some(identity))),
    }
}

/// PERMISSION_DENIED naming the role needed and the one the caller has.
pub fn denied(what: &str, need: Role, who: &Identity) -> Status {
    Status::permission_denied(format!(
        "{what} needs role {need}; {} has role {}",
        who.name, who.role
    ))
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for AuthService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqBody: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<ReqBody>) -> Self::Future {
        let peer = req
            .extensions()
            .get::<PeerInfo>()
            .cloned()
            .unwrap_or_default();
        let header = req
            .headers()
            .get(AUTH_HEADER)
            .map(|v| v.to_str().unwrap_or("(not text)"));
        let path = req.uri().path().to_owned();
        match decide(&self.policy, &path, header, &peer) {
            Ok(identity) => {
                let read = (rpc_rule(&path) == RpcRule::PerRequest).then(RequestRead::default);
                if let Some(r) = &read {
                    req.extensions_mut().insert(r.clone());
                }
                req.extensions_mut().insert(identity.clone());
                // The clone is ready only if `self.inner` was: swap them (tower's advice).
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let Some(read) = read else {
                    return Box::pin(inner.call(req));
                };
                let refused = Arc::clone(&self.refused);
                Box::pin(async move {
                    let response = inner.call(req).await?;
                    if !read.is_marked()
                        && let Some(message) = early_error(&response)
                    {
                        refused(RefusedCall {
                            path,
                            identity: Some(identity),
                            peer,
                            message,
                        });
                    }
                    Ok(response)
                })
            }
            Err((status, identity)) => {
                tracing::warn!(
                    path,
                    peer = ?peer.remote,
                    "refused: {}",
                    status.message()
                );
                if rpc_rule(&path) != RpcRule::Fixed(Role::Viewer) {
                    (self.refused)(RefusedCall {
                        path,
                        identity,
                        peer,
                        message: status.message().to_owned(),
                    });
                }
                Box::pin(std::future::ready(Ok(status.into_http())))
            }
        }
    }
}
