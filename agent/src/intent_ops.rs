//! The intent calls on [`Actions`]: begin, renew and end a console's intent, and roll back
//! on the agent's own what is safe when a lease expires (or an intent ends unfinished):
//! the uncommitted copies labelled with the intent id, with the volumes and staged data
//! made for them. A source never carries an intent's pending label, so it is never touched.
//! Every reaping is written to the audit log.

use std::net::SocketAddr;

use fleetdeck_core::labels::{INTENT_LABEL, PENDING_LABEL};
use fleetdeck_proto as pb;
use pb::IntentState as S;

use super::{Actions, runtime_error};
use crate::audit::{Caller, Outcome, Record, now_rfc3339};
use crate::intents::{IntentError, state_name};
use crate::model::{ActError, ActErrorKind, ContainerVerb};
use crate::server::auth::Identity;

/// Milliseconds since the Unix epoch, the clock leases are kept in.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl From<IntentError> for ActError {
    fn from(e: IntentError) -> Self {
        let kind = match e {
            IntentError::Claimed(_) => ActErrorKind::Conflict,
            IntentError::Gone(_) => ActErrorKind::NotFound,
            IntentError::Invalid(_) => ActErrorKind::Invalid,
        };
        Self::new(kind, e.to_string())
    }
}

/// `labels` plus the intent label when the action belongs to intent `id` (non-empty).
pub(super) fn with_intent(
    labels: &std::collections::BTreeMap<String, String>,
    id: &str,
) -> std::collections::BTreeMap<String, String> {
    let mut out = labels.clone();
    if !id.is_empty() {
        out.insert(INTENT_LABEL.to_owned(), id.to_owned());
    }
    out
}

impl Actions {
    /// Keeps intents in `dir` (the state directory), so they survive a restart.
    pub fn with_intents_in(mut self, dir: std::path::PathBuf) -> Self {
        self.intents = crate::intents::IntentStore::open(Some(dir));
        self
    }

    /// The intents this node holds, newest first.
    pub fn intents(&self) -> Vec<pb::IntentRecord> {
        self.intents.list()
    }

    /// The generation of this node's intents, which every Watch event carries.
    pub fn intents_generation(&self) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        self.intents.generation()
    }

    /// Why work for intent `id` must not start on this node now (its lease expired or it
    /// ended here); `None` when it may.
    pub fn intent_refusal(&self, id: &str) -> Option<String> {
        self.intents.refusal(id, unix_ms())
    }

    /// Handles one Intent call (begin, renew, end), audited.
    pub async fn intent(
        &self,
        req: pb::IntentRequest,
        peer: Option<SocketAddr>,
        identity: Option<&Identity>,
    ) -> Result<pb::IntentReply, ActError> {
        use pb::intent_request::Op;
        crate::validate::intent_request(&req)
            .map_err(|m| ActError::new(ActErrorKind::Invalid, m))?;
        let owner = (req.requested_by.as_str(), req.owner_pid);
        let now = unix_ms();
        let (verb, result) = match req.op.clone() {
            Some(Op::Begin(mut rec)) => {
                rec.id.clone_from(&req.intent_id);
                let r = self.intents.begin(rec, owner, req.lease_ms, now);
                ("intent.begin", r.map(|i| (i, String::new())))
            }
            Some(Op::RenewStep(step)) => {
                let r = self
                    .intents
                    .renew(&req.intent_id, owner, step, req.lease_ms, now);
                // Renewals are the heartbeat: only their refusals are audited.
                if let Ok(i) = r {
                    return Ok(pb::IntentReply {
                        intent: Some(i),
                        message: String::new(),
                    });
                }
                ("intent.renew", r.map(|i| (i, String::new())))
            }
            Some(Op::End(end)) => {
                let state = S::try_from(end.state).unwrap_or_default();
                let mut result = self.intents.end(&req.intent_id, state, &end.message, now);
                if result.is_ok() && state != S::Done {
                    let undone = self.roll_back(&req.intent_id, &req.requested_by).await;
                    result = result.map(|mut i| {
                        i.message = format!("{}{undone}", i.message);
                        i
                    });
                }
                ("intent.end", result.map(|i| (i.clone(), i.message)))
            }
            None => (
                "intent",
                Err(IntentError::Invalid(
                    "the request names no intent operation".into(),
                )),
            ),
        };
        let result = result.map_err(ActError::from);
        let record = Record {
            time: now_rfc3339(),
            action_id: req.intent_id.clone(),
            caller: Caller::new(&req.requested_by, peer).with_identity(identity),
            action: Some(verb.to_owned()),
            target: self.hub.info().node_id,
            dry_run: None,
            outcome: Outcome::of(
                &result
                    .as_ref()
                    .map(|(i, m)| format!("{} {}: {m}", i.action, state_name(i.state)))
                    .map_err(Clone::clone),
                false,
            ),
        };
        if let Err(e) = self.audit.append(&record) {
            tracing::error!("{e}");
        }
        result.map(|(intent, message)| pb::IntentReply {
            intent: Some(intent),
            message,
        })
    }

    /// Marks every intent whose lease expired interrupted and removes its uncommitted
    /// copies here; run by the housekeeper every few seconds and once at start.
    pub async fn reap_expired(&self) {
        for expired in self.intents.expire(unix_ms()) {
            tracing::warn!(
                intent = expired.id,
                "the lease of {} by {} expired; rolling back its uncommitted copies",
                expired.action,
                expired.owner
            );
            let undone = self.roll_back(&expired.id, "agent (lease expired)").await;
            if !undone.is_empty() {
                self.intents
                    .note(&expired.id, undone.trim_start_matches("; "));
            }
        }
        self.sweep_ended().await;
    }

    /// Removes pending copies of intents that are no longer running here and did not end
    /// done: a creation that was already under way when its intent ended (or expired)
    /// finishes after the roll back has looked, and would otherwise stay.
    async fn sweep_ended(&self) {
        let given_up: std::collections::HashSet<String> = self
            .intents
            .list()
            .into_iter()
            .filter(|r| {
                matches!(
                    S::try_from(r.state).unwrap_or_default(),
                    S::Interrupted | S::Failed | S::RolledBack
                )
            })
            .map(|r| r.id)
            .collect();
        if given_up.is_empty() {
            return;
        }
        let mut late: Vec<String> = self
            .hub
            .snapshot()
            .containers
            .iter()
            .filter(|c| c.spec.labels.contains_key(PENDING_LABEL))
            .filter_map(|c| c.spec.labels.get(INTENT_LABEL))
            .filter(|id| given_up.contains(*id))
            .cloned()
            .collect();
        late.sort();
        late.dedup();
        for id in late {
            let undone = self
                .roll_back(&id, "agent (intent no longer running)")
                .await;
            if !undone.is_empty() {
                self.intents.note(&id, undone.trim_start_matches("; "));
            }
        }
    }

    /// Removes the backups copied here for intent `id` (staged for a restore on this node);
    /// returns their ids.
    async fn remove_staged(&self, id: &str) -> Vec<String> {
        let (registry, id) = (self.backups.clone(), id.to_owned());
        match tokio::task::spawn_blocking(move || registry.remove_of_intent(&id)).await {
            Ok(removed) => removed,
            Err(e) => {
                tracing::error!("cannot remove the backups staged for an intent: {e}");
                Vec::new()
            }
        }
    }

    /// Stops and removes the uncommitted copies intent `id` made on this node; says what
    /// it removed (`; removed …`, empty when nothing), each removal audited.
    async fn roll_back(&self, id: &str, by: &str) -> String {
        let containers = match self.runtime.containers().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(intent = id, "cannot list containers to roll back: {e}");
                return format!("; could not list containers to roll back: {e}");
            }
        };
        let mut removed = Vec::new();
        for c in containers.iter().filter(|c| {
            c.spec.labels.get(INTENT_LABEL).map(String::as_str) == Some(id)
                && c.spec.labels.contains_key(PENDING_LABEL)
        }) {
            let mut result = Ok(());
            if c.status.state.is_up() {
                result = self.runtime.act(ContainerVerb::Stop, &c.spec.id).await;
            }
            if result.is_ok() {
                result = self.runtime.act(ContainerVerb::Remove, &c.spec.id).await;
            }
            let result = result
                .map(|()| {
                    format!(
                        "removed {}, an uncommitted copy of intent {id}",
                        c.spec.name
                    )
                })
                .map_err(runtime_error);
            let record = Record {
                time: now_rfc3339(),
                action_id: id.to_owned(),
                caller: Caller::new(by, None),
                action: Some("intent.reap".to_owned()),
                target: c.spec.name.clone(),
                dry_run: Some(false),
                outcome: Outcome::of(&result, false),
            };
            if let Err(e) = self.audit.append(&record) {
                tracing::error!("{e}");
            }
            match result {
                Ok(_) => removed.push(c.spec.name.clone()),
                Err(e) => tracing::error!(intent = id, "cannot remove {}: {e}", c.spec.name),
            }
        }
        for backup in self.remove_staged(id).await {
            let record = Record {
                time: now_rfc3339(),
                action_id: id.to_owned(),
                caller: Caller::new(by, None),
                action: Some("intent.reap".to_owned()),
                target: backup.clone(),
                dry_run: Some(false),
                outcome: Outcome::of(
                    &Ok::<_, ActError>(format!(
                        "removed backup {backup}, copied here for intent {id}"
                    )),
                    false,
                ),
            };
            if let Err(e) = self.audit.append(&record) {
                tracing::error!("{e}");
            }
            removed.push(format!("backup {backup}"));
        }
        if removed.is_empty() {
            String::new()
        } else {
            format!(
                "; removed {} on {}",
                removed.join(", "),
                self.hub.info().node_id
            )
        }
    }
}
