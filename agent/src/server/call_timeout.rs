//! The time limit on every call, except uploads whose length is the data's: a volume copy
//! of many gigabytes must not be cut off at the call limit, so `WriteVolumes` is bounded
//! by the gap between chunks instead (see `Transfer::write_volumes`).
//!
//! tonic's own server timeout covers a client-streaming call until its single reply, which
//! for an upload is the whole upload; hence this layer instead.

use std::error::Error;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tonic::Status;
use tower::{Layer, Service};

/// Calls bounded by the gap between the chunks they receive, not by the call limit.
pub const UPLOADS: &[&str] = &["/fleetdeck.v1.Agent/WriteVolumes"];

type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// Bounds every call but [`UPLOADS`] to `limit`, answering DEADLINE_EXCEEDED past it.
#[derive(Debug, Clone, Copy)]
pub struct CallTimeoutLayer {
    limit: Duration,
}

impl CallTimeoutLayer {
    /// Calls end after `limit`.
    pub fn new(limit: Duration) -> Self {
        Self { limit }
    }
}

impl<S> Layer<S> for CallTimeoutLayer {
    type Service = CallTimeout<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CallTimeout {
            inner,
            limit: self.limit,
        }
    }
}

/// The service [`CallTimeoutLayer`] makes.
#[derive(Debug, Clone)]
pub struct CallTimeout<S> {
    inner: S,
    limit: Duration,
}

impl<S, B, R> Service<http::Request<B>> for CallTimeout<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let upload = UPLOADS.contains(&req.uri().path());
        let call = self.inner.call(req);
        let limit = self.limit;
        Box::pin(async move {
            if upload {
                return call.await.map_err(Into::into);
            }
            match tokio::time::timeout(limit, call).await {
                Ok(r) => r.map_err(Into::into),
                Err(_) => Err(Box::new(Status::deadline_exceeded(format!(
                    "the call took longer than the agent's limit of {} s",
                    limit.as_secs_f64()
                ))) as BoxError),
            }
        })
    }
}
