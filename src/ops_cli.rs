//! The action commands for runbooks: `fleetdeck scale|migrate|backup|backups|restore|
//! failover|drain|cordon|uncordon|start|stop|restart ...`. Each reads the fleet once (and
//! refreshes the spec cache, fencing any node back from a failover first), prints the exact
//! plan, asks for confirmation unless `--yes` (typed for whole-node or overwriting actions),
//! runs it with progress on stderr, and prints the outcome (or JSON with `-o json`).

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::cli::{EXIT_OK, EXIT_USAGE, OutputFormat};
use crate::client::AgentAddr;
use crate::config::Settings;
use crate::get;
use crate::model::{AgentUpdate, Fleet};
use crate::ops::exec::Executor;
use crate::ops::fence::{self, Failovers};
use crate::ops::link::Link;
use crate::ops::plan::{self, Plan, PlanInput};
use crate::ops::specs::SpecCache;
use crate::ops::{BackupInfo, OpEvent, Outcome, Proposal, Verb, human_bytes};

/// Exit status: the action ran and failed (or was cancelled).
pub const EXIT_FAILED: i32 = 3;
/// Time allowed for reading the fleet.
const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// Options every action command takes.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ActOptions {
    /// Do it without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the plan only; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// A container, optionally on a named node.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ContainerTarget {
    /// Container name, id or id prefix.
    pub container: String,
    /// The node it runs on (needed when the name is on several nodes).
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
}

/// The action commands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum OpsCommand {
    /// Set a service's replica count.
    Scale {
        service: String,
        replicas: usize,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Move a container to another node (best-fit without --to), make-before-break.
    Migrate {
        #[command(flatten)]
        target: ContainerTarget,
        /// Target node.
        #[arg(long, value_name = "NODE")]
        to: Option<String>,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Back up a container, or every container of --node; prints the backup ids.
    Backup {
        /// Container name, id or id prefix (or --node for all of a node's).
        container: Option<String>,
        #[arg(long, value_name = "NODE")]
        node: Option<String>,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// List backups (of one node, or all).
    Backups {
        node: Option<String>,
        #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// Restore a backup (on the node that holds it, or on another: the archive is copied).
    Restore {
        backup_id: String,
        /// Node to restore on (default: the node holding the backup). Another node gets
        /// the archive streamed from the holder and checks its SHA-256 on arrival.
        #[arg(long, value_name = "NODE")]
        to: Option<String>,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Re-create a FAILED node's containers on healthy nodes (STANDBY first).
    Failover {
        node: String,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Cordon a node and migrate everything off it.
    Drain {
        node: String,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// MAINTENANCE: no new placements.
    Cordon {
        node: String,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Take placements again.
    Uncordon {
        node: String,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Start a container.
    Start {
        #[command(flatten)]
        target: ContainerTarget,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Stop a container.
    Stop {
        #[command(flatten)]
        target: ContainerTarget,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Restart a container.
    Restart {
        #[command(flatten)]
        target: ContainerTarget,
        #[command(flatten)]
        opts: ActOptions,
    },
}

/// What a command prints and how it exits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpsOutput {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
}

impl OpsOutput {
    fn fail(status: i32, message: impl std::fmt::Display) -> Self {
        Self {
            stdout: String::new(),
            stderr: format!("fleetdeck: {message}\n"),
            status,
        }
    }
}

/// How to confirm when `--yes` is not given.
pub enum Confirm {
    /// Ask on the terminal (refuse when stdin is not one).
    Terminal,
    /// Answer with this text (tests).
    Answer(String),
}

/// Where the command keeps state and how it runs.
pub struct Context {
    pub settings: Settings,
    pub state_dir: Option<PathBuf>,
    pub read_only: bool,
    pub confirm: Confirm,
    /// Print progress lines to stderr as they come.
    pub live_progress: bool,
}

#[derive(Serialize)]
struct JsonOut<'a> {
    action: &'a str,
    title: &'a str,
    plan: &'a [String],
    data_bytes: u64,
    /// Bytes streamed between agents (a restore on a node other than the holder).
    #[serde(skip_serializing_if = "is_zero")]
    transfer_bytes: u64,
    dry_run: bool,
    outcome: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    backup_ids: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Bytes the plan streams between agents.
fn transfer_bytes(plan: &Plan) -> u64 {
    plan.steps
        .iter()
        .map(|s| match s {
            plan::Step::CopyBackup { bytes, .. } => *bytes,
            _ => 0,
        })
        .sum()
}

impl OpsCommand {
    fn opts(&self) -> ActOptions {
        match self {
            Self::Scale { opts, .. }
            | Self::Migrate { opts, .. }
            | Self::Backup { opts, .. }
            | Self::Restore { opts, .. }
            | Self::Failover { opts, .. }
            | Self::Drain { opts, .. }
            | Self::Cordon { opts, .. }
            | Self::Uncordon { opts, .. }
            | Self::Start { opts, .. }
            | Self::Stop { opts, .. }
            | Self::Restart { opts, .. } => opts.clone(),
            Self::Backups { output, .. } => ActOptions {
                yes: false,
                dry_run: false,
                output: *output,
            },
        }
    }
}

/// Reads the fleet once: unreachable nodes count as FAILED (a runbook acts on what answers now).
async fn read_fleet(agents: &[AgentAddr]) -> Fleet {
    let now = Instant::now();
    let mut fleet = Fleet::new(agents.iter().map(ToString::to_string), Duration::ZERO, now);
    for (slot, a) in get::ask_all(agents, READ_TIMEOUT)
        .await
        .into_iter()
        .enumerate()
    {
        let update = match a {
            Ok((epoch, seq, snapshot)) => AgentUpdate::Snapshot {
                slot,
                epoch,
                seq,
                snapshot: Box::new(snapshot),
            },
            Err(e) => AgentUpdate::Down {
                slot,
                reason: e.to_string(),
            },
        };
        fleet.apply(update, now);
    }
    fleet
}

async fn list_backups(fleet: &Fleet, node: Option<&str>) -> (Vec<BackupInfo>, Vec<String>) {
    let asks = fleet
        .nodes()
        .iter()
        .filter(|n| n.is_live() && node.is_none_or(|x| n.name() == x || n.endpoint == x))
        .map(|n| async move {
            let mut link = Link::open(n.name(), &n.endpoint).await?;
            // The node that answers holds the backups, whatever their records say.
            link.list_backups().await.map(|l| (n.name().to_string(), l))
        });
    let mut all = Vec::new();
    let mut errors = Vec::new();
    for r in futures::future::join_all(asks).await {
        match r {
            Ok((node, l)) => all.extend(l.into_iter().map(|b| BackupInfo {
                node: node.clone(),
                ..BackupInfo::from_wire(b)
            })),
            Err(e) => errors.push(e.to_string()),
        }
    }
    all.sort_by_key(|b| std::cmp::Reverse(b.created_unix_ms));
    (all, errors)
}

fn backups_table(list: &[BackupInfo]) -> String {
    let mut out = format!(
        "{:<12} {:<40} {:<16} {:<19} {:>9}  {}\n",
        "NODE", "BACKUP", "CONTAINER", "TAKEN (UTC)", "SIZE", "SHA256"
    );
    for b in list {
        let taken = i64::try_from(b.created_unix_ms)
            .ok()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string());
        let _ = writeln!(
            out,
            "{:<12} {:<40} {:<16} {:<19} {:>9}  {}",
            b.node,
            b.id,
            b.container,
            taken,
            human_bytes(b.size_bytes),
            b.sha256
        );
    }
    out
}

fn confirm(ctx: &Context, plan: &Plan) -> Result<(), String> {
    let expected = plan.confirm.clone();
    let prompt = match &expected {
        Some(name) => format!("type {name} to confirm: "),
        None => "proceed? [y/N] ".to_string(),
    };
    let answer = match &ctx.confirm {
        Confirm::Answer(a) => a.clone(),
        Confirm::Terminal => {
            if !std::io::stdin().is_terminal() {
                return Err(
                    "not confirmed: stdin is not a terminal; pass --yes to run without asking"
                        .into(),
                );
            }
            eprint!("{prompt}");
            let _ = std::io::stderr().flush();
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the confirmation: {e}"))?;
            line
        }
    };
    let answer = answer.trim();
    let ok = match &expected {
        Some(name) => answer == name,
        None => matches!(answer, "y" | "Y" | "yes"),
    };
    if ok {
        Ok(())
    } else {
        Err("not confirmed; nothing was done".into())
    }
}

/// Fences every node back from a failover (or, read-only, reports it). Returns messages.
async fn fence_returned(ctx: &Context, fleet: &Fleet) -> Result<Vec<String>, String> {
    let Some(dir) = &ctx.state_dir else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for stale in Failovers::load(dir).stale(fleet) {
        if ctx.read_only {
            if !stale.running.is_empty() {
                out.push(format!("CRITICAL: {}", stale.alert()));
            }
            continue;
        }
        out.push(fence::fence(dir, &stale, "fleetdeck-cli").await?);
    }
    Ok(out)
}

/// Runs one action command.
pub async fn run(cmd: &OpsCommand, ctx: &Context) -> OpsOutput {
    let agents = &ctx.settings.agents;
    if agents.is_empty() {
        return OpsOutput::fail(
            EXIT_USAGE,
            "no agents to ask; pass --agent HOST:PORT, set FLEETDECK_AGENTS, or list agents in the config file",
        );
    }
    let opts = cmd.opts();
    let mut fleet = read_fleet(agents).await;
    let mut stderr = String::new();
    // Anything that returned after a failover is fenced before anything else.
    match fence_returned(ctx, &fleet).await {
        Ok(messages) if !messages.is_empty() => {
            for m in messages {
                let _ = writeln!(stderr, "fleetdeck: {m}");
            }
            fleet = read_fleet(agents).await;
        }
        Ok(_) => {}
        Err(e) => return OpsOutput::fail(EXIT_FAILED, format!("fencing failed: {e}")),
    }
    let mut specs = ctx
        .state_dir
        .as_deref()
        .map(SpecCache::load)
        .unwrap_or_default();
    let endpoints: Vec<String> = agents.iter().map(ToString::to_string).collect();
    specs.refresh(&endpoints).await;
    if let Some(dir) = &ctx.state_dir
        && let Err(e) = specs.save(dir)
    {
        let _ = writeln!(stderr, "fleetdeck: cannot save the spec cache: {e}");
    }
    if let OpsCommand::Backups { node, output } = cmd {
        let (list, errors) = list_backups(&fleet, node.as_deref()).await;
        for e in &errors {
            let _ = writeln!(stderr, "fleetdeck: {e}");
        }
        let stdout = match output {
            OutputFormat::Table => backups_table(&list),
            OutputFormat::Json => format!(
                "{}\n",
                serde_json::to_string_pretty(&list).unwrap_or_default()
            ),
        };
        let status = if errors.is_empty() {
            EXIT_OK
        } else {
            crate::cli::EXIT_UNREACHABLE
        };
        return OpsOutput {
            stdout,
            stderr,
            status,
        };
    }
    let proposal = match proposal(cmd, &fleet).await {
        Ok(p) => p,
        Err(e) => return OpsOutput::fail(EXIT_USAGE, e),
    };
    let pending = ctx
        .state_dir
        .as_deref()
        .map(|d| Failovers::load(d).pending())
        .unwrap_or_default()
        .into_iter()
        .filter(|n| fleet.nodes().iter().any(|x| x.is_live() && x.name() == n))
        .collect::<Vec<_>>();
    let input = PlanInput {
        fleet: &fleet,
        now: Instant::now(),
        specs: &specs,
        fencing: &pending,
        read_only: ctx.read_only,
    };
    let plan = match plan::plan(&input, &proposal) {
        Ok(p) => p,
        Err(e) => {
            let mut out = OpsOutput::fail(EXIT_USAGE, e);
            out.stderr.insert_str(0, &stderr);
            return out;
        }
    };
    let mut stdout = String::new();
    if opts.output == OutputFormat::Table {
        let _ = writeln!(stdout, "{}", plan.title);
        for l in &plan.lines {
            let _ = writeln!(stdout, "  - {l}");
        }
        if plan.data_bytes > 0 {
            let _ = writeln!(stdout, "  data: {}", human_bytes(plan.data_bytes));
        }
        let moved = transfer_bytes(&plan);
        if moved > 0 {
            let _ = writeln!(stdout, "  transfer: {}", human_bytes(moved));
        }
    }
    if opts.dry_run {
        if opts.output == OutputFormat::Json {
            stdout = json(
                &plan,
                true,
                "planned",
                "dry run: nothing was changed",
                Vec::new(),
            );
        } else {
            stdout.push_str("dry run: nothing was changed\n");
        }
        return OpsOutput {
            stdout,
            stderr,
            status: EXIT_OK,
        };
    }
    // Outside a dry run the plan is commentary: stdout keeps only the result (ids, JSON).
    let plan_text = std::mem::take(&mut stdout);
    if !opts.yes {
        if matches!(ctx.confirm, Confirm::Terminal) && !std::io::stdin().is_terminal() {
            let mut out = OpsOutput::fail(
                EXIT_USAGE,
                "not confirmed: stdin is not a terminal; pass --yes to run without asking (or --dry-run to see the plan)",
            );
            out.stderr.insert_str(0, &stderr);
            return out;
        }
        eprint!("{plan_text}");
        if let Err(e) = confirm(ctx, &plan) {
            let mut out = OpsOutput::fail(EXIT_USAGE, e);
            out.stderr.insert_str(0, &stderr);
            return out;
        }
    }
    if opts.yes {
        stderr.push_str(&plan_text);
    }
    let (outcome, progress) = execute(ctx, &plan).await;
    stderr.push_str(&progress);
    let backup_ids =
        if matches!(proposal, Proposal::Backup { .. }) && matches!(outcome, Outcome::Done(_)) {
            new_backup_ids(&fleet, &plan).await
        } else {
            Vec::new()
        };
    let (word, message, status) = match &outcome {
        Outcome::Done(m) => ("done", m, EXIT_OK),
        Outcome::Failed(m) => ("failed", m, EXIT_FAILED),
        Outcome::Cancelled(m) => ("cancelled", m, EXIT_FAILED),
    };
    match opts.output {
        OutputFormat::Json => stdout = json(&plan, false, word, message, backup_ids),
        OutputFormat::Table => {
            if backup_ids.is_empty() {
                let _ = writeln!(stdout, "{word}: {message}");
            } else {
                for id in &backup_ids {
                    let _ = writeln!(stdout, "{id}");
                }
            }
            if status != EXIT_OK {
                let _ = writeln!(stderr, "fleetdeck: {word}: {message}");
            }
        }
    }
    OpsOutput {
        stdout,
        stderr,
        status,
    }
}

fn json(
    plan: &Plan,
    dry_run: bool,
    outcome: &str,
    message: &str,
    backup_ids: Vec<String>,
) -> String {
    let out = JsonOut {
        action: plan.proposal.kind(),
        title: &plan.title,
        plan: &plan.lines,
        data_bytes: plan.data_bytes,
        transfer_bytes: transfer_bytes(plan),
        dry_run,
        outcome,
        message,
        backup_ids,
    };
    format!(
        "{}\n",
        serde_json::to_string_pretty(&out).unwrap_or_default()
    )
}

async fn execute(ctx: &Context, plan: &Plan) -> (Outcome, String) {
    let exec = Executor::new(ctx.state_dir.clone(), "fleetdeck-cli");
    let (source, cancel) = fleetdeck_agent::cancel::channel();
    let (tx, mut rx) = mpsc::channel(256);
    let plan2 = plan.clone();
    let task = tokio::spawn(async move { exec.run(1, &plan2, cancel, tx).await });
    let mut progress = String::new();
    let live = ctx.live_progress;
    let mut interrupted = false;
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Some(OpEvent::Progress { percent, stage, message, .. }) => {
                    let line = format!("[{percent:>3.0}%] {stage}: {message}\n");
                    if live {
                        eprint!("{line}");
                    } else {
                        progress.push_str(&line);
                    }
                }
                Some(_) => {}
                None => break,
            },
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                eprintln!("fleetdeck: interrupted; cancelling safely (undoing what was started)…");
                source.cancel();
            }
        }
    }
    let outcome = task
        .await
        .unwrap_or_else(|e| Outcome::Failed(format!("the action task failed: {e}")));
    (outcome, progress)
}

async fn new_backup_ids(fleet: &Fleet, plan: &Plan) -> Vec<String> {
    let (list, _) = list_backups(fleet, None).await;
    plan.steps
        .iter()
        .filter_map(|s| match s {
            plan::Step::Backup { on, name, .. } => list
                .iter()
                .find(|b| b.node == on.name && &b.container == name)
                .map(|b| b.id.clone()),
            _ => None,
        })
        .collect()
}

async fn proposal(cmd: &OpsCommand, fleet: &Fleet) -> Result<Proposal, String> {
    let container = |t: &ContainerTarget, verb: Verb| Proposal::Container {
        node: t.node.clone().unwrap_or_default(),
        container: t.container.clone(),
        verb,
    };
    Ok(match cmd {
        OpsCommand::Scale {
            service, replicas, ..
        } => Proposal::Scale {
            service: service.clone(),
            replicas: *replicas,
        },
        OpsCommand::Migrate { target, to, .. } => Proposal::Migrate {
            node: target.node.clone().unwrap_or_default(),
            container: target.container.clone(),
            to: to.clone(),
        },
        OpsCommand::Backup {
            container, node, ..
        } => match (container, node) {
            (None, None) => {
                return Err("name a container, or --node NODE to back up all of a node's".into());
            }
            (c, n) => {
                let node = match (n, c) {
                    (Some(n), _) => n.clone(),
                    (None, Some(c)) => owner(fleet, c)?,
                    (None, None) => String::new(),
                };
                Proposal::Backup {
                    node,
                    container: c.clone(),
                }
            }
        },
        OpsCommand::Restore { backup_id, to, .. } => {
            let (list, _) = list_backups(fleet, None).await;
            let held: Vec<BackupInfo> = list.into_iter().filter(|b| &b.id == backup_id).collect();
            // A copy already on the target saves the transfer.
            let b = to
                .as_ref()
                .and_then(|to| held.iter().find(|b| b.node == *to))
                .or_else(|| held.first())
                .cloned()
                .ok_or_else(|| format!("no backup `{backup_id}` on a reachable node; `fleetdeck backups` lists them"))?;
            Proposal::Restore {
                node: to.clone().unwrap_or_else(|| b.node.clone()),
                backup: b,
            }
        }
        OpsCommand::Failover { node, .. } => Proposal::Failover { node: node.clone() },
        OpsCommand::Drain { node, .. } => Proposal::Drain { node: node.clone() },
        OpsCommand::Cordon { node, .. } => Proposal::Cordon { node: node.clone() },
        OpsCommand::Uncordon { node, .. } => Proposal::Uncordon { node: node.clone() },
        OpsCommand::Start { target, .. } => container(target, Verb::Start),
        OpsCommand::Stop { target, .. } => container(target, Verb::Stop),
        OpsCommand::Restart { target, .. } => container(target, Verb::Restart),
        OpsCommand::Backups { .. } => return Err("`backups` lists; it plans nothing".into()),
    })
}

/// The node running container `c` (must be unique among reachable nodes).
fn owner(fleet: &Fleet, c: &str) -> Result<String, String> {
    let nodes: Vec<&str> = fleet
        .nodes()
        .iter()
        .filter(|n| n.is_live())
        .filter(|n| {
            n.containers.values().any(|x| {
                x.spec.name == c || x.spec.id == c || (c.len() >= 6 && x.spec.id.starts_with(c))
            })
        })
        .map(|n| n.name())
        .collect();
    match nodes.as_slice() {
        [one] => Ok((*one).to_string()),
        [] => Err(format!(
            "no container `{c}` on a reachable node; `fleetdeck get containers` lists them"
        )),
        many => Err(format!(
            "`{c}` names containers on several nodes ({}); give --node",
            many.join(", ")
        )),
    }
}

/// What every fleet-reading command does besides its own work: fence nodes back from a
/// failover (or report them when read-only) and refresh the spec cache. Returns lines for
/// stderr.
pub async fn upkeep(settings: &Settings, read_only: bool) -> Vec<String> {
    let Some(dir) = crate::logging::state_dir() else {
        return Vec::new();
    };
    let ctx = Context {
        settings: settings.clone(),
        state_dir: Some(dir.clone()),
        read_only,
        confirm: Confirm::Terminal,
        live_progress: false,
    };
    let mut out = Vec::new();
    if !Failovers::load(&dir).pending().is_empty() {
        let fleet = read_fleet(&settings.agents).await;
        match fence_returned(&ctx, &fleet).await {
            Ok(messages) => out.extend(messages),
            Err(e) => out.push(format!("fencing failed: {e}")),
        }
    }
    let mut specs = SpecCache::load(&dir);
    let endpoints: Vec<String> = settings.agents.iter().map(ToString::to_string).collect();
    specs.refresh(&endpoints).await;
    if let Err(e) = specs.save(&dir) {
        out.push(format!("cannot save the spec cache: {e}"));
    }
    out
}

/// What `main` calls: resolves settings, runs, prints; returns the exit status.
pub async fn run_cli(cli: &crate::cli::Cli, cmd: &OpsCommand) -> i32 {
    let settings = match cli.settings() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fleetdeck: {e}");
            return EXIT_USAGE;
        }
    };
    let ctx = Context {
        settings,
        state_dir: crate::logging::state_dir(),
        read_only: cli.global.read_only,
        confirm: Confirm::Terminal,
        live_progress: true,
    };
    let out = run(cmd, &ctx).await;
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    out.status
}
