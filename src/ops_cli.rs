//! The action commands for runbooks: `fleetdeck scale|migrate|backup|backups|restore|
//! failover|drain|cordon|uncordon|start|stop|restart ...`. Each reads the fleet once (and
//! refreshes the spec cache, fencing any node back from a failover first), prints the exact
//! plan, asks for confirmation unless `--yes` (typed for whole-node or overwriting actions),
//! runs it with progress on stderr, and prints the outcome (or JSON with `-o json`).

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write as _};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::cli::{EXIT_OK, EXIT_USAGE, OutputFormat};
use crate::client::{AgentAddr, CONNECT_TIMEOUT, Connections};
use crate::config::Settings;
use crate::get;
use crate::model::Fleet;
use crate::ops::exec::Executor;
use crate::ops::fence::{self, Failovers};
use crate::ops::intent;
use crate::ops::plan::{self, Plan, PlanInput};
use crate::ops::specs::SpecCache;
use crate::ops::{OpEvent, Outcome, Proposal, human_bytes};

mod actions;
mod args;
mod output;
mod proposal;

pub use args::{
    ActOptions, ActionsVerb, ContainerTarget, OpsCommand, RolloutCommand, RolloutOptions,
};
use output::{backups_table, json, transfer_bytes};
use proposal::{list_backups, new_backup_ids, proposal};

/// Exit status: the action ran and failed (or was cancelled).
pub const EXIT_FAILED: i32 = 3;
/// Time allowed for reading the fleet.
const READ_TIMEOUT: Duration = Duration::from_secs(3);

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

/// Reads the fleet once: unreachable nodes count as FAILED (a runbook acts on what answers now).
async fn read_fleet(agents: &[AgentAddr], conns: &Connections) -> Fleet {
    get::fleet_once(agents, READ_TIMEOUT, conns).await
}

fn confirm(ctx: &Context, plan: &Plan) -> Result<(), String> {
    confirm_line(ctx, plan.confirm.clone())
}

/// Asks for `expected` to be typed (or y/N without one).
fn confirm_line(ctx: &Context, expected: Option<String>) -> Result<(), String> {
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
async fn fence_returned(
    conns: &Connections,
    ctx: &Context,
    fleet: &Fleet,
) -> Result<Vec<String>, String> {
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
        let coord = ctx
            .settings
            .coordination
            .clone()
            .map(crate::coord::Coord::new);
        let fenced = fence::fence(conns, dir, &stale, "fleetdeck-cli").await;
        out.push(fence::forget_in_etcd(coord.as_ref(), &stale.node, fenced).await?);
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
    // One connection per agent for everything this command asks.
    let conns = Connections::new(ctx.settings.credentials.clone(), CONNECT_TIMEOUT);
    let mut fleet = read_fleet(agents, &conns).await;
    let mut stderr = String::new();
    // Anything that returned after a failover is fenced before anything else.
    match fence_returned(&conns, ctx, &fleet).await {
        Ok(messages) if !messages.is_empty() => {
            for m in messages {
                let _ = writeln!(stderr, "fleetdeck: {m}");
            }
            fleet = read_fleet(agents, &conns).await;
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
    specs.refresh(&conns, &endpoints).await;
    if let Some(dir) = &ctx.state_dir
        && let Err(e) = specs.save(dir)
    {
        let _ = writeln!(stderr, "fleetdeck: cannot save the spec cache: {e}");
    }
    if let OpsCommand::Backups { node, output } = cmd {
        if let Some(x) = node
            && !fleet
                .nodes()
                .iter()
                .any(|n| n.name() == x || n.endpoint == *x)
        {
            let message = format!("no node named `{x}`; `fleetdeck get nodes` lists them");
            return OpsOutput::fail(EXIT_USAGE, message);
        }
        let (list, errors) = list_backups(&conns, &fleet, node.as_deref()).await;
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
    // With etcd, what another console holds is refused before anything is asked, and
    // the actions it holds are listed beside the agents'.
    let coord = ctx
        .settings
        .coordination
        .clone()
        .map(crate::coord::Coord::new);
    let mut resumed = None;
    let proposal = match cmd {
        OpsCommand::Actions { verb: None, output } => {
            return actions::list(&conns, &endpoints, coord.as_ref(), *output).await;
        }
        OpsCommand::Actions {
            verb: Some(ActionsVerb::Abort { id, opts }),
            ..
        } => return actions::abort(&conns, ctx, (&endpoints, coord.as_ref()), id, opts).await,
        OpsCommand::Actions {
            verb: Some(ActionsVerb::Resume { id, .. }),
            ..
        } => match resumable(&conns, &endpoints, coord.as_ref(), id).await {
            Ok((info, p)) => {
                resumed = Some(info);
                p
            }
            Err(e) => return OpsOutput::fail(EXIT_FAILED, e),
        },
        _ => match proposal(&conns, cmd, &fleet).await {
            Ok(p) => p,
            Err(e) => return OpsOutput::fail(EXIT_USAGE, e),
        },
    };
    if let Proposal::Rollout { service, .. } = &proposal {
        crate::ops::link::fetch_images(&conns, &mut fleet, service).await;
    }
    let pending = ctx
        .state_dir
        .as_deref()
        .map(|d| Failovers::load(d).pending())
        .unwrap_or_default()
        .into_iter()
        .filter(|n| fleet.nodes().iter().any(|x| x.is_live() && x.name() == n))
        .collect::<Vec<_>>();
    let (claims, _) = intent::list(&conns, &endpoints, coord.as_ref()).await;
    if !ctx.read_only {
        intent::settle(&conns, &claims, coord.as_ref()).await;
    }
    let input = PlanInput {
        fleet: &fleet,
        now: Instant::now(),
        specs: &specs,
        fencing: &pending,
        read_only: ctx.read_only,
        claims: &claims,
    };
    // A resume runs the recorded plan from the step it reached; one recorded without its
    // steps (an older console's) is planned again.
    let recorded = resumed
        .as_ref()
        .and_then(|info| intent::resume::prepare(info, &fleet, &specs));
    let planned = match recorded {
        Some(_) if ctx.read_only => Err(plan::PlanError::ReadOnly),
        Some(r) => match intent::refusal(&claims, &r.plan) {
            Some(line) => Err(plan::PlanError::Claimed(line)),
            None => Ok(r),
        },
        None => plan::plan(&input, &proposal).map(|plan| intent::resume::Resumed {
            plan,
            skip: Vec::new(),
        }),
    };
    let (plan, skip) = match planned {
        Ok(r) => (r.plan, r.skip),
        Err(e) => {
            let status = if matches!(e, plan::PlanError::Claimed(_)) {
                EXIT_FAILED
            } else {
                EXIT_USAGE
            };
            let mut out = OpsOutput::fail(status, e);
            out.stderr.insert_str(0, &stderr);
            return out;
        }
    };
    // A dry run only says what etcd refuses.
    if let Some(c) = &coord
        && let Err(refusal) = c.check(&plan).await
    {
        if opts.dry_run {
            let _ = writeln!(stderr, "fleetdeck: note: {refusal}");
        } else {
            let mut out = OpsOutput::fail(EXIT_FAILED, refusal);
            out.stderr.insert_str(0, &stderr);
            return out;
        }
    }
    if coord.is_none() && matches!(proposal, Proposal::Failover { .. } | Proposal::Drain { .. }) {
        let _ = writeln!(stderr, "fleetdeck: {}", intent::UNCOORDINATED_WARNING);
    }
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
    let resumed = resumed.map(|info| (info.id, skip));
    let (outcome, progress) = execute(&conns, ctx, &plan, coord, resumed).await;
    stderr.push_str(&progress);
    let backup_ids =
        if matches!(proposal, Proposal::Backup { .. }) && matches!(outcome, Outcome::Done(_)) {
            new_backup_ids(&conns, &fleet, &plan).await
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

/// Interrupted intent `id` (or a unique prefix), to resume.
async fn resumable(
    conns: &Connections,
    endpoints: &[String],
    coord: Option<&crate::coord::Coord>,
    id: &str,
) -> Result<(intent::IntentInfo, Proposal), String> {
    let (list, _) = intent::list(conns, endpoints, coord).await;
    let found = intent::find(&list, id)?;
    if !found.is_interrupted() {
        return Err(format!(
            "action {} is {}: only an interrupted action can be resumed",
            found.id, found.state
        ));
    }
    let p = found.proposal().ok_or_else(|| {
        format!(
            "action {} does not say what it proposed; abort it and plan it again",
            found.id
        )
    })?;
    Ok((found.clone(), p))
}

async fn execute(
    conns: &Connections,
    ctx: &Context,
    plan: &Plan,
    coord: Option<crate::coord::Coord>,
    resume: Option<(String, Vec<usize>)>,
) -> (Outcome, String) {
    let endpoints: Vec<String> = ctx
        .settings
        .agents
        .iter()
        .map(ToString::to_string)
        .collect();
    let mut exec = Executor::new(ctx.state_dir.clone(), "fleetdeck-cli", conns.clone())
        .with_agents(&endpoints);
    exec.coord = coord;
    let (source, cancel) = fleetdeck_core::cancel::channel();
    let (tx, mut rx) = mpsc::channel(256);
    let plan2 = plan.clone();
    let (id, skip) = resume.unwrap_or_else(|| (intent::new_id(), Vec::new()));
    let task =
        tokio::spawn(async move { exec.run_resumed(1, &plan2, &id, &skip, cancel, tx).await });
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

/// What every fleet-reading command does besides its own work: fence nodes back from a
/// failover (or report them when read-only) and refresh the spec cache. Returns lines for
/// stderr.
pub async fn upkeep(settings: &Settings, read_only: bool) -> Vec<String> {
    let Some(dir) = crate::logging::state_dir() else {
        return Vec::new();
    };
    crate::logging::tighten_state_dir(&dir);
    let ctx = Context {
        settings: settings.clone(),
        state_dir: Some(dir.clone()),
        read_only,
        confirm: Confirm::Terminal,
        live_progress: false,
    };
    let conns = Connections::new(settings.credentials.clone(), CONNECT_TIMEOUT);
    let mut out = Vec::new();
    if !Failovers::load(&dir).pending().is_empty() {
        let fleet = read_fleet(&settings.agents, &conns).await;
        match fence_returned(&conns, &ctx, &fleet).await {
            Ok(messages) => out.extend(messages),
            Err(e) => out.push(format!("fencing failed: {e}")),
        }
    }
    let mut specs = SpecCache::load(&dir);
    let endpoints: Vec<String> = settings.agents.iter().map(ToString::to_string).collect();
    specs.refresh(&conns, &endpoints).await;
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
    if let Some(dir) = &ctx.state_dir {
        crate::logging::tighten_state_dir(dir);
    }
    let out = run(cmd, &ctx).await;
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    out.status
}
