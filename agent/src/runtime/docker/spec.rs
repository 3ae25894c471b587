//! A container's engine configuration <-> the portable spec a copy is made from. Pure, so
//! it is tested without an engine.
//!
//! The portable spec is shared with sim nodes and has no fields for what only the engine
//! knows (command, entrypoint, user, working dir, health check, restart policy, networks,
//! and what kind of mount each volume is). Those travel in `fleetdeck.docker.*` labels of
//! the spec; creating a copy turns them back into engine configuration and never puts them
//! on the engine's container, so the copy's labels are the user's own.
//!
//! Volumes: a named volume becomes a new volume on the target, named after the target's
//! scope (`<scope value>.<original name>`, so two agents on one engine never share data),
//! with the mapping in the copy's [`VOLUME_MAP_LABEL`]; anonymous volumes and bind mounts
//! of host paths become folders the target agent manages under its data directory.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, HealthConfig, HostConfig, PortBinding,
    RestartPolicy, RestartPolicyNameEnum,
};
use serde::{Deserialize, Serialize};

use super::convert as conv;
use super::ops::{NAME_LABEL, VOLUME_DIR_LABEL, engine_name, mount_path, volume_name};
use crate::model::{PENDING_LABEL, PortableSpec};
use crate::runtime::RuntimeError;

/// Label carrying the command (JSON array) a copy must run; the portable spec has no field
/// for it, and a copy that ran the image's default command would not be the same service.
pub const CMD_LABEL: &str = "fleetdeck.docker.cmd";
/// Label carrying the entrypoint (JSON array), for the same reason.
pub const ENTRYPOINT_LABEL: &str = "fleetdeck.docker.entrypoint";
/// Label carrying the rest of the engine configuration ([`Extras`], JSON).
pub use fleetdeck_core::labels::EXTRAS_LABEL;
/// Label on a copy mapping each named volume's mount path to the volume's original name
/// (JSON object), so a copy of a copy is named after the original again.
pub const VOLUME_MAP_LABEL: &str = "fleetdeck.volume-map";
/// Prefix of the labels that carry engine configuration inside a portable spec.
const SPEC_LABEL_PREFIX: &str = "fleetdeck.docker.";
/// Nanoseconds of CPU time per second per core, the engine's unit for CPU limits.
const NANO_CPUS_PER_CORE: f64 = 1e9;
/// Networks every engine has; a container on them needs no user-defined network.
const BUILTIN_NETWORKS: [&str; 4] = ["bridge", "default", "host", "none"];

pub use fleetdeck_core::labels::{MountInfo, MountKind};

/// Engine configuration a portable spec has no field for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Extras {
    /// User (and group) the processes run as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// Health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    /// Restart policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<RestartPolicy>,
    /// `host` or `none` when the container uses no network of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// User-defined networks, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<String>,
    /// Mounts, by kind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<MountInfo>,
}

impl Extras {
    /// The extras recorded in `labels`, or none.
    pub fn of(labels: &BTreeMap<String, String>) -> Result<Self, RuntimeError> {
        labels.get(EXTRAS_LABEL).map_or(Ok(Self::default()), |raw| {
            serde_json::from_str(raw).map_err(|e| {
                RuntimeError::Failed(format!(
                    "label {EXTRAS_LABEL} is not fleetdeck's engine configuration: {e}"
                ))
            })
        })
    }

    /// The mount at `dest`, if the source recorded one.
    pub fn mount(&self, dest: &str) -> Option<&MountInfo> {
        self.mounts.iter().find(|m| m.dest == dest)
    }
}

/// The original name of each named volume of a copy, by mount path.
pub fn volume_map(labels: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    labels
        .and_then(|l| l.get(VOLUME_MAP_LABEL))
        .and_then(|raw| serde_json::from_str(raw).ok())
        .unwrap_or_default()
}

/// The name a named volume called `original` gets on a node with `scope`.
pub fn target_volume(scope: Option<&(String, String)>, original: &str) -> String {
    engine_name(scope, original)
}

/// An anonymous volume's name: 64 hex digits, made up by the engine.
fn is_anonymous(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

fn json_list(v: Option<&Vec<String>>) -> Option<String> {
    v.filter(|v| !v.is_empty())
        .and_then(|v| serde_json::to_string(v).ok())
}

fn non_empty(s: Option<&String>) -> Option<String> {
    s.filter(|s| !s.is_empty()).cloned()
}

/// The mounts of an inspected container, by kind.
pub fn mounts(i: &ContainerInspectResponse) -> Vec<MountInfo> {
    let labels = i.config.as_ref().and_then(|c| c.labels.as_ref());
    let managed = labels.and_then(|l| l.get(VOLUME_DIR_LABEL)).map(Path::new);
    let originals = volume_map(labels);
    let mut out: Vec<MountInfo> = Vec::new();
    for m in i.mounts.iter().flatten() {
        let Some(dest) = m.destination.clone() else {
            continue;
        };
        let mut source = String::new();
        let (kind, name) = match m.typ.as_deref() {
            Some("volume") => {
                let name = m.name.clone().unwrap_or_default();
                if is_anonymous(&name) {
                    (MountKind::Anonymous, String::new())
                } else {
                    let original = originals.get(&dest).cloned().unwrap_or(name);
                    (MountKind::Named, original)
                }
            }
            Some("bind") => {
                let src_path = m.source.as_deref().map(Path::new);
                match (managed, src_path) {
                    (Some(dir), Some(src)) if src.starts_with(dir) => {
                        (MountKind::Managed, String::new())
                    }
                    _ => {
                        source = m.source.clone().unwrap_or_default();
                        (MountKind::Bind, String::new())
                    }
                }
            }
            // tmpfs and the like hold no data worth carrying.
            _ => continue,
        };
        out.push(MountInfo {
            dest,
            kind,
            name,
            source,
            read_only: m.rw == Some(false),
        });
    }
    out.sort_by(|a, b| a.dest.cmp(&b.dest));
    out
}

/// The extras of an inspected container.
pub fn extras(i: &ContainerInspectResponse) -> Extras {
    let config = i.config.as_ref();
    let host = i.host_config.as_ref();
    let mode = host
        .and_then(|h| h.network_mode.clone())
        .unwrap_or_default();
    let (network_mode, networks) = if mode == "host" || mode == "none" {
        (Some(mode), Vec::new())
    } else {
        let mut nets: Vec<String> = i
            .network_settings
            .as_ref()
            .and_then(|n| n.networks.as_ref())
            .map(|n| n.keys().cloned().collect())
            .unwrap_or_default();
        if !mode.is_empty() && !mode.starts_with("container:") {
            nets.push(mode);
        }
        nets.retain(|n| !BUILTIN_NETWORKS.contains(&n.as_str()));
        nets.sort();
        nets.dedup();
        (None, nets)
    };
    let restart = host.and_then(|h| h.restart_policy.clone()).filter(|r| {
        !matches!(
            r.name,
            None | Some(RestartPolicyNameEnum::NO | RestartPolicyNameEnum::EMPTY)
        )
    });
    Extras {
        user: non_empty(config.and_then(|c| c.user.as_ref())),
        working_dir: non_empty(config.and_then(|c| c.working_dir.as_ref())),
        healthcheck: config.and_then(|c| c.healthcheck.clone()),
        restart,
        network_mode,
        networks,
        mounts: mounts(i),
    }
}

/// The portable description of an inspected container.
pub fn export(i: &ContainerInspectResponse, committed: bool) -> PortableSpec {
    let config = i.config.as_ref();
    let host = i.host_config.as_ref();
    let mut labels: BTreeMap<String, String> = config
        .and_then(|c| c.labels.as_ref())
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    // Where this copy lives and what the engine calls it belong to this node only.
    labels.remove(NAME_LABEL);
    labels.remove(VOLUME_DIR_LABEL);
    labels.remove(VOLUME_MAP_LABEL);
    labels.retain(|k, _| !k.starts_with(SPEC_LABEL_PREFIX));
    if committed {
        labels.remove(PENDING_LABEL);
    }
    if let Some(cmd) = json_list(config.and_then(|c| c.cmd.as_ref())) {
        labels.insert(CMD_LABEL.to_owned(), cmd);
    }
    if let Some(ep) = json_list(config.and_then(|c| c.entrypoint.as_ref())) {
        labels.insert(ENTRYPOINT_LABEL.to_owned(), ep);
    }
    let extras = extras(i);
    if extras != Extras::default()
        && let Ok(raw) = serde_json::to_string(&extras)
    {
        labels.insert(EXTRAS_LABEL.to_owned(), raw);
    }
    let mut ports = Vec::new();
    if let Some(bindings) = host.and_then(|h| h.port_bindings.as_ref()) {
        for (key, list) in bindings {
            let (port, proto) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            for b in list.iter().flatten() {
                let hp = b
                    .host_port
                    .as_deref()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                ports.push((port, hp, proto.to_owned()));
            }
        }
    }
    ports.sort();
    ports.dedup();
    let env = config
        .and_then(|c| c.env.as_ref())
        .map(|e| {
            e.iter()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let mut volumes: Vec<String> = extras
        .mounts
        .iter()
        .filter_map(|m| volume_name(&m.dest))
        .collect();
    volumes.sort();
    volumes.dedup();
    let status = conv::status(i);
    PortableSpec {
        id: i.id.clone().unwrap_or_default(),
        name: super::ops::fleet_name(i),
        image: config.and_then(|c| c.image.clone()).unwrap_or_default(),
        service: conv::service(&labels),
        labels,
        ports,
        env,
        volumes,
        volume_bytes: 0,
        memory_limit_bytes: conv::memory_limit(i),
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            reason = "a CPU limit in cores is small"
        )]
        cpu_limit_cores: host.and_then(|h| h.nano_cpus).unwrap_or(0) as f32
            / NANO_CPUS_PER_CORE as f32,
        state: status.state,
        health: status.health,
    }
}

fn parse_list(
    labels: &BTreeMap<String, String>,
    key: &str,
) -> Result<Option<Vec<String>>, RuntimeError> {
    labels
        .get(key)
        .map(|raw| {
            serde_json::from_str::<Vec<String>>(raw).map_err(|e| {
                RuntimeError::Failed(format!("label {key} is not a JSON list of strings: {e}"))
            })
        })
        .transpose()
}

/// The named volumes a copy of `spec` on a node with `scope` needs: mount path -> (volume
/// on this engine, original name).
pub fn named_volumes(
    spec: &PortableSpec,
    scope: Option<&(String, String)>,
) -> Result<BTreeMap<String, (String, String)>, RuntimeError> {
    let extras = Extras::of(&spec.labels)?;
    let mut out = BTreeMap::new();
    for v in &spec.volumes {
        let dest = mount_path(v)?;
        if let Some(m) = extras.mount(&dest).filter(|m| m.kind == MountKind::Named) {
            out.insert(dest, (target_volume(scope, &m.name), m.name.clone()));
        }
    }
    Ok(out)
}

/// What to ask the engine for to create `spec` as `engine_name`, with its managed volumes
/// in `dir`.
pub fn create_body(
    spec: &PortableSpec,
    scope: Option<&(String, String)>,
    engine_name: &str,
    dir: Option<&Path>,
) -> Result<ContainerCreateBody, RuntimeError> {
    let extras = Extras::of(&spec.labels)?;
    let mut labels: HashMap<String, String> = spec
        .labels
        .iter()
        .filter(|(k, _)| !k.starts_with(SPEC_LABEL_PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some((k, v)) = scope {
        // The copy belongs to this node, whatever node the spec came from.
        labels.insert(k.clone(), v.clone());
    }
    if engine_name != spec.name {
        labels.insert(NAME_LABEL.to_owned(), spec.name.clone());
    }
    if !spec.service.is_empty() && conv::service(&spec.labels).is_empty() {
        labels.insert(conv::SERVICE_LABEL.to_owned(), spec.service.clone());
    }
    let named = named_volumes(spec, scope)?;
    let mut binds = Vec::new();
    for v in &spec.volumes {
        let dest = mount_path(v)?;
        let ro = if extras.mount(&dest).is_some_and(|m| m.read_only) {
            ":ro"
        } else {
            ""
        };
        if let Some((volume, _)) = named.get(&dest) {
            binds.push(format!("{volume}:{dest}{ro}"));
        } else if let Some(dir) = dir {
            binds.push(format!("{}:{dest}{ro}", dir.join(v).display()));
        } else {
            return Err(RuntimeError::Failed(format!(
                "{} has volume {dest} but this agent has no data directory for it",
                spec.name
            )));
        }
    }
    if let Some(dir) = dir {
        labels.insert(VOLUME_DIR_LABEL.to_owned(), dir.display().to_string());
    }
    if !named.is_empty() {
        let map: BTreeMap<&String, &String> = named.iter().map(|(d, (_, o))| (d, o)).collect();
        if let Ok(raw) = serde_json::to_string(&map) {
            labels.insert(VOLUME_MAP_LABEL.to_owned(), raw);
        }
    }
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for (cp, hp, proto) in &spec.ports {
        let entry = bindings
            .entry(format!("{cp}/{proto}"))
            .or_insert_with(|| Some(Vec::new()));
        if let Some(list) = entry {
            list.push(PortBinding {
                host_ip: None,
                host_port: (*hp != 0).then(|| hp.to_string()),
            });
        }
    }
    let exposed: Vec<String> = bindings.keys().cloned().collect();
    let env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    // The first network at creation (the engine takes one there), the others connected
    // before the copy starts.
    let network_mode = extras
        .network_mode
        .clone()
        .or_else(|| extras.networks.first().cloned());
    Ok(ContainerCreateBody {
        image: Some(spec.image.clone()),
        labels: Some(labels),
        env: (!env.is_empty()).then_some(env),
        cmd: parse_list(&spec.labels, CMD_LABEL)?,
        entrypoint: parse_list(&spec.labels, ENTRYPOINT_LABEL)?,
        user: extras.user.clone(),
        working_dir: extras.working_dir.clone(),
        healthcheck: extras.healthcheck.clone(),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        host_config: Some(HostConfig {
            binds: (!binds.is_empty()).then_some(binds),
            port_bindings: (!bindings.is_empty()).then_some(bindings),
            restart_policy: extras.restart.clone(),
            network_mode,
            memory: i64::try_from(spec.memory_limit_bytes)
                .ok()
                .filter(|m| *m > 0),
            #[allow(
                clippy::cast_possible_truncation,
                reason = "nanoseconds of CPU per second fit an i64"
            )]
            nano_cpus: (spec.cpu_limit_cores > 0.0)
                .then(|| (f64::from(spec.cpu_limit_cores) * NANO_CPUS_PER_CORE) as i64),
            ..HostConfig::default()
        }),
        ..ContainerCreateBody::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_volumes_are_renamed_per_scope_and_bookkeeping_stays_off_the_engine() {
        let extras = Extras {
            user: Some("1000:1000".into()),
            networks: vec!["front".into(), "back".into()],
            mounts: vec![
                MountInfo {
                    dest: "/data".into(),
                    kind: MountKind::Named,
                    name: "pgdata".into(),
                    source: String::new(),
                    read_only: false,
                },
                MountInfo {
                    dest: "/cfg".into(),
                    kind: MountKind::Bind,
                    name: String::new(),
                    source: "/srv/cfg".into(),
                    read_only: true,
                },
            ],
            ..Extras::default()
        };
        let spec = PortableSpec {
            name: "db".into(),
            image: "img".into(),
            volumes: vec!["cfg".into(), "data".into()],
            labels: BTreeMap::from([
                (
                    EXTRAS_LABEL.to_owned(),
                    serde_json::to_string(&extras).unwrap(),
                ),
                ("team".to_owned(), "core".to_owned()),
            ]),
            ..PortableSpec::default()
        };
        let scope = ("k".to_owned(), "n2".to_owned());
        let body = create_body(&spec, Some(&scope), "n2.db", Some(Path::new("/s/d"))).unwrap();
        let host = body.host_config.unwrap();
        let binds = host.binds.unwrap();
        assert!(binds.contains(&"n2.pgdata:/data".to_owned()), "{binds:?}");
        assert!(binds.contains(&"/s/d/cfg:/cfg:ro".to_owned()), "{binds:?}");
        assert_eq!(host.network_mode.as_deref(), Some("front"));
        assert_eq!(body.user.as_deref(), Some("1000:1000"));
        let labels = body.labels.unwrap();
        assert!(labels.keys().all(|k| !k.starts_with(SPEC_LABEL_PREFIX)));
        assert_eq!(labels.get("team").map(String::as_str), Some("core"));
        assert_eq!(labels[VOLUME_MAP_LABEL], r#"{"/data":"pgdata"}"#);
        let notes = fleetdeck_core::labels::copy_notes(&spec.labels, "n2").join("\n");
        assert!(
            notes.contains("named volume pgdata (/data) becomes a new volume on n2"),
            "{notes}"
        );
        assert!(
            notes.contains("host folder /srv/cfg (/cfg) becomes a folder fleetdeck manages on n2, mounted read-only"),
            "{notes}"
        );
        assert!(notes.contains("networks front, back"), "{notes}");
    }

    #[test]
    fn anonymous_volume_names_are_recognised() {
        assert!(is_anonymous(&"a1".repeat(32)));
        assert!(!is_anonymous("pgdata"));
    }
}
