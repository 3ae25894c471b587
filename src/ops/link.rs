//! The gRPC calls operations make: Act with its progress stream, specs, volume copies,
//! backups. Every call has a time limit so a vanished agent fails a step instead of
//! hanging it.

use std::time::Duration;

use fleetdeck_proto as pb;
use futures::StreamExt;

use crate::client::{AgentAddr, Connections};

/// Longest one Act call may take.
pub const ACT_TIMEOUT: Duration = Duration::from_secs(120);
/// Longest a unary call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkFailure {
    #[error("{node}: cannot connect: {reason}")]
    Connect { node: String, reason: String },
    #[error("{node}: {message}")]
    Refused {
        node: String,
        kind: pb::ActErrorKind,
        message: String,
    },
    #[error("{node}: {reason}")]
    Call { node: String, reason: String },
    /// The agent refused the call to this console's role (PERMISSION_DENIED).
    #[error("{node}: {reason}")]
    Denied { node: String, reason: String },
    #[error("{node}: no answer within {secs} s")]
    Timeout { node: String, secs: u64 },
}

/// A connection to one agent, named for messages.
pub struct Link {
    node: String,
    client: crate::client::AgentConn,
}

fn call_failure(node: &str, s: &tonic::Status) -> LinkFailure {
    let node = node.to_string();
    match s.code() {
        tonic::Code::PermissionDenied => LinkFailure::Denied {
            node,
            reason: format!(
                "refused: {}; use a token with that role (token_file or FLEETDECK_TOKEN)",
                s.message()
            ),
        },
        _ => LinkFailure::Call {
            node,
            reason: s.message().to_string(),
        },
    }
}

impl Link {
    /// Calls `endpoint` (`host:port`) over its connection in `conns` (opened on first use),
    /// naming it `node` in errors.
    pub async fn open(
        conns: &Connections,
        node: &str,
        endpoint: &str,
    ) -> Result<Self, LinkFailure> {
        let fail = |reason: String| LinkFailure::Connect {
            node: node.to_string(),
            reason,
        };
        let addr: AgentAddr = endpoint
            .parse()
            .map_err(|e: crate::client::AddrError| fail(e.to_string()))?;
        let client = conns.client(&addr).await.map_err(|e| fail(e.to_string()))?;
        Ok(Self {
            node: node.to_string(),
            client,
        })
    }

    /// The node's name.
    pub fn node(&self) -> &str {
        &self.node
    }

    async fn timed<T>(
        &self,
        limit: Duration,
        f: impl std::future::Future<Output = Result<T, LinkFailure>>,
    ) -> Result<T, LinkFailure> {
        tokio::time::timeout(limit, f).await.unwrap_or_else(|_| {
            Err(LinkFailure::Timeout {
                node: self.node.clone(),
                secs: limit.as_secs(),
            })
        })
    }

    /// Runs one action; `progress` sees every progress message.
    pub async fn act(
        &mut self,
        request: pb::ActRequest,
        mut progress: impl FnMut(&pb::ActProgress),
    ) -> Result<pb::ActDone, LinkFailure> {
        let node = self.node.clone();
        let mut client = self.client.clone();
        self.timed(ACT_TIMEOUT, async move {
            let mut stream = client
                .act(request)
                .await
                .map_err(|s| call_failure(&node, &s))?
                .into_inner();
            while let Some(msg) = stream.next().await {
                let msg = msg.map_err(|s| call_failure(&node, &s))?;
                match msg.result {
                    Some(pb::act_progress::Result::Done(done)) => return Ok(done),
                    Some(pb::act_progress::Result::Error(e)) => {
                        return Err(LinkFailure::Refused {
                            node,
                            kind: pb::ActErrorKind::try_from(e.kind)
                                .unwrap_or(pb::ActErrorKind::Unspecified),
                            message: e.message,
                        });
                    }
                    None => progress(&msg),
                }
            }
            Err(LinkFailure::Call {
                node,
                reason: "the action stream ended without a result".into(),
            })
        })
        .await
    }

    /// ExportSpec.
    pub async fn export_spec(&mut self, container: &str) -> Result<pb::PortableSpec, LinkFailure> {
        let node = self.node.clone();
        let mut client = self.client.clone();
        let req = pb::ExportSpecRequest {
            container: container.to_string(),
        };
        self.timed(CALL_TIMEOUT, async move {
            client
                .export_spec(req)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|s| call_failure(&node, &s))
        })
        .await
    }

    /// GetInfo.
    pub async fn info(&mut self) -> Result<pb::NodeInfo, LinkFailure> {
        let node = self.node.clone();
        let mut client = self.client.clone();
        self.timed(CALL_TIMEOUT, async move {
            client
                .get_info(pb::GetInfoRequest {})
                .await
                .map(tonic::Response::into_inner)
                .map_err(|s| call_failure(&node, &s))
        })
        .await
    }

    /// ListSpecs.
    pub async fn list_specs(&mut self) -> Result<Vec<pb::PortableSpec>, LinkFailure> {
        let node = self.node.clone();
        let mut client = self.client.clone();
        self.timed(CALL_TIMEOUT, async move {
            client
                .list_specs(pb::ListSpecsRequest {})
                .await
                .map(|r| r.into_inner().specs)
                .map_err(|s| call_failure(&node, &s))
        })
        .await
    }

    /// Intent: begin, renew or end; a refusal (overlap, lease gone) is `Refused` with the
    /// agent's one line.
    pub async fn intent(&mut self, req: pb::IntentRequest) -> Result<pb::IntentReply, LinkFailure> {
        let node = self.node.clone();
        let mut client = self.client.clone();
        self.timed(CALL_TIMEOUT, async move {
            client
                .intent(req)
                .await
                .map(tonic::Response::into_inner)
                .map_err(|s| match s.code() {
                    tonic::Code::FailedPrecondition | tonic::Code::NotFound => {
                        LinkFailure::Refused {
                            node: node.clone(),
                            kind: pb::ActErrorKind::Conflict,
                            message: s.message().to_string(),
                        }
                    }
                    _ => call_failure(&node, &s),
                })
        })
        .await
    }

    /// ListIntents.
    pub async fn list_intents(&mut self) -> Result<pb::ListIntentsReply, LinkFailure> {
        let node = self.node.clone();
        let mut client = self.client.clone();
        self.timed(CALL_TIMEOUT, async move {
            client
                .list_intents(pb::ListIntentsRequest {})
                .await
                .map(tonic::Response::into_inner)
                .map_err(|s| call_failure(&node, &s))
        })
        .await
    }

    /// ListBackups.
    pub async fn list_backups(&mut self) -> Result<Vec<pb::BackupInfo>, LinkFailure> {
        let node = self.node.clone();
        let mut client = self.client.clone();
        self.timed(CALL_TIMEOUT, async move {
            client
                .list_backups(pb::ListBackupsRequest {})
                .await
                .map(|r| r.into_inner().backups)
                .map_err(|s| call_failure(&node, &s))
        })
        .await
    }

    /// The images this node's engine holds.
    pub async fn list_images(
        &mut self,
    ) -> Result<Vec<fleetdeck_core::image::EngineImage>, LinkFailure> {
        let node = self.node.clone();
        let mut client = self.client.clone();
        self.timed(CALL_TIMEOUT, async move {
            client
                .list_images(pb::ListImagesRequest {})
                .await
                .map(|r| {
                    let images = r.into_inner().images;
                    images
                        .iter()
                        .map(fleetdeck_core::image::EngineImage::from_proto)
                        .collect()
                })
                .map_err(|s| call_failure(&node, &s))
        })
        .await
    }

    /// Copies `from_container`'s volume data on this node into `to_container` on `target`,
    /// chunk by chunk (a few chunks in memory at most); `progress` sees bytes so far.
    pub async fn copy_volumes(
        &mut self,
        from_container: &str,
        target: &mut Link,
        to_container: &str,
        mut progress: impl FnMut(u64) + Send + 'static,
    ) -> Result<pb::WriteVolumesReply, LinkFailure> {
        let node = self.node.clone();
        let source = self
            .client
            .clone()
            .read_volumes(pb::ReadVolumesRequest {
                container: from_container.to_string(),
            })
            .await
            .map_err(|s| call_failure(&node, &s))?
            .into_inner();
        let head = pb::DataChunk {
            container: to_container.to_string(),
            data: Vec::new(),
        };
        let mut sent = 0_u64;
        // A source failure ends the upload early; the target then sees a truncated tar or
        // a reset stream, refuses it and keeps nothing.
        let (body, mut err_rx) = until_error(source);
        let body = body.inspect(move |c| {
            sent += c.data.len() as u64;
            progress(sent);
        });
        let upload = futures::stream::once(futures::future::ready(head)).chain(body);
        let tnode = target.node.clone();
        let reply = target
            .client
            .clone()
            .write_volumes(upload)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| call_failure(&tnode, &s));
        if let Ok(reason) = err_rx.try_recv() {
            return Err(LinkFailure::Call {
                node,
                reason: format!("reading volumes: {reason}"),
            });
        }
        reply
    }

    /// Copies backup `backup_id` held by this node into `target`'s registry, chunk by
    /// chunk (a few chunks in memory at most, whatever its size). `progress` sees the
    /// bytes the target has stored so far; the target checks size and SHA-256 on arrival
    /// and keeps nothing when they do not match. Returns the backup as the target lists it.
    /// A copy made for an intent (`intent` non-empty) carries it on the target.
    pub async fn copy_backup(
        &mut self,
        (backup_id, intent): (&str, &str),
        target: &mut Link,
        mut progress: impl FnMut(u64),
    ) -> Result<pb::BackupInfo, LinkFailure> {
        let node = self.node.clone();
        let source = self
            .client
            .clone()
            .read_backup(pb::ReadBackupRequest {
                backup_id: backup_id.to_string(),
            })
            .await
            .map_err(|s| call_failure(&node, &s))?
            .into_inner();
        // A source failure ends the upload early: the target sees fewer bytes than
        // announced, refuses the backup and keeps nothing.
        let (upload, mut err_rx) = until_error(source);
        // The first message carries the intent: the copy is removed if the action it is
        // made for ends unfinished.
        let intent = intent.to_owned();
        let upload = upload.enumerate().map(move |(i, mut chunk)| {
            if i == 0 {
                chunk.intent_id.clone_from(&intent);
            }
            chunk
        });
        let tnode = target.node.clone();
        let mut replies = target
            .client
            .clone()
            .write_backup(upload)
            .await
            .map_err(|s| call_failure(&tnode, &s))?
            .into_inner();
        let mut stored = None;
        let mut failure = None;
        while let Some(msg) = replies.next().await {
            match msg {
                Ok(p) => {
                    progress(p.bytes);
                    if let Some(info) = p.stored {
                        stored = Some(info);
                        break;
                    }
                }
                Err(s) => {
                    failure = Some(call_failure(&tnode, &s));
                    break;
                }
            }
        }
        if let Ok(reason) = err_rx.try_recv() {
            return Err(LinkFailure::Call {
                node,
                reason: format!("reading backup {backup_id}: {reason}"),
            });
        }
        match (stored, failure) {
            (Some(info), _) => Ok(info),
            (None, Some(f)) => Err(f),
            (None, None) => Err(LinkFailure::Call {
                node: tnode,
                reason: "the backup transfer ended without a result".into(),
            }),
        }
    }
}

/// The items of `source` up to its first error, and a receiver that gets that error's
/// message: a transfer forwards the good chunks and reports why the source stopped.
/// Asks every reachable node running a replica of `service` which images its engine
/// holds, and records them in `fleet` for the planner; a node that does not answer stays
/// unknown (the plan says so).
pub async fn fetch_images(conns: &Connections, fleet: &mut crate::model::Fleet, service: &str) {
    let nodes: Vec<(String, String)> = fleet
        .nodes()
        .iter()
        .filter(|n| n.is_live() && n.containers.values().any(|c| *c.spec.service == *service))
        .map(|n| (n.name().to_string(), n.endpoint.clone()))
        .collect();
    let asks = nodes.into_iter().map(|(name, endpoint)| async move {
        let images = async {
            let mut link = Link::open(conns, &name, &endpoint).await?;
            link.list_images().await
        }
        .await;
        (name, images)
    });
    for (name, images) in futures::future::join_all(asks).await {
        if let Ok(list) = images {
            fleet.set_images(&name, list);
        }
    }
}

fn until_error<T>(
    source: impl futures::Stream<Item = Result<T, tonic::Status>>,
) -> (
    impl futures::Stream<Item = T>,
    tokio::sync::oneshot::Receiver<String>,
) {
    let (err_tx, err_rx) = tokio::sync::oneshot::channel::<String>();
    let mut err_tx = Some(err_tx);
    let items = source
        .take_while(move |r| {
            if let (Err(s), Some(tx)) = (r, err_tx.take()) {
                let _ = tx.send(s.message().to_string());
            }
            futures::future::ready(r.is_ok())
        })
        .filter_map(|r| futures::future::ready(r.ok()));
    (items, err_rx)
}
