//! `fleetdeck actions`: the intents the agents (and etcd, when configured) hold: every
//! console's actions, running, interrupted or ended; and `abort` of an interrupted one.
//! `resume` runs the intent's recorded plan under the same id from the step it reached
//! (in [`super::run`]; see [`crate::ops::intent::resume`]).

use std::fmt::Write as _;

use super::{Context, EXIT_FAILED, OpsOutput, confirm_line};
use crate::cli::{EXIT_OK, EXIT_UNREACHABLE, OutputFormat};
use crate::client::Connections;
use crate::ops::intent::{self, IntentInfo};

/// The table `fleetdeck actions` prints.
pub(super) fn table(list: &[IntentInfo]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<17} {:<9} {:<12} {:<24} {:<6} {:<9} NODES",
        "ID", "ACTION", "STATE", "OWNER", "STEP", "SINCE"
    );
    for i in list {
        let _ = writeln!(
            out,
            "{:<17} {:<9} {:<12} {:<24} {:<6} {:<9} {}",
            i.id,
            i.action,
            i.state,
            format!("{} ({})", i.owner, i.owner_pid),
            format!("{}/{}", i.step, i.steps),
            fleetdeck_core::intent::clock(i.started_unix_ms),
            i.nodes.join(",")
        );
    }
    out
}

/// Lists the intents every agent at `endpoints` holds.
pub(super) async fn list(
    conns: &Connections,
    endpoints: &[String],
    coord: Option<&crate::coord::Coord>,
    output: OutputFormat,
) -> OpsOutput {
    let (list, errors) = intent::list(conns, endpoints, coord).await;
    let stdout = match output {
        OutputFormat::Table => table(&list),
        OutputFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        ),
    };
    let mut stderr = String::new();
    for e in &errors {
        let _ = writeln!(stderr, "fleetdeck: {e}");
    }
    OpsOutput {
        stdout,
        stderr,
        status: if errors.is_empty() {
            EXIT_OK
        } else {
            EXIT_UNREACHABLE
        },
    }
}

/// Rolls back interrupted intent `id` on every agent holding it that answers (those this
/// console follows and those its console recorded in etcd), and in etcd.
pub(super) async fn abort(
    conns: &Connections,
    ctx: &Context,
    (endpoints, coord): (&[String], Option<&crate::coord::Coord>),
    id: &str,
    opts: &super::ActOptions,
) -> OpsOutput {
    let (list, _) = intent::list(conns, endpoints, coord).await;
    let found = match intent::find(&list, id) {
        Ok(i) => i.clone(),
        Err(e) => return OpsOutput::fail(crate::cli::EXIT_USAGE, e),
    };
    if found.is_live() {
        return OpsOutput::fail(
            EXIT_FAILED,
            format!(
                "{}; only an interrupted action can be aborted",
                fleetdeck_core::intent::holder_line(
                    &format!("action {}", found.id),
                    &found.action,
                    &found.owner,
                    found.started_unix_ms,
                    &found.id
                )
            ),
        );
    }
    let on: Vec<&str> = found.node_refs.iter().map(|n| n.name.as_str()).collect();
    let plan_line = format!(
        "Abort {} ({}, {}): remove its uncommitted copies on {}{}",
        found.id,
        found.title,
        found.state,
        on.join(", "),
        if found.etcd_state.is_some() {
            "; mark it rolled back in etcd"
        } else {
            ""
        }
    );
    if opts.dry_run {
        return OpsOutput {
            stdout: format!("{plan_line}\ndry run: nothing was changed\n"),
            stderr: String::new(),
            status: EXIT_OK,
        };
    }
    if !opts.yes {
        eprintln!("{plan_line}");
        if let Err(e) = confirm_line(ctx, None) {
            return OpsOutput::fail(crate::cli::EXIT_USAGE, e);
        }
    }
    let lines = intent::abort(conns, &found, coord, "aborted from the command line").await;
    let message = format!("rolled back {}: {}", found.id, lines.join("; "));
    match opts.output {
        OutputFormat::Json => OpsOutput {
            stdout: format!(
                "{}\n",
                serde_json::json!({"id": found.id, "outcome": "rolled_back", "message": message})
            ),
            stderr: String::new(),
            status: EXIT_OK,
        },
        OutputFormat::Table => OpsOutput {
            stdout: format!("{message}\n"),
            stderr: String::new(),
            status: EXIT_OK,
        },
    }
}
