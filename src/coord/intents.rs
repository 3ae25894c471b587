//! Intents in etcd, beside the agents' copies: a console whose agent list does not include
//! an action's nodes still sees it, running or interrupted, and can abort it.
//!
//! Under the prefix:
//! - `intents/<id>`: the durable record (JSON), written when the action starts, its step
//!   rewritten as it advances and its end state written when it ends;
//! - `live/<id>`: bound to the lease of the action's locks, so it goes when the console
//!   that runs the action dies; a record still `running` without it is interrupted.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::etcd::{Etcd, EtcdError};
use crate::ops::intent::IntentInfo;
use crate::ops::plan::NodeRef;

/// An intent as written in etcd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub action: String,
    pub title: String,
    pub owner: String,
    pub owner_pid: u32,
    /// The proposal as the console wrote it (JSON), for a resume.
    pub proposal: String,
    /// The plan, one line per effect (its steps stay on the agents: etcd holds no spec).
    pub plan: Vec<String>,
    /// Steps done so far, of `steps`.
    pub step: u32,
    pub steps: u32,
    /// Every node it acts on, with the endpoint its console reached it at.
    pub nodes: Vec<(String, String)>,
    pub locked_nodes: Vec<String>,
    pub locked_containers: Vec<String>,
    /// running | done | failed | rolled_back (interrupted is read, never written).
    pub state: String,
    pub message: String,
    pub started_unix_ms: u64,
    pub updated_unix_ms: u64,
}

/// The key of intent `id`'s record.
pub fn record_key(prefix: &str, id: &str) -> String {
    format!("{prefix}intents/{id}")
}

/// The key that is there while intent `id`'s console holds it.
pub fn live_key(prefix: &str, id: &str) -> String {
    format!("{prefix}live/{id}")
}

impl Record {
    /// As the console lists it: `interrupted` when it says running but its console's
    /// lease is gone.
    pub fn info(self, live: bool) -> IntentInfo {
        let state = if self.state == "running" && !live {
            "interrupted".to_owned()
        } else {
            self.state.clone()
        };
        IntentInfo {
            id: self.id,
            action: self.action,
            etcd_state: Some(state.clone()),
            state,
            owner: self.owner,
            owner_pid: self.owner_pid,
            title: self.title,
            step: self.step,
            steps: self.steps,
            nodes: self.nodes.iter().map(|(n, _)| n.clone()).collect(),
            locked_nodes: self.locked_nodes,
            locked_containers: self.locked_containers,
            started_unix_ms: self.started_unix_ms,
            updated_unix_ms: self.updated_unix_ms,
            plan: self.plan,
            message: self.message,
            held_by: Vec::new(),
            endpoints: Vec::new(),
            states: Vec::new(),
            proposal: self.proposal,
            steps_json: String::new(),
            node_refs: self
                .nodes
                .into_iter()
                .map(|(name, endpoint)| NodeRef { name, endpoint })
                .collect(),
        }
    }
}

/// How long an ended intent's record stays in etcd (the agents keep their last 200).
pub const ENDED_KEPT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Whether `record` ended longer than [`ENDED_KEPT`] before `now_ms`.
fn stale(record: &Record, now_ms: u64) -> bool {
    let ended = matches!(record.state.as_str(), "done" | "failed" | "rolled_back");
    let kept = u64::try_from(ENDED_KEPT.as_millis()).unwrap_or(u64::MAX);
    ended && record.updated_unix_ms.saturating_add(kept) < now_ms
}

/// Every intent recorded under `etcd`'s prefix; records that ended long ago are deleted
/// on the way (by whichever console lists first).
pub async fn list(etcd: &Etcd) -> Result<Vec<IntentInfo>, EtcdError> {
    let prefix = etcd.prefix();
    let records = etcd.range_prefix(&record_key(prefix, "")).await?;
    let live = etcd.range_prefix(&live_key(prefix, "")).await?;
    let live_ids: Vec<&str> = live
        .iter()
        .filter_map(|kv| kv.key.strip_prefix(&live_key(prefix, "")))
        .collect();
    let now = crate::tui::unix_ms();
    let mut out = Vec::new();
    for kv in &records {
        let Ok(r) = serde_json::from_slice::<Record>(&kv.value) else {
            continue;
        };
        if stale(&r, now) {
            if let Err(e) = etcd.delete_prefix(&kv.key).await {
                tracing::warn!("old action {} not deleted from etcd: {e}", r.id);
            }
            continue;
        }
        let live = live_ids.contains(&r.id.as_str());
        out.push(r.info(live));
    }
    Ok(out)
}

/// Writes the end `state` of intent `id` over its record (an abort from a console that
/// did not run it, or an end another agent saw first).
pub async fn mark(etcd: &Etcd, id: &str, state: &str, message: &str) -> Result<(), EtcdError> {
    let key = record_key(etcd.prefix(), id);
    let kvs = etcd.range_prefix(&key).await?;
    let Some(mut record) = kvs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| serde_json::from_slice::<Record>(&kv.value).ok())
    else {
        return Ok(());
    };
    record.state = state.to_owned();
    record.message = message.to_owned();
    record.updated_unix_ms = crate::tui::unix_ms();
    etcd.put(&key, &serde_json::to_vec(&record).unwrap_or_default(), 0)
        .await
}

/// An intent this console runs, kept up to date in etcd: its record rewritten at each
/// step, its live key bound to the lease of the action's locks.
#[derive(Debug)]
pub struct Tracked {
    etcd: Etcd,
    record: Mutex<Record>,
}

impl Tracked {
    /// Writes `record` and its live key (bound to `lease`); the action must not start
    /// when this fails, or other consoles would not see it.
    pub async fn begin(etcd: &Etcd, lease: i64, mut record: Record) -> Result<Self, EtcdError> {
        let now = crate::tui::unix_ms();
        let key = record_key(etcd.prefix(), &record.id);
        // A resumed intent keeps when it started.
        if let Ok(kvs) = etcd.range_prefix(&key).await
            && let Some(old) = kvs
                .iter()
                .find(|kv| kv.key == key)
                .and_then(|kv| serde_json::from_slice::<Record>(&kv.value).ok())
        {
            record.started_unix_ms = old.started_unix_ms;
            record.step = record.step.max(old.step);
        } else {
            record.started_unix_ms = now;
        }
        record.state = "running".into();
        record.updated_unix_ms = now;
        etcd.put(&key, &serde_json::to_vec(&record).unwrap_or_default(), 0)
            .await?;
        etcd.put(&live_key(etcd.prefix(), &record.id), b"1", lease)
            .await?;
        Ok(Self {
            etcd: etcd.clone(),
            record: Mutex::new(record),
        })
    }

    fn write(&self, change: impl FnOnce(&mut Record)) -> (String, Vec<u8>) {
        let mut r = self
            .record
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        change(&mut r);
        r.updated_unix_ms = crate::tui::unix_ms();
        (
            record_key(self.etcd.prefix(), &r.id),
            serde_json::to_vec(&*r).unwrap_or_default(),
        )
    }

    /// Records that `done` steps are done.
    pub async fn step(&self, done: u32) -> Result<(), EtcdError> {
        let (key, value) = self.write(|r| r.step = done);
        self.etcd.put(&key, &value, 0).await
    }

    /// Records how the action ended and drops its live key.
    pub async fn end(&self, state: &str, message: &str) -> Result<(), EtcdError> {
        let (key, value) = self.write(|r| {
            r.state = state.to_owned();
            r.message = message.to_owned();
        });
        self.etcd.put(&key, &value, 0).await?;
        let id = self
            .record
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .id
            .clone();
        self.etcd
            .delete_prefix(&live_key(self.etcd.prefix(), &id))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(state: &str) -> Record {
        Record {
            id: "7f3a1c2e99".into(),
            action: "drain".into(),
            title: "Drain n1".into(),
            owner: "alice@ops-1".into(),
            owner_pid: 7,
            proposal: String::new(),
            plan: vec!["move a".into()],
            step: 1,
            steps: 3,
            nodes: vec![("n1".into(), "127.0.0.1:1".into())],
            locked_nodes: vec!["n1".into()],
            locked_containers: Vec::new(),
            state: state.into(),
            message: String::new(),
            started_unix_ms: 1,
            updated_unix_ms: 2,
        }
    }

    #[test]
    fn a_running_record_without_its_live_key_is_interrupted() {
        assert_eq!(record("running").info(true).state, "running");
        let dead = record("running").info(false);
        assert_eq!(dead.state, "interrupted");
        assert_eq!(dead.node_refs[0].endpoint, "127.0.0.1:1");
        assert!(dead.held_by.is_empty());
        assert_eq!(record("done").info(false).state, "done");
    }

    #[test]
    fn only_records_ended_long_ago_are_dropped() {
        let day = u64::try_from(ENDED_KEPT.as_millis()).unwrap();
        let now = 10 * day;
        let mut r = record("done");
        r.updated_unix_ms = now - day - 1;
        assert!(stale(&r, now));
        r.updated_unix_ms = now - day + 1;
        assert!(!stale(&r, now));
        let mut running = record("running");
        running.updated_unix_ms = 0;
        assert!(
            !stale(&running, now),
            "an interrupted one stays until resumed or aborted"
        );
    }

    #[test]
    fn keys_live_under_the_prefix_apart_from_the_locks() {
        assert_eq!(record_key("/fd/", "ab"), "/fd/intents/ab");
        assert_eq!(live_key("/fd/", "ab"), "/fd/live/ab");
        assert!(!live_key("/fd/", "ab").starts_with(&record_key("/fd/", "")));
    }
}
