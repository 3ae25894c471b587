//! The tonic `Agent` service: Watch, Act, GetInfo, Logs, History and the transfers.

use std::sync::Arc;
use std::time::Duration;

use fleetdeck_proto as pb;
use tonic::{Request, Response, Status};

use crate::actions::{ActStream, Actions, Refusal};
use crate::cancel::Cancel;
use crate::exec::session::{self, Opened};
use crate::exec::{ExecConfig, ExecSessions};
use crate::hub::Hub;
use crate::logs::{self, LogQuery, LogsStream};
use crate::model::ActErrorKind;
use crate::runtime::{Runtime, RuntimeError};
use crate::server::auth::{self, Identity, layer::denied};
use crate::server::limits::{
    ACTION_BURST, ACTIONS_PER_SEC, MAX_LOGS_STREAMS, MAX_LOGS_STREAMS_PER_CALLER,
    MAX_WATCH_STREAMS, MAX_WATCH_STREAMS_PER_CALLER, Permitted, RateLimiter, StillValid, StreamCap,
};
use crate::server::stream::{self, WatchStream};
use crate::server::tls::PeerInfo;
use crate::transfer::{BackupStream, ChunkStream, Transfer, WriteBackupStream};
use crate::validate;

/// One node's gRPC service.
pub struct AgentService {
    hub: Hub,
    actions: Arc<Actions>,
    transfer: Arc<Transfer>,
    cancel: Cancel,
    heartbeat: Duration,
    stream_buffer: usize,
    runtime: Option<Arc<dyn Runtime>>,
    limiter: RateLimiter,
    watch_cap: StreamCap,
    logs_cap: StreamCap,
    auth: Option<Arc<auth::AuthPolicy>>,
    exec: ExecSessions,
}

/// The remote address of a request, over plain TCP or TLS.
fn peer_of<T>(request: &Request<T>) -> Option<std::net::SocketAddr> {
    request
        .extensions()
        .get::<PeerInfo>()
        .and_then(|p| p.remote)
        .or_else(|| request.remote_addr())
}

/// Who a caller is for per-caller limits: its identity, or its address when anonymous (an
/// open agent's callers share one name).
fn caller_key(identity: &Identity, peer: Option<std::net::SocketAddr>) -> String {
    match peer {
        Some(p) if identity.is_anonymous() => format!("anonymous@{}", p.ip()),
        _ => identity.name.clone(),
    }
}

/// The caller [`auth::AuthLayer`] identified; a service served without it is open.
fn identity_of<T>(request: &Request<T>) -> Identity {
    request
        .extensions()
        .get::<Identity>()
        .cloned()
        .unwrap_or_else(Identity::anonymous)
}

impl AgentService {
    /// Refuses new calls once the agent is stopping.
    fn ensure_running(&self) -> Result<(), Status> {
        if self.cancel.is_cancelled() {
            return Err(Status::unavailable("agent is shutting down"));
        }
        Ok(())
    }

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
            limiter: RateLimiter::new(ACTION_BURST, ACTIONS_PER_SEC),
            watch_cap: StreamCap::new("Watch", MAX_WATCH_STREAMS, MAX_WATCH_STREAMS_PER_CALLER),
            logs_cap: StreamCap::new("Logs", MAX_LOGS_STREAMS, MAX_LOGS_STREAMS_PER_CALLER),
            auth: None,
            exec: ExecSessions::new(ExecConfig::default()),
        }
    }

    /// Caps concurrent Watch and Logs streams from `limits` (all callers, and each caller).
    pub fn with_stream_caps(mut self, limits: &crate::config::LimitsConfig) -> Self {
        self.watch_cap = StreamCap::new(
            "Watch",
            limits.max_watch_streams,
            limits.max_watch_per_caller,
        );
        self.logs_cap = StreamCap::new("Logs", limits.max_logs_streams, limits.max_logs_per_caller);
        self
    }

    /// The Watch and Logs caps (shared with the service), for the open-stream gauge.
    pub fn stream_caps(&self) -> (StreamCap, StreamCap) {
        (self.watch_cap.clone(), self.logs_cap.clone())
    }

    /// Re-checks the caller of every open Watch and Logs stream against `policy`, so a
    /// revoked token loses its streams within seconds.
    pub fn with_auth(mut self, policy: Arc<auth::AuthPolicy>) -> Self {
        self.auth = Some(policy);
        self
    }

    /// The check an open stream of `who` runs, when this service checks callers.
    fn still_valid(&self, who: Identity) -> Option<StillValid> {
        let policy = Arc::clone(self.auth.as_ref()?);
        Some(Arc::new(move || policy.still_valid(&who)))
    }

    /// Allows each caller `burst` actions at once, then `per_sec`.
    pub fn with_action_rate(mut self, burst: u32, per_sec: u32) -> Self {
        self.limiter = RateLimiter::new(burst, per_sec);
        self
    }

    /// Runs exec sessions with these settings (role, idle timeout, cap).
    pub fn with_exec(mut self, config: ExecConfig) -> Self {
        self.exec = ExecSessions::new(config);
        self
    }

    /// Serves container logs from `runtime`; without it Logs answers "unimplemented".
    pub fn with_runtime(mut self, runtime: Arc<dyn Runtime>) -> Self {
        self.runtime = Some(runtime);
        self
    }
}

#[tonic::async_trait]
impl pb::agent_server::Agent for AgentService {
    type WatchStream = Permitted<WatchStream>;
    type ActStream = ActStream;
    type ReadVolumesStream = ChunkStream;
    type ReadBackupStream = BackupStream;
    type WriteBackupStream = WriteBackupStream;
    type LogsStream = Permitted<LogsStream>;
    type ExecStream = crate::exec::session::ExecStream;

    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        self.ensure_running()?;
        let peer = peer_of(&request);
        let identity = identity_of(&request);
        let slot = self.watch_cap.take(&caller_key(&identity, peer))?;
        let client = validate::client_name(&request.into_inner().client_name);
        tracing::debug!(client, who = identity.name, ?peer, "watch stream opened");
        let stream = stream::open(
            (self.hub.clone(), self.actions.intents_generation()),
            self.cancel.clone(),
            self.heartbeat,
            self.stream_buffer,
            client,
        );
        Ok(Response::new(Permitted::new(
            stream,
            slot,
            self.still_valid(identity),
        )))
    }

    async fn act(
        &self,
        request: Request<pb::ActRequest>,
    ) -> Result<Response<Self::ActStream>, Status> {
        if let Some(read) = request.extensions().get::<auth::layer::RequestRead>() {
            read.mark();
        }
        self.ensure_running()?;
        let peer = peer_of(&request);
        let identity = identity_of(&request);
        let req = request.into_inner();
        let kind = auth::action_kind(&req);
        let refuse = |status: Status, why: ActErrorKind| {
            self.actions.record_refusal(Refusal {
                action_id: &req.action_id,
                requested_by: &req.requested_by,
                peer,
                identity: Some(&identity),
                action: &kind,
                target: None,
                dry_run: Some(req.dry_run),
                kind: why,
                message: status.message(),
            });
            Err(status)
        };
        let need = auth::action_role(&req);
        if identity.role < need {
            return refuse(denied(&kind, need, &identity), ActErrorKind::Denied);
        }
        // Anonymous callers share one bucket per address rather than one for all.
        let bucket = caller_key(&identity, peer);
        if !self.limiter.allow(&bucket, std::time::Instant::now()) {
            let wait = self.limiter.retry_after().as_millis();
            let status = Status::resource_exhausted(format!(
                "too many actions from {}; at most {} a second, retry in {wait} ms",
                identity.name,
                self.limiter.per_sec()
            ));
            return refuse(status, ActErrorKind::Denied);
        }
        Ok(Response::new(self.actions.start_as(
            req,
            peer,
            Some(identity),
        )))
    }

    async fn logs(
        &self,
        request: Request<pb::LogsRequest>,
    ) -> Result<Response<Self::LogsStream>, Status> {
        self.ensure_running()?;
        let Some(runtime) = &self.runtime else {
            return Err(Status::unimplemented("this agent serves no logs"));
        };
        let peer = peer_of(&request);
        let identity = identity_of(&request);
        let slot = self.logs_cap.take(&caller_key(&identity, peer))?;
        let req = request.into_inner();
        let target = validate::logs_request(&req).map_err(Status::invalid_argument)?;
        // Only containers this node shows (its label scope) can be read.
        let c = self
            .hub
            .find(target)
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
        Ok(Response::new(Permitted::new(
            logs::serve(lines, self.cancel.clone()),
            slot,
            self.still_valid(identity),
        )))
    }

    async fn exec(
        &self,
        request: Request<tonic::Streaming<pb::ExecInput>>,
    ) -> Result<Response<Self::ExecStream>, Status> {
        self.ensure_running()?;
        let Some(runtime) = &self.runtime else {
            return Err(Status::unimplemented("this agent runs no commands"));
        };
        let peer = peer_of(&request);
        let identity = identity_of(&request);
        let refuse = |status: Status, target: Option<&str>, kind: ActErrorKind| {
            self.actions.record_refusal(Refusal {
                action_id: "",
                requested_by: "",
                peer,
                identity: Some(&identity),
                action: "container.exec",
                target,
                dry_run: None,
                kind,
                message: status.message(),
            });
            Err(status)
        };
        let need = self.exec.config().role;
        if identity.role < need {
            return refuse(denied("exec", need, &identity), None, ActErrorKind::Denied);
        }
        let slot = match self.exec.take() {
            Ok(slot) => slot,
            Err(m) => return refuse(Status::resource_exhausted(m), None, ActErrorKind::Denied),
        };
        let mut inbound = request.into_inner();
        let first = inbound.message().await?.and_then(|m| m.input);
        let Some(pb::exec_input::Input::Start(start)) = first else {
            let why = "the first exec message must carry start (container and command)";
            return refuse(Status::invalid_argument(why), None, ActErrorKind::Invalid);
        };
        let (target, spec) = match validate::exec_start(&start) {
            Ok(checked) => checked,
            Err(e) => return refuse(Status::invalid_argument(e), None, ActErrorKind::Invalid),
        };
        // Only containers this node shows (its label scope) can be entered.
        let c = match self.hub.find(target) {
            Ok(c) => c,
            Err(e) => {
                let status = Status::not_found(e.message);
                return refuse(status, Some(target), ActErrorKind::NotFound);
            }
        };
        let io = match runtime.exec(&c.spec.id, &spec).await {
            Ok(io) => io,
            Err(e) => {
                let (status, kind) = match e {
                    RuntimeError::NotFound(_) => {
                        (Status::not_found(e.to_string()), ActErrorKind::NotFound)
                    }
                    RuntimeError::Conflict(_) => (
                        Status::failed_precondition(e.to_string()),
                        ActErrorKind::Conflict,
                    ),
                    RuntimeError::Unavailable(_) => {
                        (Status::unavailable(e.to_string()), ActErrorKind::Runtime)
                    }
                    _ => (Status::internal(e.to_string()), ActErrorKind::Runtime),
                };
                return refuse(status, Some(&c.spec.name), kind);
            }
        };
        let opened = Opened {
            caller: crate::audit::Caller::new(&validate::client_name(&start.requested_by), peer)
                .with_identity(Some(&identity)),
            name: c.spec.name.clone(),
            id: c.spec.id.clone(),
            spec,
        };
        let actions = Arc::clone(&self.actions);
        let rules = session::Rules {
            idle: self.exec.config().idle_timeout,
            cancel: self.cancel.clone(),
            slot,
            record: Arc::new(move |record| actions.record_line(record)),
            still_valid: self.still_valid(identity),
        };
        Ok(Response::new(session::serve(io, inbound, opened, rules)))
    }

    async fn history(
        &self,
        request: Request<pb::HistoryRequest>,
    ) -> Result<Response<pb::HistoryReply>, Status> {
        self.ensure_running()?;
        let wanted =
            validate::history_request(request.get_ref()).map_err(Status::invalid_argument)?;
        Ok(Response::new(self.hub.history(wanted).to_proto()))
    }

    async fn get_info(
        &self,
        _request: Request<pb::GetInfoRequest>,
    ) -> Result<Response<pb::NodeInfo>, Status> {
        Ok(Response::new(self.hub.info().to_proto()))
    }

    async fn export_spec(
        &self,
        request: Request<pb::ExportSpecRequest>,
    ) -> Result<Response<pb::PortableSpec>, Status> {
        let req = request.into_inner();
        let target = container_arg(&req.container)?;
        Ok(Response::new(self.transfer.export_spec(target).await?))
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
        let req = request.into_inner();
        let target = container_arg(&req.container)?;
        Ok(Response::new(self.transfer.read_volumes(target).await?))
    }

    async fn write_volumes(
        &self,
        request: Request<tonic::Streaming<pb::DataChunk>>,
    ) -> Result<Response<pb::WriteVolumesReply>, Status> {
        let mut stream = request.into_inner();
        let first = stream.message().await?.ok_or_else(|| {
            Status::invalid_argument("empty stream: the first chunk must name the container")
        })?;
        let target = container_arg(&first.container)?;
        Ok(Response::new(
            self.transfer
                .write_volumes(target, first.data, stream)
                .await?,
        ))
    }

    async fn intent(
        &self,
        request: Request<pb::IntentRequest>,
    ) -> Result<Response<pb::IntentReply>, Status> {
        self.ensure_running()?;
        let peer = peer_of(&request);
        let identity = identity_of(&request);
        let reply = self
            .actions
            .intent(request.into_inner(), peer, Some(&identity))
            .await
            .map_err(|e| match e.kind {
                ActErrorKind::Conflict => Status::failed_precondition(e.message),
                ActErrorKind::NotFound => Status::not_found(e.message),
                _ => Status::invalid_argument(e.message),
            })?;
        Ok(Response::new(reply))
    }

    async fn list_intents(
        &self,
        _request: Request<pb::ListIntentsRequest>,
    ) -> Result<Response<pb::ListIntentsReply>, Status> {
        // Read before the list: a change while it is read moves it on, so it is asked again.
        let generation = self
            .actions
            .intents_generation()
            .load(std::sync::atomic::Ordering::Relaxed);
        Ok(Response::new(pb::ListIntentsReply {
            intents: self.actions.intents(),
            generation,
        }))
    }

    async fn list_backups(
        &self,
        _request: Request<pb::ListBackupsRequest>,
    ) -> Result<Response<pb::ListBackupsReply>, Status> {
        Ok(Response::new(self.transfer.list_backups().await?))
    }

    async fn list_images(
        &self,
        _request: Request<pb::ListImagesRequest>,
    ) -> Result<Response<pb::ListImagesReply>, Status> {
        self.ensure_running()?;
        Ok(Response::new(self.transfer.list_images().await?))
    }

    async fn read_backup(
        &self,
        request: Request<pb::ReadBackupRequest>,
    ) -> Result<Response<Self::ReadBackupStream>, Status> {
        let req = request.into_inner();
        let id = backup_arg(&req.backup_id)?;
        Ok(Response::new(self.transfer.read_backup(id).await?))
    }

    async fn write_backup(
        &self,
        request: Request<tonic::Streaming<pb::BackupChunk>>,
    ) -> Result<Response<Self::WriteBackupStream>, Status> {
        let mut stream = request.into_inner();
        let first = stream.message().await?.ok_or_else(|| {
            Status::invalid_argument(
                "empty stream: the first message must carry the backup's record",
            )
        })?;
        let info = first.info.ok_or_else(|| {
            Status::invalid_argument("the first message must carry the backup's record (info)")
        })?;
        backup_arg(&info.id)?;
        if !first.intent_id.is_empty() {
            validate::intent_id(&first.intent_id).map_err(Status::invalid_argument)?;
            // A copy for an intent already given up here would never be reaped.
            if let Some(why) = self.actions.intent_refusal(&first.intent_id) {
                return Err(Status::failed_precondition(why));
            }
        }
        Ok(Response::new(
            self.transfer
                .write_backup((info, first.intent_id), first.data, stream)
                .await?,
        ))
    }
}

/// The `container` a request names, trimmed and checked like every other reference.
fn container_arg(raw: &str) -> Result<&str, Status> {
    let target = raw.trim();
    validate::container_ref("container", target).map_err(Status::invalid_argument)?;
    Ok(target)
}

/// The backup id a request names, trimmed and checked.
fn backup_arg(raw: &str) -> Result<&str, Status> {
    let id = raw.trim();
    validate::backup_id(id).map_err(Status::invalid_argument)?;
    Ok(id)
}
