//! `fleetdeck get nodes|containers`: ask every agent once, concurrently, and print a table
//! or JSON. Unreachable agents are shown as UNKNOWN and make the exit status 2.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::{Cli, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, GetArgs, GetWhat, OutputFormat};
use crate::client::{AgentAddr, CLIENT_NAME, LinkError, fetch_snapshot_on};
use crate::config::Settings;
use crate::limits;
use crate::model::{AgentUpdate, Fleet, HealthState, Node, NodeSnapshot};

/// Time allowed for all agents together to answer.
pub const GET_TIMEOUT: Duration = Duration::from_secs(3);

/// What `get` prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetOutput {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
}

/// One agent's answer: `(epoch, seq, snapshot)` or why it did not answer.
pub type Answer = Result<(u64, u64, NodeSnapshot), LinkError>;

/// What `main` calls for `fleetdeck get`: resolves settings, makes room for one socket per
/// agent, asks, prints; returns the process exit status (0, 1 usage/config, 2 unreachable).
pub async fn run_cli(cli: &Cli, args: &GetArgs) -> i32 {
    let settings = match cli.settings() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fleetdeck: {e}");
            return EXIT_USAGE;
        }
    };
    if let Err(e) = limits::ensure_for(settings.agents.len()) {
        eprintln!("fleetdeck: {e}");
        return EXIT_USAGE;
    }
    let status = run(args, &settings).await;
    // Reading the fleet also fences nodes back from a failover and refreshes the spec cache.
    for line in crate::ops_cli::upkeep(&settings, cli.global.read_only).await {
        eprintln!("fleetdeck: {line}");
    }
    status
}

/// Runs `get` and prints its output; returns the process exit status.
pub async fn run(args: &GetArgs, settings: &Settings) -> i32 {
    let out = get(args, settings, GET_TIMEOUT).await;
    print!("{}", out.stdout);
    eprint!("{}", out.stderr);
    out.status
}

/// Runs `get` against the configured agents, each given `timeout` (concurrently).
pub async fn get(args: &GetArgs, settings: &Settings, timeout: Duration) -> GetOutput {
    if settings.agents.is_empty() {
        let hint = match &settings.config_path {
            Some(p) => format!("add agents = [\"HOST:PORT\"] to {}", p.display()),
            None => "or add agents = [\"HOST:PORT\"] to the config file".into(),
        };
        return GetOutput {
            stdout: String::new(),
            stderr: format!(
                "fleetdeck: no agents to ask; pass --agent HOST:PORT, set FLEETDECK_AGENTS, {hint}\n"
            ),
            status: EXIT_USAGE,
        };
    }
    let conns = crate::client::Connections::new(settings.credentials.clone(), timeout);
    let answers = ask_all_with(&settings.agents, timeout, &conns).await;
    render(args, &settings.agents, answers, settings.failover_timeout)
}

/// The fleet as one round of snapshots shows it: agents that do not answer are FAILED at
/// once (a runbook, a test or a benchmark acts on what answers now).
pub async fn fleet_once(
    agents: &[AgentAddr],
    timeout: Duration,
    conns: &crate::client::Connections,
) -> Fleet {
    let now = Instant::now();
    let mut fleet = Fleet::new(agents.iter().map(ToString::to_string), Duration::ZERO, now);
    for (slot, a) in ask_all_with(agents, timeout, conns)
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

/// Asks every agent for its snapshot at once, each on its connection in `conns`.
pub async fn ask_all_with(
    agents: &[AgentAddr],
    timeout: Duration,
    conns: &crate::client::Connections,
) -> Vec<Answer> {
    let asks = agents
        .iter()
        .map(|a| fetch_snapshot_on(conns, a, CLIENT_NAME, timeout));
    futures::future::join_all(asks).await
}

/// Formats the answers (pure).
pub fn render(
    args: &GetArgs,
    agents: &[AgentAddr],
    answers: Vec<Answer>,
    failover_timeout: Duration,
) -> GetOutput {
    let now = Instant::now();
    let mut fleet = Fleet::new(
        agents.iter().map(ToString::to_string),
        failover_timeout,
        now,
    );
    let mut errors: Vec<Option<String>> = vec![None; agents.len()];
    let mut stderr = String::new();
    for (slot, answer) in answers.into_iter().enumerate() {
        let update = match answer {
            Ok((epoch, seq, snapshot)) => AgentUpdate::Snapshot {
                slot,
                epoch,
                seq,
                snapshot: Box::new(snapshot),
            },
            Err(e) => {
                let reason = e.to_string();
                let agent = agents
                    .get(slot)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let _ = writeln!(stderr, "fleetdeck: agent {agent} unreachable: {reason}");
                errors[slot] = Some(reason.clone());
                AgentUpdate::Down { slot, reason }
            }
        };
        fleet.apply(update, now);
    }
    let unreachable = errors.iter().any(Option::is_some);
    let selected: Vec<usize> = (0..fleet.nodes().len())
        .filter(|&slot| {
            let node = &fleet.nodes()[slot];
            args.node
                .as_deref()
                .is_none_or(|n| node.name() == n || node.endpoint == n)
        })
        .collect();
    if let (Some(name), true) = (&args.node, selected.is_empty()) {
        let _ = writeln!(
            stderr,
            "fleetdeck: no node named `{name}`; `fleetdeck get nodes` lists them"
        );
        let status = if unreachable {
            EXIT_UNREACHABLE
        } else {
            EXIT_USAGE
        };
        return GetOutput {
            stdout: String::new(),
            stderr,
            status,
        };
    }
    let rows = Rows {
        fleet: &fleet,
        errors: &errors,
        selected: &selected,
        now,
    };
    let stdout = match (args.what, args.output) {
        (GetWhat::Nodes, OutputFormat::Table) => rows.node_table(),
        (GetWhat::Nodes, OutputFormat::Json) => json(&rows.node_records()),
        (GetWhat::Containers, OutputFormat::Table) => rows.container_table(),
        (GetWhat::Containers, OutputFormat::Json) => json(&rows.container_records()),
    };
    let status = if unreachable {
        EXIT_UNREACHABLE
    } else {
        EXIT_OK
    };
    GetOutput {
        stdout,
        stderr,
        status,
    }
}

/// A node as `get nodes -o json` prints it; figures are null while unreachable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeRecord {
    pub name: String,
    pub state: &'static str,
    pub endpoint: String,
    pub hostname: Option<String>,
    pub cpu_percent: Option<f64>,
    pub memory_used_bytes: Option<u64>,
    pub memory_total_bytes: Option<u64>,
    pub memory_percent: Option<f64>,
    pub disk_used_bytes: Option<u64>,
    pub disk_total_bytes: Option<u64>,
    pub disk_percent: Option<f64>,
    pub containers: Option<usize>,
    pub containers_running: Option<usize>,
    pub load: Option<f64>,
    pub error: Option<String>,
}

/// A container as `get containers -o json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerRecord {
    pub node: String,
    pub endpoint: String,
    pub id: String,
    pub name: String,
    pub service: String,
    pub image: String,
    pub state: &'static str,
    pub health: &'static str,
    pub restarts: u32,
    pub cpu_percent: f64,
    pub memory_used_bytes: u64,
    pub memory_limit_bytes: u64,
    pub created_unix_ms: u64,
    pub started_unix_ms: u64,
    pub exit_code: i32,
}

struct Rows<'a> {
    fleet: &'a Fleet,
    errors: &'a [Option<String>],
    selected: &'a [usize],
    now: Instant,
}

impl Rows<'_> {
    fn nodes(&self) -> impl Iterator<Item = (usize, &Node)> + '_ {
        self.selected
            .iter()
            .filter_map(|&slot| self.fleet.node(slot).map(|n| (slot, n)))
    }

    fn state(&self, slot: usize) -> &'static str {
        self.fleet
            .state(slot, self.now)
            .map_or("UNKNOWN", |s| s.as_str())
    }

    fn node_records(&self) -> Vec<NodeRecord> {
        self.nodes()
            .map(|(slot, n)| {
                let live = n.is_live().then_some(n);
                NodeRecord {
                    name: n.name().to_string(),
                    state: self.state(slot),
                    endpoint: n.endpoint.clone(),
                    hostname: n.info.as_ref().map(|i| i.hostname.clone()),
                    cpu_percent: live.map(|n| round1(n.host.cpu_percent)),
                    memory_used_bytes: live.map(|n| n.host.memory_used_bytes),
                    memory_total_bytes: live.map(|n| n.host.memory_total_bytes),
                    memory_percent: live.map(|n| round1(n.host.memory_percent())),
                    disk_used_bytes: live.map(|n| n.host.disk_used_bytes),
                    disk_total_bytes: live.map(|n| n.host.disk_total_bytes),
                    disk_percent: live.map(|n| round1(n.host.disk_percent())),
                    containers: live.map(|n| n.containers.len()),
                    containers_running: live.map(Node::active_containers),
                    load: live.map(|n| round1(n.load())),
                    error: self.errors.get(slot).cloned().flatten(),
                }
            })
            .collect()
    }

    fn node_table(&self) -> String {
        let head = [
            "NAME",
            "STATE",
            "CPU",
            "MEM",
            "DISK",
            "CONTAINERS",
            "LOAD",
            "ENDPOINT",
        ];
        let rows = self.node_records().into_iter().map(|r| {
            let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}%"));
            vec![
                r.name,
                r.state.to_string(),
                pct(r.cpu_percent),
                pct(r.memory_percent),
                pct(r.disk_percent),
                r.containers.map_or("-".into(), |c| c.to_string()),
                r.load.map_or("-".into(), |l| format!("{l:.0}")),
                r.endpoint,
            ]
        });
        table(&head, rows)
    }

    fn container_records(&self) -> Vec<ContainerRecord> {
        let mut out = Vec::new();
        for (_, node) in self.nodes().filter(|(_, n)| n.is_live()) {
            let mut containers: Vec<_> = node.containers.values().collect();
            containers.sort_by(|a, b| {
                a.spec
                    .name
                    .cmp(&b.spec.name)
                    .then(a.spec.key.cmp(&b.spec.key))
            });
            out.extend(containers.into_iter().map(|c| ContainerRecord {
                node: node.name().to_string(),
                endpoint: node.endpoint.clone(),
                id: c.spec.id.clone(),
                name: c.spec.name.clone(),
                service: c.spec.service.to_string(),
                image: c.spec.image.to_string(),
                state: c.spec.state.as_str(),
                health: if c.spec.health == HealthState::None {
                    "none"
                } else {
                    c.spec.health.as_str()
                },
                restarts: c.spec.restart_count,
                cpu_percent: round1(c.stats.cpu_percent),
                memory_used_bytes: c.stats.memory_used_bytes,
                memory_limit_bytes: c.stats.memory_limit_bytes,
                created_unix_ms: c.spec.created_unix_ms,
                started_unix_ms: c.spec.started_unix_ms,
                exit_code: c.spec.exit_code,
            }));
        }
        out
    }

    fn container_table(&self) -> String {
        let head = [
            "NODE", "NAME", "SERVICE", "IMAGE", "STATE", "HEALTH", "RESTARTS", "CPU", "MEM",
        ];
        let rows = self.container_records().into_iter().map(|r| {
            vec![
                r.node,
                r.name,
                if r.service.is_empty() {
                    "-".into()
                } else {
                    r.service
                },
                r.image,
                r.state.to_string(),
                if r.health == "none" {
                    "-".into()
                } else {
                    r.health.to_string()
                },
                r.restarts.to_string(),
                format!("{:.1}%", r.cpu_percent),
                human_bytes(r.memory_used_bytes),
            ]
        });
        table(&head, rows)
    }
}

/// Left-aligned columns two spaces apart; the last column is not padded.
fn table(head: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut all: Vec<Vec<String>> = vec![head.iter().map(|h| h.to_string()).collect()];
    all.extend(rows);
    let mut widths = vec![0; head.len()];
    for row in &all {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &all {
        let last = row.len().saturating_sub(1);
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<w$}  ");
            }
        }
        out.push('\n');
    }
    out
}

fn json<T: Serialize>(records: &[T]) -> String {
    // Plain structs of strings and numbers always serialise.
    serde_json::to_string_pretty(records)
        .map_or_else(|e| format!("{{\"error\":\"{e}\"}}\n"), |s| s + "\n")
}

fn round1(v: f32) -> f64 {
    (f64::from(v) * 10.0).round() / 10.0
}

/// Bytes in binary units, compact: `512B`, `1.5KiB`, `128.0MiB`, `2.0GiB`.
pub use fleetdeck_core::format::bytes as human_bytes;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    fn args(what: GetWhat, output: OutputFormat, node: Option<&str>) -> GetArgs {
        GetArgs {
            what,
            output,
            node: node.map(String::from),
        }
    }

    fn agents() -> Vec<AgentAddr> {
        ["127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect()
    }

    fn answers() -> Vec<Answer> {
        vec![
            Ok((11, 1, fixtures::snapshot(0, 3))),
            Ok((12, 5, fixtures::snapshot(1, 2))),
            Err(LinkError::Connect("connection refused".into())),
        ]
    }

    fn run(what: GetWhat, output: OutputFormat, node: Option<&str>) -> GetOutput {
        render(
            &args(what, output, node),
            &agents(),
            answers(),
            Duration::from_secs(10),
        )
    }

    #[test]
    fn nodes_table_shows_every_node_and_the_unreachable_one_as_unknown() {
        let out = run(GetWhat::Nodes, OutputFormat::Table, None);
        assert_eq!(out.status, EXIT_UNREACHABLE);
        assert_eq!(
            out.stderr,
            "fleetdeck: agent 127.0.0.1:7002 unreachable: connection refused\n"
        );
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), 4, "{}", out.stdout);
        assert!(lines[0].starts_with("NAME "));
        assert!(lines[1].starts_with("node-00 ") && lines[1].contains("ACTIVE"));
        assert!(lines[2].starts_with("node-01 "));
        assert!(lines[3].starts_with("127.0.0.1:7002") && lines[3].contains("UNKNOWN"));
        // Columns line up: every header starts where its values start.
        let col = lines[0].find("ENDPOINT").unwrap();
        for l in &lines[1..] {
            assert!(l[col..].starts_with("127.0.0.1:700"), "{l}");
        }
        let state_col = lines[0].find("STATE").unwrap();
        assert!(lines[3][state_col..].starts_with("UNKNOWN"));
    }

    #[test]
    fn all_answered_exits_zero() {
        let agents = &agents()[..2];
        let answers = answers().into_iter().take(2).collect();
        let a = args(GetWhat::Nodes, OutputFormat::Table, None);
        let out = render(&a, agents, answers, Duration::from_secs(10));
        assert_eq!((out.status, out.stderr.as_str()), (EXIT_OK, ""));
    }

    #[test]
    fn nodes_json_has_numbers_and_an_error_field() {
        let out = run(GetWhat::Nodes, OutputFormat::Json, None);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let nodes = v.as_array().unwrap();
        assert_eq!(nodes.len(), 3);
        assert_eq!(nodes[0]["name"], "node-00");
        assert_eq!(nodes[0]["state"], "ACTIVE");
        assert_eq!(nodes[0]["containers"], 3);
        assert!(nodes[0]["cpu_percent"].is_f64() && nodes[0]["load"].is_f64());
        assert!(nodes[0]["memory_total_bytes"].is_u64());
        assert!(nodes[0]["error"].is_null());
        assert_eq!(nodes[2]["state"], "UNKNOWN");
        assert_eq!(nodes[2]["error"], "connection refused");
        assert!(nodes[2]["cpu_percent"].is_null());
        assert_eq!(nodes[2]["endpoint"], "127.0.0.1:7002");
    }

    #[test]
    fn containers_table_and_json() {
        let out = run(GetWhat::Containers, OutputFormat::Table, None);
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert_eq!(lines.len(), 1 + 3 + 2, "{}", out.stdout);
        let head = "NODE     NAME   SERVICE  IMAGE";
        assert!(lines[0].starts_with(head), "{}", lines[0]);
        assert!(lines[0].ends_with("CPU     MEM") || lines[0].contains("RESTARTS  CPU"));
        assert!(lines[1].starts_with("node-00  "));
        assert_eq!(out.status, EXIT_UNREACHABLE);

        let out = run(GetWhat::Containers, OutputFormat::Json, Some("node-01"));
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        let list = v.as_array().unwrap();
        assert_eq!(list.len(), 2);
        assert!(list.iter().all(|c| c["node"] == "node-01"));
        assert!(list[0]["restarts"].is_u64() && list[0]["memory_used_bytes"].is_u64());
        assert!(["running", "exited", "restarting"].contains(&list[0]["state"].as_str().unwrap()));
    }

    #[test]
    fn an_unknown_node_name_is_an_error() {
        let out = run(GetWhat::Nodes, OutputFormat::Table, Some("node-99"));
        assert!(out.stdout.is_empty());
        assert!(
            out.stderr.contains("no node named `node-99`"),
            "{}",
            out.stderr
        );
        // Selecting the unreachable node by its address works.
        let out = run(GetWhat::Nodes, OutputFormat::Table, Some("127.0.0.1:7002"));
        assert_eq!(out.stdout.lines().count(), 2);
    }

    #[tokio::test]
    async fn no_agents_is_a_usage_error() {
        let settings = crate::config::resolve(&Default::default(), None, None).unwrap();
        let a = args(GetWhat::Nodes, OutputFormat::Table, None);
        let out = get(&a, &settings, Duration::from_secs(1)).await;
        assert_eq!(out.status, EXIT_USAGE);
        assert!(out.stderr.contains("--agent HOST:PORT") && out.stderr.lines().count() == 1);
    }
}
