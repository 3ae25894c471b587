//! The labels fleetdeck puts on containers, and how to read the portable part of the engine
//! configuration a copy carries (what the plan shown before a migrate or drain needs).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Label on a migration copy until the migration commits it; an agent may drop such a
/// copy, since the source still runs.
pub const PENDING_LABEL: &str = "fleetdeck.pending";
/// Label on every container an intent creates: the intent's id, so an agent whose lease
/// expired finds the uncommitted copies to roll back.
pub const INTENT_LABEL: &str = "fleetdeck.intent";
/// Label on a failover copy: `<node>/<container name>` it replaces.
pub const REPLACES_LABEL: &str = "fleetdeck.replaces";
/// Label on a failover copy: the failed node's agent epoch when it was replaced.
pub const REPLACES_EPOCH_LABEL: &str = "fleetdeck.replaces-epoch";
/// Label on a fenced container: why it was stopped.
pub const FENCED_LABEL: &str = "fleetdeck.fenced";
/// Label carrying the engine configuration a portable spec has no field for (JSON).
pub const EXTRAS_LABEL: &str = "fleetdeck.docker.config";

/// What kind of mount a volume is on its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    /// A named volume: the copy gets its own named volume.
    Named,
    /// An anonymous volume: the copy gets a managed folder.
    Anonymous,
    /// A bind mount of a host path: the copy gets a managed folder.
    Bind,
    /// A folder the agent manages: the copy gets one too.
    Managed,
}

/// One mount of the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountInfo {
    /// Mount path in the container.
    pub dest: String,
    /// What it is.
    pub kind: MountKind,
    /// The original volume name (named volumes only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The host folder (bind mounts only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Mounted read-only (`:ro`, `readonly`): the copy mounts it read-only too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

/// The part of [`EXTRAS_LABEL`] that says what a copy on another node makes of the
/// source: its mounts and networks (the engine-only rest is the docker runtime's).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CopyFacts {
    /// User-defined networks, by name.
    #[serde(default)]
    pub networks: Vec<String>,
    /// Mounts, by kind.
    #[serde(default)]
    pub mounts: Vec<MountInfo>,
}

impl CopyFacts {
    /// The facts recorded in `labels` (none without the label); the error says why the
    /// label cannot be read.
    pub fn of(labels: &BTreeMap<String, String>) -> Result<Self, String> {
        labels.get(EXTRAS_LABEL).map_or(Ok(Self::default()), |raw| {
            serde_json::from_str(raw).map_err(|e| {
                format!("label {EXTRAS_LABEL} is not fleetdeck's engine configuration: {e}")
            })
        })
    }
}

/// What a copy on node `target` makes of the source's mounts and networks, one line each,
/// for the plan shown before anything happens (empty for a spec without engine extras).
pub fn copy_notes(labels: &BTreeMap<String, String>, target: &str) -> Vec<String> {
    let Ok(facts) = CopyFacts::of(labels) else {
        return vec![format!(
            "label {EXTRAS_LABEL} cannot be read: {target} will refuse the copy"
        )];
    };
    let mut out = Vec::new();
    for m in &facts.mounts {
        let dest = &m.dest;
        let ro = if m.read_only {
            ", mounted read-only"
        } else {
            ""
        };
        match m.kind {
            MountKind::Named => out.push(format!(
                "named volume {} ({dest}) becomes a new volume on {target}, named for {target}'s scope{ro}",
                m.name
            )),
            MountKind::Anonymous => out.push(format!(
                "anonymous volume {dest} becomes a folder fleetdeck manages on {target}{ro}"
            )),
            MountKind::Bind => out.push(format!(
                "bind mount of host folder {} ({dest}) becomes a folder fleetdeck manages on {target}{ro}: the data is copied, the host folder is no longer shared",
                if m.source.is_empty() { "?" } else { &m.source }
            )),
            MountKind::Managed => {}
        }
    }
    if !facts.networks.is_empty() {
        out.push(format!(
            "connect it to network{} {} (the same names on {target}'s engine)",
            if facts.networks.len() == 1 { "" } else { "s" },
            facts.networks.join(", ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_notes_read_mounts_and_networks_and_ignore_engine_only_fields() {
        let mut labels = BTreeMap::new();
        assert!(copy_notes(&labels, "n2").is_empty());
        labels.insert(
            EXTRAS_LABEL.to_owned(),
            r#"{"user":"app","networks":["back"],"mounts":[
                {"dest":"/data","kind":"named","name":"db","read_only":true},
                {"dest":"/cache","kind":"anonymous"},
                {"dest":"/srv","kind":"bind","source":"/opt/srv"}]}"#
                .to_owned(),
        );
        let notes = copy_notes(&labels, "n2");
        assert_eq!(notes.len(), 4, "{notes:?}");
        assert!(notes[0].contains("named volume db (/data)") && notes[0].contains("read-only"));
        assert!(notes[2].contains("/opt/srv"));
        assert!(notes[3].contains("network back"));
        labels.insert(EXTRAS_LABEL.to_owned(), "not json".to_owned());
        assert!(copy_notes(&labels, "n2")[0].contains("cannot be read"));
    }
}
