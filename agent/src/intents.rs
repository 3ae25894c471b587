//! The intents this node holds: multi-step actions a console wrote here before it created
//! anything, each with a lease the console renews. Kept in the state directory (written
//! atomically) so they survive a restart; the rules are pure functions of the time given,
//! and [`crate::actions`] does the rolling back when a lease expires.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use fleetdeck_core::intent::state_name;
use fleetdeck_core::intent::{self, Locks};
use fleetdeck_proto as pb;
use pb::IntentState as S;
use prost::Message as _;

/// File in the agent's state directory holding the intents.
pub const INTENTS_FILE: &str = "intents.pb";
/// Ended intents kept for `ListIntents`; the oldest go first.
const KEPT_ENDED: usize = 200;

/// Why an intent request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntentError {
    /// It overlaps a live intent of another console: the line names the holder.
    #[error("{0}")]
    Claimed(String),
    /// No such intent, or its lease is gone.
    #[error("{0}")]
    Gone(String),
    /// The request does not make sense.
    #[error("{0}")]
    Invalid(String),
}

/// The intents of one node.
#[derive(Debug)]
pub struct IntentStore {
    path: Option<PathBuf>,
    list: Mutex<Vec<pb::IntentRecord>>,
    /// Moves on with every change of `list`; Watch events carry it so consoles ask for
    /// the list only when it changed.
    generation: Arc<AtomicU64>,
}

fn locks(r: &pb::IntentRecord) -> Locks<'_> {
    Locks {
        nodes: &r.locked_nodes,
        containers: &r.locked_containers,
        touches: &r.nodes,
    }
}

/// Whether `r` runs and its lease holds at `now_ms`.
fn live(r: &pb::IntentRecord, now_ms: u64) -> bool {
    r.state == S::Running as i32 && r.lease_expires_unix_ms > now_ms
}

fn lease_ms(asked: u32) -> u64 {
    let max = u64::try_from(intent::MAX_LEASE.as_millis()).unwrap_or(u64::MAX);
    match u64::from(asked) {
        0 => u64::try_from(intent::DEFAULT_LEASE.as_millis()).unwrap_or(max),
        ms => ms.min(max),
    }
}

impl IntentStore {
    /// The intents kept in `dir` (none without a directory, or when the file cannot be
    /// read: that is logged and the file set aside).
    pub fn open(dir: Option<PathBuf>) -> Self {
        let path = dir.map(|d| d.join(INTENTS_FILE));
        let list = path.as_deref().map(load).unwrap_or_default();
        Self {
            path,
            list: Mutex::new(list),
            // Starts from the clock, so a restarted agent's list is asked for again.
            generation: Arc::new(AtomicU64::new(crate::host::now_unix_ms().max(1))),
        }
    }

    /// The generation the list is at now, shared with the Watch streams.
    pub fn generation(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.generation)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<pb::IntentRecord>> {
        self.list
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps `list` (changed) on disk and moves the generation on.
    fn save(&self, list: &[pb::IntentRecord]) {
        self.generation.fetch_add(1, Ordering::Relaxed);
        let Some(path) = &self.path else { return };
        let bytes = pb::ListIntentsReply {
            intents: list.to_vec(),
            generation: 0,
        }
        .encode_to_vec();
        if let Err(e) = crate::private::write_atomic(path, &bytes) {
            tracing::error!(
                "cannot save intents in {}: {e}; a restart would forget them",
                path.display()
            );
        }
    }

    /// Records `rec` as running, owned by `owner`/`pid`, leased until `now_ms` + the lease.
    /// The same owner beginning again only renews; an interrupted intent is taken over by
    /// whoever resumes it; an overlap with another console's live intent is refused.
    pub fn begin(
        &self,
        mut rec: pb::IntentRecord,
        (owner, pid): (&str, u32),
        lease: u32,
        now_ms: u64,
    ) -> Result<pb::IntentRecord, IntentError> {
        let mut list = self.lock();
        let mine = |r: &pb::IntentRecord| r.owner == owner && r.owner_pid == pid;
        for other in list.iter().filter(|r| r.id != rec.id && live(r, now_ms)) {
            if mine(other) {
                continue;
            }
            if let Some(what) = intent::overlap(&locks(&rec), &locks(other)) {
                return Err(IntentError::Claimed(intent::holder_line(
                    &what,
                    &other.action,
                    &other.owner,
                    other.started_unix_ms,
                    &other.id,
                )));
            }
        }
        if let Some(old) = list.iter_mut().find(|r| r.id == rec.id) {
            if live(old, now_ms) && !mine(old) {
                return Err(IntentError::Claimed(intent::holder_line(
                    &format!("action {}", intent::short_id(&old.id)),
                    &old.action,
                    &old.owner,
                    old.started_unix_ms,
                    &old.id,
                )));
            }
            old.owner = owner.to_owned();
            old.owner_pid = pid;
            old.state = S::Running as i32;
            old.updated_unix_ms = now_ms;
            old.lease_expires_unix_ms = now_ms + lease_ms(lease);
            old.message.clear();
            let out = old.clone();
            self.save(&list);
            return Ok(out);
        }
        rec.owner = owner.to_owned();
        rec.owner_pid = pid;
        rec.state = S::Running as i32;
        rec.started_unix_ms = now_ms;
        rec.updated_unix_ms = now_ms;
        rec.lease_expires_unix_ms = now_ms + lease_ms(lease);
        rec.message.clear();
        list.push(rec.clone());
        forget_oldest_ended(&mut list);
        self.save(&list);
        Ok(rec)
    }

    /// Renews the lease of `id` for its owner and records the step reached.
    pub fn renew(
        &self,
        id: &str,
        (owner, pid): (&str, u32),
        step: u32,
        lease: u32,
        now_ms: u64,
    ) -> Result<pb::IntentRecord, IntentError> {
        let mut list = self.lock();
        let Some(r) = list.iter_mut().find(|r| r.id == id) else {
            return Err(IntentError::Gone(format!("no intent {id} on this node")));
        };
        if !live(r, now_ms) {
            return Err(IntentError::Gone(format!(
                "intent {} is no longer running here ({}): its lease expired or it ended",
                intent::short_id(id),
                state_name(r.state)
            )));
        }
        if r.owner != owner || r.owner_pid != pid {
            return Err(IntentError::Claimed(intent::holder_line(
                &format!("action {}", intent::short_id(id)),
                &r.action,
                &r.owner,
                r.started_unix_ms,
                id,
            )));
        }
        r.step = step.max(r.step);
        r.updated_unix_ms = now_ms;
        r.lease_expires_unix_ms = now_ms + lease_ms(lease);
        let out = r.clone();
        self.save(&list);
        Ok(out)
    }

    /// Ends `id` with `state` (DONE, FAILED or ROLLED_BACK) and `message`.
    pub fn end(
        &self,
        id: &str,
        state: S,
        message: &str,
        now_ms: u64,
    ) -> Result<pb::IntentRecord, IntentError> {
        if !matches!(state, S::Done | S::Failed | S::RolledBack) {
            return Err(IntentError::Invalid(format!(
                "an intent ends done, failed or rolled back, not {}",
                state_name(state as i32)
            )));
        }
        let mut list = self.lock();
        let Some(r) = list.iter_mut().find(|r| r.id == id) else {
            return Err(IntentError::Gone(format!("no intent {id} on this node")));
        };
        r.state = state as i32;
        r.updated_unix_ms = now_ms;
        r.message = message.to_owned();
        let out = r.clone();
        self.save(&list);
        Ok(out)
    }

    /// Why work for intent `id` must not start here at `now_ms`: it is known on this node
    /// and no longer running (its lease expired, it ended). `None` when it runs, or when
    /// this node never held it.
    pub fn refusal(&self, id: &str, now_ms: u64) -> Option<String> {
        let list = self.lock();
        let r = list.iter().find(|r| r.id == id)?;
        if live(r, now_ms) {
            return None;
        }
        let state = if r.state == S::Running as i32 {
            "its lease expired"
        } else {
            state_name(r.state)
        };
        Some(format!(
            "intent {} is no longer running on this node ({state}): nothing was created; its copies here are rolled back",
            intent::short_id(id)
        ))
    }

    /// Marks every running intent whose lease ran out by `now_ms` interrupted; returns them.
    pub fn expire(&self, now_ms: u64) -> Vec<pb::IntentRecord> {
        let mut list = self.lock();
        let mut out = Vec::new();
        for r in list.iter_mut() {
            if r.state == S::Running as i32 && r.lease_expires_unix_ms <= now_ms {
                r.state = S::Interrupted as i32;
                r.updated_unix_ms = now_ms;
                r.message = "the console's lease expired".into();
                out.push(r.clone());
            }
        }
        if !out.is_empty() {
            self.save(&list);
        }
        out
    }

    /// Adds `note` to what `id`'s message says (what the reaper did).
    pub fn note(&self, id: &str, note: &str) {
        let mut list = self.lock();
        if let Some(r) = list.iter_mut().find(|r| r.id == id) {
            r.message = format!("{}; {note}", r.message);
            self.save(&list);
        }
    }

    /// Every intent held, newest first.
    pub fn list(&self) -> Vec<pb::IntentRecord> {
        let mut out = self.lock().clone();
        out.sort_by_key(|r| std::cmp::Reverse(r.started_unix_ms));
        out
    }
}

fn forget_oldest_ended(list: &mut Vec<pb::IntentRecord>) {
    let ended =
        |r: &pb::IntentRecord| r.state != S::Running as i32 && r.state != S::Interrupted as i32;
    while list.iter().filter(|r| ended(r)).count() > KEPT_ENDED {
        let oldest = list
            .iter()
            .enumerate()
            .filter(|(_, r)| ended(r))
            .min_by_key(|(_, r)| r.updated_unix_ms)
            .map(|(i, _)| i);
        match oldest {
            Some(i) => {
                list.remove(i);
            }
            None => return,
        }
    }
}

fn load(path: &std::path::Path) -> Vec<pb::IntentRecord> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            tracing::error!("cannot read intents from {}: {e}", path.display());
            return Vec::new();
        }
    };
    match pb::ListIntentsReply::decode(bytes.as_slice()) {
        Ok(r) => r.intents,
        Err(e) => {
            let aside = path.with_extension("pb.unreadable");
            tracing::error!(
                "intents in {} cannot be read ({e}); set aside as {}",
                path.display(),
                aside.display()
            );
            let _ = std::fs::rename(path, aside);
            Vec::new()
        }
    }
}

#[cfg(test)]
#[path = "intents_tests.rs"]
mod tests;
