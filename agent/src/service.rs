//! The tonic `Agent` service: Watch, Act, GetInfo.

use std::sync::Arc;
use std::time::Duration;

use fleetdeck_proto as pb;
use tonic::{Request, Response, Status};

use crate::actions::{ActStream, Actions};
use crate::cancel::Cancel;
use crate::convert;
use crate::hub::Hub;
use crate::stream::{self, WatchStream};

/// One node's gRPC service.
pub struct AgentService {
    hub: Hub,
    actions: Arc<Actions>,
    cancel: Cancel,
    heartbeat: Duration,
    stream_buffer: usize,
}

impl AgentService {
    /// Serves `hub` and `actions`; streams end when `cancel` fires.
    pub fn new(
        hub: Hub,
        actions: Arc<Actions>,
        cancel: Cancel,
        heartbeat: Duration,
        stream_buffer: usize,
    ) -> Self {
        Self {
            hub,
            actions,
            cancel,
            heartbeat,
            stream_buffer,
        }
    }
}

#[tonic::async_trait]
impl pb::agent_server::Agent for AgentService {
    type WatchStream = WatchStream;
    type ActStream = ActStream;

    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        if self.cancel.is_cancelled() {
            return Err(Status::unavailable("agent is shutting down"));
        }
        let peer = request.remote_addr();
        let client = request.into_inner().client_name;
        tracing::debug!(client, ?peer, "watch stream opened");
        let stream = stream::open(
            self.hub.clone(),
            self.cancel.clone(),
            self.heartbeat,
            self.stream_buffer,
            client,
        );
        Ok(Response::new(stream))
    }

    async fn act(
        &self,
        request: Request<pb::ActRequest>,
    ) -> Result<Response<Self::ActStream>, Status> {
        if self.cancel.is_cancelled() {
            return Err(Status::unavailable("agent is shutting down"));
        }
        let peer = request.remote_addr();
        Ok(Response::new(
            self.actions.start(request.into_inner(), peer),
        ))
    }

    async fn get_info(
        &self,
        _request: Request<pb::GetInfoRequest>,
    ) -> Result<Response<pb::NodeInfo>, Status> {
        Ok(Response::new(convert::node_info(&self.hub.info())))
    }
}
