//! The action framework in the console: keys open a dialog pre-filled with a plan, the
//! operator confirms (typing the node or container name for whole-node or data-overwriting
//! actions), the work runs as a task whose progress comes back as `Action::Op` events, and
//! every action lands in the history pane. Nothing here awaits: work leaves through the
//! app's outbox as `Effect::Op`, which the run loop hands to the ops runner.

use std::collections::{BTreeMap, BTreeSet};

use super::{App, Effect, Focus};
use crate::keys::Command;
use crate::ops::fence::{Failovers, Stale};
use crate::ops::history::{self, HISTORY_ENTRIES, Started};
use crate::ops::placement::{self, Demand};
use crate::ops::plan::{self, Plan, PlanInput};
use crate::ops::specs::SpecCache;
use crate::ops::{ActionLog, BackupInfo, OpEvent, Outcome, Proposal, Verb};

/// Work the UI asks the ops runner to do.
#[derive(Debug, Clone, PartialEq)]
pub enum OpRequest {
    /// Run a confirmed plan as operation `op`, under interrupted intent `intent` when it
    /// resumes one (a new intent otherwise).
    Run {
        op: u64,
        plan: Box<Plan>,
        intent: Option<String>,
        /// Steps a resume found done: passed over.
        skip: Vec<usize>,
    },
    /// Roll back an interrupted intent on every agent holding it.
    Abort {
        intent: Box<crate::ops::intent::IntentInfo>,
    },
    /// Stop operation `op` safely.
    Cancel { op: u64 },
    /// List a node's backups (answered with `OpEvent::Backups`).
    ListBackups { node: String, endpoint: String },
    /// List the images a node's engine holds (answered with `OpEvent::Images`).
    ListImages { node: String, endpoint: String },
    /// Stop stale copies on a node that returned after a failover.
    Fence { op: u64, stale: Stale },
    /// Reload the failover records (after a failover or a fence).
    ReloadFailovers,
}

/// One node offered by the migration target picker.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub name: String,
    pub free_cpu_percent: f32,
    pub free_memory_bytes: u64,
    pub fits: bool,
    pub standby: bool,
}

/// The dialog on screen.
#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    /// Migrate: choose the target (the best fit is preselected).
    PickTarget {
        node: String,
        container: String,
        choices: Vec<Choice>,
        selected: usize,
    },
    /// Scale: set the replica count.
    Scale {
        service: String,
        current: usize,
        replicas: usize,
    },
    /// Restore: choose a backup (the list is on its way while `list` is `None`) held by
    /// `node`, and the node to restore it on (`targets[to]`, the holder at first; another
    /// node gets the archive copied to it first).
    PickBackup {
        node: String,
        list: Option<Result<Vec<BackupInfo>, String>>,
        selected: usize,
        targets: Vec<String>,
        to: usize,
    },
    /// The exact plan, waiting for confirmation.
    Confirm { plan: Box<Plan>, typed: String },
    /// A running (or just finished) operation.
    Running { op: u64 },
    /// The action cannot be planned; why.
    Refused { title: String, message: String },
    /// Waiting for what planning needs (a rollout: the nodes' images); any key closes it
    /// and drops the action.
    Waiting { title: String, message: String },
}

/// The console's operations state: what ran, what it knows to plan, what it must fence.
#[derive(Debug, Clone, Default)]
pub struct Ops {
    pub log: ActionLog,
    pub specs: SpecCache,
    pub failovers: Failovers,
    /// Actions in flight or interrupted, as the agents hold them (polled).
    pub intents: Vec<crate::ops::intent::IntentInfo>,
    /// The interrupted intent the open dialog resumes: what it proposed, its id, and the
    /// steps found done.
    pub resume: Option<(Proposal, String, Vec<usize>)>,
    /// Stale copies a read-only console last saw, by node (they feed a critical alert).
    stale_seen: BTreeMap<String, Vec<String>>,
    next_op: u64,
    fencing: BTreeSet<String>,
    fence_ops: Vec<(u64, String)>,
    /// Operations after which the failover records change (failovers, fences).
    reload_after: BTreeSet<u64>,
    /// Locks other consoles hold in etcd, as last read (empty without etcd).
    pub elsewhere: Vec<crate::coord::Held>,
    /// Why etcd could not be read last time, if it could not.
    pub etcd_error: Option<String>,
    /// Whether consoles coordinate through etcd (`[coordination]`): without it, failover
    /// and drain say that other consoles are not coordinated.
    pub coordinated: bool,
    /// A rollout waiting for the nodes' image lists.
    pub(super) pending_rollout: Option<super::rollout_ui::PendingRollout>,
}

impl Ops {
    /// One line on the actions other consoles run now: `elsewhere: Migrate db-1 from n1
    /// to n2 by bob@ops-2 (+1 more)`; `None` when there are none.
    pub fn elsewhere_line(&self) -> Option<String> {
        if let Some(e) = &self.etcd_error {
            return Some(format!("coordination: {e}"));
        }
        let mut ids: Vec<&crate::coord::Holder> = Vec::new();
        for h in &self.elsewhere {
            if !ids.iter().any(|x| x.id == h.holder.id) {
                ids.push(&h.holder);
            }
        }
        ids.sort_by_key(|h| h.since_unix_ms);
        let first = ids.first()?;
        let more = match ids.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        Some(format!(
            "elsewhere: {} by {}{more}",
            first.title, first.owner
        ))
    }

    /// Reads the newest actions of earlier runs back from `state_dir`. An unreadable line is
    /// skipped with one warning in the console's log; an unreadable file leaves the history
    /// empty with a warning. Never fails the console.
    pub fn load_history(&mut self, state_dir: &std::path::Path) {
        let path = state_dir.join(crate::ops::exec::HISTORY_FILE);
        match history::read_newest(&path, HISTORY_ENTRIES) {
            Ok(report) => {
                if let Some((line, why)) = &report.first_error {
                    tracing::warn!(
                        "action history {}: skipped {} unreadable line(s) (first: line {line} from the end: {why})",
                        path.display(),
                        report.skipped
                    );
                }
                self.log = ActionLog::from_records(report.records);
            }
            Err(e) => tracing::warn!(
                "cannot read the action history {}: {e}; starting with an empty one",
                path.display()
            ),
        }
    }

    pub(super) fn new_op(&mut self) -> u64 {
        self.next_op += 1;
        self.next_op
    }
}

impl App {
    /// Plans `proposal` against the fleet on screen and opens its confirmation dialog (or
    /// says why it cannot be done).
    pub fn propose(&mut self, proposal: Proposal) {
        let fencing = self.ops.failovers.pending();
        let input = PlanInput {
            fleet: &self.fleet,
            now: self.now,
            specs: &self.ops.specs,
            fencing: &fencing,
            read_only: self.read_only,
            claims: &self.ops.intents,
        };
        let planned = plan::plan(&input, &proposal).and_then(|plan| {
            // What another console holds (as last read from etcd) is refused here already;
            // the locks themselves are taken when the plan runs.
            let wanted = crate::coord::keys::wanted(&plan);
            match crate::coord::keys::conflict(&wanted, &self.ops.elsewhere, None) {
                Some(line) => Err(plan::PlanError::Invalid(line)),
                None => Ok(plan),
            }
        });
        self.panes.open_dialog(match planned {
            Ok(plan) => Dialog::Confirm {
                plan: Box::new(plan),
                typed: String::new(),
            },
            Err(e) => Dialog::Refused {
                title: format!("Cannot {}", proposal.kind()),
                message: e.to_string(),
            },
        });
    }

    fn refuse(&mut self, what: &str, message: impl Into<String>) {
        self.panes.open_dialog(Dialog::Refused {
            title: format!("Cannot {what}"),
            message: message.into(),
        });
    }

    /// Handles an action command from the keymap; true when it was one.
    pub(super) fn on_ops_command(&mut self, command: Command) -> bool {
        let container = self
            .selected_container()
            .filter(|_| self.panes.tables.focus == Focus::Containers)
            .map(|(n, c)| {
                (
                    n.name().to_string(),
                    c.spec.name.clone(),
                    c.spec.service.to_string(),
                )
            });
        let node = match self.panes.tables.focus {
            Focus::Containers => self.selected_container().map(|(n, _)| n.name().to_string()),
            Focus::Nodes | Focus::Alerts => self.selected_node().map(|(_, n)| n.name().to_string()),
        };
        let need_container = |app: &mut App, what: &str| {
            app.refuse(
                what,
                "select a container first (Tab to the container table)",
            );
        };
        match command {
            Command::Migrate => match container {
                Some((node, name, _)) => self.open_target_picker(node, name),
                None => need_container(self, "migrate"),
            },
            Command::Scale => match container {
                Some((_, _, service)) if !service.is_empty() => self.open_scale(service),
                Some((_, name, _)) => self.refuse("scale", format!("{name} belongs to no service")),
                None => need_container(self, "scale"),
            },
            Command::Backup => match (container, node) {
                (Some((node, name, _)), _) => self.propose(Proposal::Backup {
                    node,
                    container: Some(name),
                }),
                (None, Some(node)) => self.propose(Proposal::Backup {
                    node,
                    container: None,
                }),
                (None, None) => self.refuse("back up", "select a node or a container first"),
            },
            Command::Restore => match node {
                Some(node) => self.open_backup_picker(node),
                None => self.refuse("restore", "select a node first"),
            },
            Command::Failover | Command::Drain | Command::Cordon | Command::Uncordon => {
                let Some(node) = node else {
                    self.refuse(command.name(), "select a node first");
                    return true;
                };
                self.propose(match command {
                    Command::Failover => Proposal::Failover { node },
                    Command::Drain => Proposal::Drain { node },
                    Command::Cordon => Proposal::Cordon { node },
                    _ => Proposal::Uncordon { node },
                });
            }
            Command::Start | Command::Stop | Command::Restart => {
                let verb = match command {
                    Command::Start => Verb::Start,
                    Command::Stop => Verb::Stop,
                    _ => Verb::Restart,
                };
                match container {
                    Some((node, name, _)) => self.propose(Proposal::Container {
                        node,
                        container: name,
                        verb,
                    }),
                    None => need_container(self, verb.as_str()),
                }
            }
            _ => return false,
        }
        true
    }

    fn open_target_picker(&mut self, node: String, container: String) {
        let Some(c) = self
            .fleet
            .nodes()
            .iter()
            .find(|n| n.name() == node)
            .and_then(|n| n.containers.values().find(|c| c.spec.name == container))
        else {
            return;
        };
        let d = Demand::of(c);
        let fencing = self.ops.failovers.pending();
        let rooms = placement::rooms(&self.fleet, self.now, &fencing);
        let input = PlanInput {
            fleet: &self.fleet,
            now: self.now,
            specs: &self.ops.specs,
            fencing: &fencing,
            read_only: self.read_only,
            claims: &self.ops.intents,
        };
        let best = plan::migrate::default_target(&input, &node, &container);
        let mut choices: Vec<Choice> = rooms
            .iter()
            .filter(|r| r.name != node)
            .map(|r| Choice {
                name: r.name.clone(),
                free_cpu_percent: r.free_cpu_percent,
                free_memory_bytes: r.free_memory_bytes,
                fits: r.fits(d),
                standby: r.standby,
            })
            .collect();
        choices.sort_by(|a, b| super::natural_cmp(&a.name, &b.name));
        if choices.is_empty() {
            self.refuse(
                "migrate",
                "no other node takes placements (all are cordoned, failed or unknown)",
            );
            return;
        }
        let selected = best
            .and_then(|b| choices.iter().position(|c| c.name == b))
            .unwrap_or(0);
        self.panes.open_dialog(Dialog::PickTarget {
            node,
            container,
            choices,
            selected,
        });
    }

    fn open_scale(&mut self, service: String) {
        let current = self
            .fleet
            .nodes()
            .iter()
            .filter(|n| n.is_live())
            .flat_map(|n| n.containers.values())
            .filter(|c| *c.spec.service == *service && c.is_active())
            .count();
        self.panes.open_dialog(Dialog::Scale {
            service,
            current,
            replicas: current,
        });
    }

    fn open_backup_picker(&mut self, node: String) {
        let Some(n) = self.fleet.nodes().iter().find(|n| n.name() == node) else {
            return;
        };
        if !n.is_live() {
            self.refuse("restore", format!("{node} does not answer"));
            return;
        }
        let list = OpRequest::ListBackups {
            node: node.clone(),
            endpoint: n.endpoint.clone(),
        };
        self.emit(Effect::Op(list));
        let mut targets: Vec<String> = self
            .fleet
            .nodes()
            .iter()
            .filter(|n| n.is_live())
            .map(|n| n.name().to_string())
            .collect();
        targets.sort_by(|a, b| super::natural_cmp(a, b));
        let to = targets.iter().position(|t| *t == node).unwrap_or(0);
        self.panes.open_dialog(Dialog::PickBackup {
            node,
            list: None,
            selected: 0,
            targets,
            to,
        });
    }

    /// An event from the ops runner.
    pub(super) fn on_op_event(&mut self, event: OpEvent) {
        match event {
            OpEvent::Progress {
                op,
                stage,
                percent,
                message,
            } => self.ops.log.progress(op, stage, percent, message),
            OpEvent::Finished { op, outcome } => {
                let line = match &outcome {
                    Outcome::Done(m) => m.clone(),
                    Outcome::Failed(m) => format!("failed: {m}"),
                    Outcome::Cancelled(m) => format!("cancelled: {m}"),
                };
                // The incident timeline lists every action with its outcome, in order.
                let title = self
                    .ops
                    .log
                    .get(op)
                    .map(|e| e.title.clone())
                    .unwrap_or_default();
                let stamp = self.stamp();
                let record = format!("{title}: {line}");
                self.alerts
                    .record(crate::alerts::EntryKind::Action, record, stamp);
                self.ops.log.finish(op, outcome, self.now);
                if let Some(i) = self.ops.fence_ops.iter().position(|(o, _)| *o == op) {
                    let (_, node) = self.ops.fence_ops.remove(i);
                    self.ops.fencing.remove(&node);
                }
                if self.ops.reload_after.remove(&op) {
                    self.emit(Effect::Op(OpRequest::ReloadFailovers));
                }
                self.set_status(line);
            }
            OpEvent::Backups { node, list } => {
                if let Some(Dialog::PickBackup {
                    node: n, list: l, ..
                }) = self.panes.dialog_mut()
                    && *n == node
                {
                    *l = Some(list);
                }
            }
            OpEvent::Images { node, list } => self.on_images(&node, list),
            OpEvent::SpecsRefreshed { cache } => self.ops.specs = *cache,
            OpEvent::Locks(read) => match read {
                Ok(held) => {
                    self.ops.elsewhere = held;
                    self.ops.etcd_error = None;
                }
                Err(e) => self.ops.etcd_error = Some(e),
            },
            OpEvent::Intents(list) => self.ops.intents = list,
            OpEvent::Failovers(f) => {
                self.ops.failovers = f;
                self.check_fencing();
            }
        }
        self.request(super::Redraw::Now);
    }

    /// Nodes back after a failover: an operator console fences them before anything else;
    /// a read-only one raises a critical alert.
    pub(super) fn check_fencing(&mut self) {
        if self.read_only {
            self.count_stale_copies();
            return;
        }
        for stale in self.ops.failovers.stale(&self.fleet) {
            if !self.ops.fencing.insert(stale.node.clone()) {
                continue;
            }
            let op = self.ops.new_op();
            let started = Started {
                action: "fence".into(),
                target: stale.node.clone(),
                title: format!("Fence {} (returned after failover)", stale.node),
            };
            self.ops.log.start(op, started, self.now, self.now_unix_ms);
            self.ops.fence_ops.push((op, stale.node.clone()));
            self.ops.reload_after.insert(op);
            self.emit(Effect::Op(OpRequest::Fence { op, stale }));
        }
    }

    /// A read-only console cannot fence: it counts the stale copies on nodes back after a
    /// failover and hands the counts to the alert book, where the `stale-copies` rule fires
    /// (critical) and resolves once they are gone. Which containers they are goes in the
    /// incident timeline, since the alert only carries the count.
    pub(super) fn count_stale_copies(&mut self) {
        if self.ops.failovers.records.iter().all(|r| r.fenced) && self.ops.stale_seen.is_empty() {
            return;
        }
        let mut counts = BTreeMap::new();
        let mut seen = BTreeMap::new();
        for stale in self.ops.failovers.stale(&self.fleet) {
            if stale.running.is_empty() {
                continue;
            }
            if let Some(slot) = self
                .fleet
                .nodes()
                .iter()
                .position(|n| n.name() == stale.node)
            {
                counts.insert(slot, stale.running.len());
            }
            let names: Vec<String> = stale.running.iter().map(|(_, n)| n.clone()).collect();
            if self.ops.stale_seen.get(&stale.node) != Some(&names) {
                let stamp = self.stamp();
                self.alerts
                    .record(crate::alerts::EntryKind::Observed, stale.alert(), stamp);
            }
            seen.insert(stale.node.clone(), names);
        }
        self.ops.stale_seen = seen;
        let stamp = self.stamp();
        self.alerts.set_stale_copies(&self.fleet, counts, stamp);
    }
}
