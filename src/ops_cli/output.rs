//! What the action commands print: the JSON outcome and the backup table.

use std::fmt::Write as _;

use serde::Serialize;

use crate::ops::plan::{self, Plan};
use crate::ops::{BackupInfo, human_bytes};

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
pub(super) fn transfer_bytes(plan: &Plan) -> u64 {
    plan.steps
        .iter()
        .map(|s| match s {
            plan::Step::CopyBackup { bytes, .. } => *bytes,
            _ => 0,
        })
        .sum()
}

pub(super) fn json(
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

pub(super) fn backups_table(list: &[BackupInfo]) -> String {
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
