//! The tonic `Agent` service: Watch, Act, GetInfo, Logs.

use std::sync::Arc;
use std::time::Duration;

use fleetdeck_proto as pb;
use tonic::{Request, Response, Status};

use crate::actions::{ActStream, Actions};
use crate::cancel::Cancel;
use crate::convert;
use crate::hub::Hub;
use crate::logs::{self, LogQuery, LogsStream};
use crate::runtime::{Runtime, RuntimeError};
use crate::stream::{self, WatchStream};
use crate::transfer::{ChunkStream, Transfer};

/// One node's gRPC service.
pub struct AgentService {
    hub: Hub,
    actions: Arc<Actions>,
    transfer: Arc<Transfer>,
    cancel: Cancel,
    heartbeat: Duration,
    stream_buffer: usize,
    runtime: Option<Arc<dyn Runtime>>,
}

impl AgentService {
    /// Serves `hub` and `actions`; streams end when `cancel` fires.
    pub fn new(
        hub: Hub,
        actions: Arc<Actions>,
        transfer: Arc<Transfer>,
        cancel: Cancel,
        heartbeat: Duration,
        stream_buffer: usize,
    ) -> Self {
        Self {
            hub,
            actions,
            transfer,
            cancel,
            heartbeat,
            stream_buffer,
            runtime: None,
        }
    }

    /// Serves container logs from `runtime`; without it Logs answers "unimplemented".
    pub fn with_runtime(mut self, runtime: Arc<dyn Runtime>) -> Self {
        self.runtime = Some(runtime);
        self
    }
}

#[tonic::async_trait]
impl pb::agent_server::Agent for AgentService {
    type WatchStream = WatchStream;
    type ActStream = ActStream;
    type ReadVolumesStream = ChunkStream;
    type LogsStream = LogsStream;

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

    async fn logs(
        &self,
        request: Request<pb::LogsRequest>,
    ) -> Result<Response<Self::LogsStream>, Status> {
        if self.cancel.is_cancelled() {
            return Err(Status::unavailable("agent is shutting down"));
        }
        let Some(runtime) = &self.runtime else {
            return Err(Status::unimplemented("this agent serves no logs"));
        };
        let req = request.into_inner();
        if req.tail > logs::MAX_TAIL_LINES {
            return Err(Status::invalid_argument(format!(
                "tail {} is more than the {} lines allowed",
                req.tail,
                logs::MAX_TAIL_LINES
            )));
        }
        // Only containers this node shows (its label scope) can be read.
        let c = self
            .hub
            .find(&req.container)
            .map_err(|e| Status::not_found(e.message))?;
        let query = LogQuery {
            tail: req.tail,
            follow: req.follow,
            since_unix_ms: req.since_unix_ms,
        };
        let lines = runtime.logs(&c.spec.id, query).await.map_err(|e| match e {
            RuntimeError::NotFound(_) => Status::not_found(e.to_string()),
            RuntimeError::Unavailable(_) => Status::unavailable(e.to_string()),
            _ => Status::internal(e.to_string()),
        })?;
        Ok(Response::new(logs::serve(lines, self.cancel.clone())))
    }

    async fn get_info(
        &self,
        _request: Request<pb::GetInfoRequest>,
    ) -> Result<Response<pb::NodeInfo>, Status> {
        Ok(Response::new(convert::node_info(&self.hub.info())))
    }

    async fn export_spec(
        &self,
        request: Request<pb::ExportSpecRequest>,
    ) -> Result<Response<pb::PortableSpec>, Status> {
        let target = request.into_inner().container;
        Ok(Response::new(
            self.transfer.export_spec(target.trim()).await?,
        ))
    }

    async fn list_specs(
        &self,
        _request: Request<pb::ListSpecsRequest>,
    ) -> Result<Response<pb::ListSpecsReply>, Status> {
        Ok(Response::new(self.transfer.list_specs().await?))
    }

    async fn read_volumes(
        &self,
        request: Request<pb::ReadVolumesRequest>,
    ) -> Result<Response<Self::ReadVolumesStream>, Status> {
        let target = request.into_inner().container;
        Ok(Response::new(
            self.transfer.read_volumes(target.trim()).await?,
        ))
    }

    async fn write_volumes(
        &self,
        request: Request<tonic::Streaming<pb::DataChunk>>,
    ) -> Result<Response<pb::WriteVolumesReply>, Status> {
        Ok(Response::new(
            self.transfer.write_volumes(request.into_inner()).await?,
        ))
    }

    async fn list_backups(
        &self,
        _request: Request<pb::ListBackupsRequest>,
    ) -> Result<Response<pb::ListBackupsReply>, Status> {
        Ok(Response::new(self.transfer.list_backups().await?))
    }
}
