//! Consoles that exclude each other through etcd: an action takes a lock on every node and
//! container it changes, in one transaction bound to an etcd lease that is renewed while
//! it runs; a failover is recorded there too, so a failed node is failed over once. When
//! the lease cannot be renewed, the action is told to stop before its next irreversible
//! step (the executor's cancel path, which rolls back a half-made copy).
//!
//! etcd is reached through its JSON gateway ([`etcd`]), so the console needs no protobuf
//! compiler of its own to build.

pub mod config;
pub mod etcd;
pub mod intents;
pub mod keys;
mod lease;

use std::time::Duration;

use fleetdeck_core::cancel::Cancel;

pub use config::{CoordConfig, ETCD_ENV};
pub use etcd::{Etcd, EtcdError};
pub use keys::{FailoverClaim, Held, Holder, Lock, Wanted};
pub use lease::Guard;

use crate::ops::plan::Plan;
use etcd::Absent;

/// Lease of an action's locks: long enough to ride out a slow etcd, short enough that a
/// killed console frees its nodes within seconds.
pub const LEASE_TTL: Duration = Duration::from_secs(10);
/// How often the TUI reads the other consoles' locks.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// What a console needs to coordinate with the others.
#[derive(Debug, Clone)]
pub struct Coord {
    pub etcd: Etcd,
    /// `user@host`.
    pub owner: String,
    /// TTL of each action's lease.
    pub ttl: Duration,
}

/// Why an action may not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Another action holds what this one would change.
    #[error("{0}")]
    Held(String),
    /// etcd cannot be asked: nothing that needs a lock may run.
    #[error(
        "{0}; actions that change the fleet need its locks: start etcd or fix [coordination] (etcd, ca, client_cert, client_key, username, password_file) or FLEETDECK_ETCD (watching goes on)"
    )]
    Etcd(EtcdError),
}

/// `user@host` of this console.
pub fn owner() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "operator".into());
    let host = sysinfo::System::host_name().unwrap_or_else(|_| "localhost".into());
    format!("{user}@{host}")
}

/// A fresh action id: 16 hex digits, from the standard library's per-process random
/// hasher keys (seeded by the OS), the time and the process id.
fn action_id() -> String {
    use std::hash::BuildHasher;
    let state = std::collections::hash_map::RandomState::new();
    format!(
        "{:016x}",
        state.hash_one((crate::tui::unix_ms(), std::process::id()))
    )
}

impl Coord {
    /// Coordination through `etcd` for this console.
    pub fn new(etcd: Etcd) -> Self {
        Self {
            etcd,
            owner: owner(),
            ttl: LEASE_TTL,
        }
    }

    /// Every lock held now.
    pub async fn held(&self) -> Result<Vec<Held>, EtcdError> {
        let prefix = self.etcd.prefix();
        let kvs = self.etcd.range_prefix(&keys::locks_prefix(prefix)).await?;
        Ok(kvs
            .into_iter()
            .filter_map(|kv| {
                let lock = keys::parse(prefix, &kv.key)?;
                let holder = serde_json::from_slice(&kv.value).ok()?;
                Some(Held { lock, holder })
            })
            .collect())
    }

    async fn failover_claim(
        &self,
        node: &str,
        epoch: u64,
    ) -> Result<Option<FailoverClaim>, EtcdError> {
        let key = keys::failover_key(self.etcd.prefix(), node, epoch);
        let kvs = self.etcd.range_prefix(&key).await?;
        Ok(kvs
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| serde_json::from_slice(&kv.value).ok()))
    }

    /// Forgets the failover records of `node` once it is fenced: it runs again, and a
    /// later failure of it is a new failover (a console that never saw the node alive
    /// records it at agent epoch 0 each time).
    pub async fn forget_failovers(&self, node: &str) -> Result<(), EtcdError> {
        let prefix = keys::failovers_of(self.etcd.prefix(), node);
        self.etcd.delete_prefix(&prefix).await
    }

    /// Why `plan` may not run now, as one line (at plan time: the locks as they are).
    pub async fn check(&self, plan: &Plan) -> Result<(), Refusal> {
        let w = keys::wanted(plan);
        if w.is_empty() {
            return Ok(());
        }
        let held = self.held().await.map_err(Refusal::Etcd)?;
        if let Some(line) = keys::conflict(&w, &held, None) {
            return Err(Refusal::Held(line));
        }
        if let Some((node, epoch)) = &w.failover
            && let Some(claim) = self
                .failover_claim(node, *epoch)
                .await
                .map_err(Refusal::Etcd)?
        {
            return Err(Refusal::Held(keys::already_failed_over(node, &claim)));
        }
        Ok(())
    }

    /// Takes every lock `plan` needs in one transaction, bound to a new lease that is kept
    /// alive until the guard is released; `cancel` (the operator's) and the loss of the
    /// lease both fire the guard's [`Guard::cancel`].
    pub async fn acquire(&self, plan: &Plan, cancel: Cancel) -> Result<Guard, Refusal> {
        let w = keys::wanted(plan);
        let holder = Holder {
            action: plan.proposal.kind().to_string(),
            title: plan.title.clone(),
            owner: self.owner.clone(),
            pid: std::process::id(),
            since_unix_ms: crate::tui::unix_ms(),
            id: action_id(),
        };
        let value = serde_json::to_vec(&holder).unwrap_or_default();
        let prefix = self.etcd.prefix();
        let mut absent = Vec::new();
        let mut puts = Vec::new();
        for (node, hold) in &w.nodes {
            let whole = keys::node_key(prefix, node);
            absent.push(Absent {
                key: whole.clone(),
                range_end: None,
            });
            match hold {
                keys::Hold::Whole => {
                    let uses = keys::use_prefix(prefix, node);
                    absent.push(Absent {
                        range_end: Some(etcd::prefix_end(&uses)),
                        key: uses,
                    });
                    puts.push((whole, value.clone()));
                }
                keys::Hold::Use => {
                    let key = format!("{}{}", keys::use_prefix(prefix, node), holder.id);
                    puts.push((key, value.clone()));
                }
            }
        }
        for (node, name) in &w.containers {
            let key = keys::container_key(prefix, node, name);
            absent.push(Absent {
                key: key.clone(),
                range_end: None,
            });
            puts.push((key, value.clone()));
        }
        if let Some((node, epoch)) = &w.failover {
            absent.push(Absent {
                key: keys::failover_key(prefix, node, *epoch),
                range_end: None,
            });
        }
        let lease = self.etcd.grant(self.ttl).await.map_err(Refusal::Etcd)?;
        let taken = self.etcd.put_if_absent(&absent, &puts, lease).await;
        match taken {
            Ok(true) => Ok(lease::Guard::start(self.clone(), lease, holder, w, cancel)),
            Ok(false) => {
                let _ = self.etcd.revoke(lease).await;
                Err(match self.check(plan).await {
                    Err(r) => r,
                    Ok(()) => Refusal::Held(
                        "another console took one of these locks at the same moment and has let go since; plan again".into(),
                    ),
                })
            }
            Err(e) => {
                let _ = self.etcd.revoke(lease).await;
                Err(Refusal::Etcd(e))
            }
        }
    }
}
