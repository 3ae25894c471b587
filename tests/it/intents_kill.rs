//! A console killed (SIGKILL) at each meaningful step of drain, failover, scale and
//! restore on another node: real sim agents over gRPC on loopback and the real `fleetdeck`
//! binary, as `intents.rs` does for migrate. Each case checks that the kill landed where it
//! meant to (claims taken and nothing created yet; a copy made but not committed; a copy
//! under way), then, within the lease plus one reaper interval (30 s, polled): no copy,
//! volume or staged backup of the killed action on any agent, the sources still run, and
//! a retry of the same command succeeds and keeps the original names.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Child;
use std::time::Duration;

use fleetdeck::ops::BackupInfo;
use fleetdeck_agent::{NodeMode, RunningAgent};
use fleetdeck_core::labels::{INTENT_LABEL, PENDING_LABEL};

use crate::intents::{console, of_intent, run};
use crate::support::ops::{self, Cluster, Node, audit, eventually_within};
use crate::support::tcp_proxy::TcpProxy;

/// Lease (15 s) plus one reaper interval (5 s), with room: the bound the issue sets.
const CLEAN_WITHIN: Duration = Duration::from_secs(30);
/// How long a console planning with an agent that never answers may take to claim.
const PLANNING_WITHIN: Duration = Duration::from_secs(90);
/// Volume data big enough that a copy is still under way when the test strikes.
const DATA_BYTES: usize = 64 << 20;

/// The intents `agent` holds for `action`, by id.
fn intents_of(agent: &RunningAgent, action: &str) -> Vec<fleetdeck_proto::IntentRecord> {
    agent
        .actions()
        .intents()
        .into_iter()
        .filter(|i| i.action == action)
        .collect()
}

/// The id of the one `action` intent `node` holds, once it holds one.
fn intent_on(node: &Node, action: &str) -> Option<String> {
    intents_of(node.agent(), action)
        .first()
        .map(|i| i.id.clone())
}

/// Containers on `agent` of intent `id` that are not committed: (id, name).
fn uncommitted(agent: &RunningAgent, id: &str) -> Vec<(String, String)> {
    agent
        .snapshot()
        .containers
        .iter()
        .filter(|c| {
            c.spec.labels.get(INTENT_LABEL).map(String::as_str) == Some(id)
                && c.spec.labels.contains_key(PENDING_LABEL)
        })
        .map(|c| (c.spec.id.clone(), c.spec.name.clone()))
        .collect()
}

/// Audit lines of `node` whose action starts with `prefix` and that succeeded.
fn audited(node: &Node, prefix: &str) -> Vec<serde_json::Value> {
    audit(&node.state_dir())
        .into_iter()
        .filter(|r| {
            r["action"].as_str().is_some_and(|a| a.starts_with(prefix))
                && r["outcome"]["result"] != "refused"
        })
        .collect()
}

/// Sends SIGKILL and reaps the console.
fn kill(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Waits (at most [`CLEAN_WITHIN`] from now) until intent `id` is no longer running on
/// any live node of `c` and none of them keeps an uncommitted container of it.
async fn settled(c: &Cluster, id: &str) {
    eventually_within(
        "the killed action's leases expire and its copies are reaped",
        CLEAN_WITHIN,
        || {
            c.nodes.iter().filter(|n| n.agent.is_some()).all(|n| {
                let a = n.agent();
                uncommitted(a, id).is_empty()
                    && a.actions()
                        .intents()
                        .iter()
                        .filter(|i| i.id == id)
                        .all(|i| fleetdeck_core::intent::state_name(i.state) != "running")
            })
        },
    )
    .await;
}

/// Runs the console to the end and asserts it succeeded.
async fn retry(home: &Path, agents: &[String], args: &[&str]) {
    let (ok, out, err) = run(home, agents, args).await;
    assert!(ok, "the retry of {args:?} succeeds: {out}{err}");
}

/// The names of the running containers of `agent`.
fn names(agent: &RunningAgent) -> Vec<String> {
    ops::running(agent).into_iter().map(|(n, _)| n).collect()
}

/// A file named `file` somewhere under `dir`, with its size.
fn find_file(dir: &Path, file: &str) -> Option<u64> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(s) = find_file(&p, file) {
                return Some(s);
            }
        } else if e.file_name() == file {
            return e.metadata().ok().map(|m| m.len());
        }
    }
    None
}

/// A running container of n1 with volumes, holding [`DATA_BYTES`] in `blob.bin`.
async fn stateful(c: &Cluster) -> String {
    let (spec, vol) = c.stateful(0).await;
    std::fs::write(vol.join("blob.bin"), vec![7_u8; DATA_BYTES]).unwrap();
    spec.name
}

/// Every agent of `c` behind a proxy of its own, in order: the test pauses them to hold
/// the console's calls at an exact point (nothing passes, connections stay open).
async fn proxied(c: &Cluster) -> (Vec<TcpProxy>, Vec<String>) {
    let mut proxies = Vec::new();
    for n in &c.nodes {
        let to = match &n.agent {
            Some(a) => a.addr().to_string(),
            None => n.addr.clone(),
        };
        proxies.push(TcpProxy::start(&to).await);
    }
    let addrs = proxies.iter().map(|p| p.addr.clone()).collect();
    (proxies, addrs)
}

/// An agent the console follows that never answers (a proxy paused from the start): the
/// console's claim waits on it after the other agents have taken theirs, so a kill then
/// lands after the claims and before anything is created.
async fn never_answers(c: &Cluster) -> TcpProxy {
    let live = c.nodes.iter().find_map(|n| n.agent.as_ref()).unwrap();
    let p = TcpProxy::to(live.addr()).await;
    p.pause();
    p
}

/// Waits until the big volume is being copied into its drain copy on n2 (the data arrives
/// in a staging folder beside the copy's volumes); returns the copy: (id, name).
async fn big_copy_under_way(c: &Cluster) -> (String, String) {
    let n2 = &c.nodes[1];
    let mut copy = None;
    eventually_within("the big copy is under way on n2", CLEAN_WITHIN, || {
        let Some(id) = intent_on(n2, "drain") else {
            return false;
        };
        copy = uncommitted(n2.agent(), &id).into_iter().find(|(cid, _)| {
            let staging = n2.volumes(cid).with_extension("incoming");
            find_file(&staging, "blob.bin").is_some_and(|s| s < DATA_BYTES as u64)
        });
        copy.is_some()
    })
    .await;
    copy.unwrap()
}

/// After a drain of n1 was killed while copying `name` to n2 as `copy`: nothing of the
/// copy stays, `name` runs on n1, and a retry lands it on n2 under the copy's name.
async fn after_a_drain_kill(
    c: &Cluster,
    home: &Path,
    name: &str,
    (copy_id, copy_name): (String, String),
) {
    let n2 = &c.nodes[1];
    let id = intent_on(n2, "drain").unwrap();
    settled(c, &id).await;
    let staging = n2.volumes(&copy_id).with_extension("incoming");
    assert!(
        !n2.volumes(&copy_id).exists() && !staging.exists(),
        "the copy's volumes and staged data are gone"
    );
    assert!(
        names(c.nodes[0].agent()).iter().any(|n| n == name),
        "{name} runs on n1"
    );
    retry(home, &c.endpoints(), &["drain", "n1", "--yes"]).await;
    let on_n2 = names(n2.agent());
    assert_eq!(
        on_n2.iter().filter(|n| **n == copy_name).count(),
        1,
        "{name} runs on n2 under the first copy's name {copy_name}: {on_n2:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_drain_killed_mid_copy_leaves_no_copy_and_a_retry_keeps_the_name() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    let name = stateful(&c).await;
    let home = tempfile::tempdir().unwrap();
    let child = console(home.path(), &c.endpoints(), &["drain", "n1", "--yes"]);
    let copy = big_copy_under_way(&c).await;
    kill(child);
    after_a_drain_kill(&c, home.path(), &name, copy).await;
    assert!(ops::running(c.nodes[0].agent()).is_empty(), "n1 is drained");
}

/// Runs the console with `args` and kills it once the nodes `on` (indexes) hold its claims,
/// while it still waits on an agent that never answers; checks nothing was created yet.
/// Returns the intent id.
async fn killed_after_the_claims(
    c: &Cluster,
    home: &Path,
    args: &[&str],
    on: [usize; 2],
) -> String {
    let stuck = never_answers(c).await;
    let agents = [c.endpoints(), vec![stuck.addr.clone()]].concat();
    let child = console(home, &agents, args);
    let action = args[0];
    let mut id = None;
    // Planning asks the silent agent too and waits out its timeouts (20 s here, more on a
    // loaded machine) before the claims are written.
    eventually_within(
        "the claims are on the nodes it changes",
        PLANNING_WITHIN,
        || {
            id = intent_on(&c.nodes[on[0]], action)
                .filter(|i| intent_on(&c.nodes[on[1]], action).as_ref() == Some(i));
            id.is_some()
        },
    )
    .await;
    kill(child);
    assert!(
        c.nodes
            .iter()
            .filter(|n| n.agent.is_some())
            .all(|n| audited(n, "container.create").is_empty()),
        "the kill landed before the first copy was made"
    );
    id.unwrap()
}

/// Runs the console with `args` on `agents` (each behind one of `proxies`) and kills it
/// once an agent has made its first copy, holding every call at the proxies first so the
/// kill lands before anything is committed (checked).
async fn killed_after_a_creation(
    c: &Cluster,
    home: &Path,
    (agents, args): (&[String], &[&str]),
    proxies: &[TcpProxy],
) {
    let child = console(home, agents, args);
    let live = || c.nodes.iter().filter(|n| n.agent.is_some());
    eventually_within("the first copy is made", CLEAN_WITHIN, || {
        live().any(|n| !audited(n, "container.create").is_empty())
    })
    .await;
    proxies.iter().for_each(TcpProxy::pause);
    kill(child);
    proxies.iter().for_each(TcpProxy::resume);
    assert!(
        live().all(|n| audited(n, "container.commit").is_empty()),
        "the kill landed before any commit"
    );
}

/// Three nodes: n1 with four containers, n2 and n3 STANDBY with one each.
pub async fn n1_and_two_standbys() -> Cluster {
    Cluster::start_with(
        &[NodeMode::Active, NodeMode::Standby, NodeMode::Standby],
        4,
        |i, cfg| {
            if i > 0 {
                cfg.containers = 1;
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_drain_killed_after_its_claims_and_before_its_first_copy_leaves_nothing() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    let before = names(c.nodes[0].agent());
    let home = tempfile::tempdir().unwrap();
    let (ok, planned, err) = run(home.path(), &c.endpoints(), &["drain", "n1", "--dry-run"]).await;
    assert!(ok, "{err}");
    let id = killed_after_the_claims(&c, home.path(), &["drain", "n1", "--yes"], [0, 1]).await;
    settled(&c, &id).await;
    assert_eq!(of_intent(c.nodes[1].agent(), &id), 0, "no copy on n2");
    assert_eq!(names(c.nodes[0].agent()), before, "every source runs on n1");
    retry(home.path(), &c.endpoints(), &["drain", "n1", "--yes"]).await;
    // Each container lands under the name the plan gave it before the kill.
    let on_n2 = names(c.nodes[1].agent());
    for n in &before {
        let line = planned
            .lines()
            .find(|l| l.contains(&format!("migrate {n} ")))
            .unwrap_or_else(|| panic!("{n} in the plan: {planned}"));
        let landed = line
            .split(" as ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or(n);
        assert!(
            on_n2.iter().any(|x| x == landed),
            "{landed} on n2: {on_n2:?}"
        );
    }
}

/// n1 with four containers is killed; n2 and n3 are STANDBY nodes.
/// Returns the names a failover plans for n1's containers (as a dry run shows them).
async fn failed_n1() -> (Cluster, tempfile::TempDir, Vec<String>) {
    let mut c = n1_and_two_standbys().await;
    let originals = names(c.nodes[0].agent());
    assert!(originals.len() >= 2, "{originals:?}");
    let home = tempfile::tempdir().unwrap();
    // Any run caches the specs a failover needs.
    run(home.path(), &c.endpoints(), &["drain", "n1", "--dry-run"]).await;
    c.nodes[0].kill().await;
    let (ok, plan, err) = run(
        home.path(),
        &c.endpoints(),
        &["failover", "n1", "--dry-run"],
    )
    .await;
    assert!(ok, "{err}");
    let mut planned: Vec<String> = originals
        .iter()
        .map(|n| {
            let line = plan
                .lines()
                .find(|l| l.contains(&format!("re-create {n} ")))
                .unwrap_or_else(|| panic!("{n} in the plan: {plan}"));
            line.split(" as ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .unwrap_or(n)
                .to_owned()
        })
        .collect();
    planned.sort();
    (c, home, planned)
}

/// After a failover of n1 was killed as intent `id`: no copy of it on the targets once
/// its leases are gone; a retry makes each copy once, under the name planned before.
async fn failover_undone_then_retried(c: &Cluster, home: &Path, id: &str, planned: &[String]) {
    settled(c, id).await;
    for n in &c.nodes[1..] {
        assert_eq!(
            of_intent(n.agent(), id),
            0,
            "no copy on {}",
            n.config.node_id
        );
    }
    retry(home, &c.endpoints(), &["failover", "n1", "--yes"]).await;
    assert_eq!(
        failover_copies(c),
        planned,
        "each container once, under its planned name"
    );
}

/// The failover copies on the targets, by name.
fn failover_copies(c: &Cluster) -> Vec<String> {
    let mut v: Vec<String> = c.nodes[1..]
        .iter()
        .flat_map(|n| n.agent().snapshot().containers)
        .filter(|x| {
            x.spec
                .labels
                .contains_key(fleetdeck_core::labels::REPLACES_LABEL)
        })
        .map(|x| x.spec.name.clone())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failover_killed_after_a_copy_and_before_its_commit_leaves_no_copy() {
    let (c, home, planned) = failed_n1().await;
    let (proxies, mut agents) = proxied(&c).await;
    // The failed node is followed where its specs were cached.
    agents[0].clone_from(&c.nodes[0].addr);
    killed_after_a_creation(
        &c,
        home.path(),
        (&agents, &["failover", "n1", "--yes"]),
        &proxies,
    )
    .await;
    let id = intent_on(&c.nodes[1], "failover").unwrap();
    failover_undone_then_retried(&c, home.path(), &id, &planned).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failover_killed_after_its_claims_leaves_no_copy() {
    let (c, home, planned) = failed_n1().await;
    let args = ["failover", "n1", "--yes"];
    let id = killed_after_the_claims(&c, home.path(), &args, [1, 2]).await;
    failover_undone_then_retried(&c, home.path(), &id, &planned).await;
}

/// A service with a replica on n1, its running replicas' names and the highest replica
/// number in use.
fn a_service(c: &Cluster) -> (String, Vec<String>, u32) {
    let svc = c.nodes[0]
        .agent()
        .snapshot()
        .containers
        .iter()
        .find(|x| !x.spec.service.is_empty() && x.status.state.is_up())
        .map(|x| x.spec.service.clone())
        .unwrap();
    let agents = c
        .nodes
        .iter()
        .map(|n| (n.config.node_id.as_str(), n.agent()));
    let mut replicas: Vec<String> = ops::service_replicas(agents, &svc)
        .into_iter()
        .map(|(_, name, _, _)| name)
        .collect();
    replicas.sort();
    let top = c
        .nodes
        .iter()
        .flat_map(|n| n.agent().snapshot().containers)
        .filter_map(|x| x.spec.name.strip_prefix(&format!("{svc}-"))?.parse().ok())
        .max()
        .unwrap_or(0);
    (svc, replicas, top)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_scale_killed_after_a_new_replica_and_before_its_commit_leaves_none() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    let (svc, replicas, top) = a_service(&c);
    let want = (replicas.len() + 2).to_string();
    let home = tempfile::tempdir().unwrap();
    let args = ["scale", svc.as_str(), want.as_str(), "--yes"];
    let (proxies, agents) = proxied(&c).await;
    killed_after_a_creation(&c, home.path(), (&agents, &args), &proxies).await;
    let id = c.nodes.iter().find_map(|n| intent_on(n, "scale")).unwrap();
    settled(&c, &id).await;
    for n in &c.nodes {
        assert_eq!(
            of_intent(n.agent(), &id),
            0,
            "no new replica on {}",
            n.config.node_id
        );
    }
    let agents = || {
        c.nodes
            .iter()
            .map(|n| (n.config.node_id.as_str(), n.agent()))
    };
    let mut now: Vec<String> = ops::service_replicas(agents(), &svc)
        .into_iter()
        .map(|(_, n, _, _)| n)
        .collect();
    now.sort();
    assert_eq!(
        now, replicas,
        "the replicas that ran before still run, alone"
    );
    retry(home.path(), &c.endpoints(), &args).await;
    let mut after: Vec<String> = ops::service_replicas(agents(), &svc)
        .into_iter()
        .map(|(_, n, _, _)| n)
        .collect();
    after.sort();
    let mut expected = replicas.clone();
    expected.extend([format!("{svc}-{}", top + 1), format!("{svc}-{}", top + 2)]);
    expected.sort();
    assert_eq!(
        after, expected,
        "the new replicas take the next numbers, none skipped"
    );
}

/// Backs up a container of n1 holding `bytes` of incompressible data; returns the backup.
async fn big_backup(c: &Cluster, bytes: usize) -> BackupInfo {
    crate::ops_restore_to::backed_up_with(c, bytes).await.2
}

/// The files of n2's backup registry.
fn registry(node: &Node) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(node.state_dir().join("backups"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|f| !f.starts_with('.'))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restore_elsewhere_killed_mid_copy_of_the_backup_keeps_nothing_staged() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    let b = big_backup(&c, 24 << 20).await;
    // The console reaches n2 through a proxy the test pauses mid-copy, so the kill lands
    // while the archive is half written there.
    let proxy = TcpProxy::to(c.nodes[1].agent().addr()).await;
    let agents = vec![c.nodes[0].addr.clone(), proxy.addr.clone()];
    let home = tempfile::tempdir().unwrap();
    let args = ["restore", b.id.as_str(), "--to", "n2", "--yes"];
    let child = console(home.path(), &agents, &args);
    let n2 = &c.nodes[1];
    let part = n2
        .state_dir()
        .join("backups")
        .join(format!("{}.tar.incoming", b.id));
    let archive_bytes = b.size_bytes;
    eventually_within("the archive is being written on n2", CLEAN_WITHIN, || {
        std::fs::metadata(&part).is_ok_and(|m| m.len() > 0)
    })
    .await;
    proxy.pause();
    let at_kill = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    kill(child);
    assert!(
        at_kill < archive_bytes,
        "killed mid-copy: {at_kill} of {archive_bytes} bytes"
    );
    proxy.resume();
    let id = intent_on(&c.nodes[0], "restore").unwrap();
    settled(&c, &id).await;
    eventually_within("nothing of the backup stays on n2", CLEAN_WITHIN, || {
        !part.exists() && registry(n2).is_empty()
    })
    .await;
    assert_eq!(of_intent(n2.agent(), &id), 0);
    assert!(
        names(c.nodes[0].agent()).contains(&b.container),
        "the source runs"
    );
    retry(home.path(), &agents, &args).await;
    assert!(
        names(n2.agent()).contains(&b.container),
        "restored on n2 under its name"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restore_elsewhere_killed_after_the_copy_removes_the_staged_backup_and_the_container() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    let b = big_backup(&c, 4 << 20).await;
    let home = tempfile::tempdir().unwrap();
    let args = ["restore", b.id.as_str(), "--to", "n2", "--yes"];
    let (proxies, agents) = proxied(&c).await;
    let child = console(home.path(), &agents, &args);
    let n2 = &c.nodes[1];
    let record = n2
        .state_dir()
        .join("backups")
        .join(format!("{}.json", b.id));
    eventually_within("the backup is staged on n2", CLEAN_WITHIN, || {
        record.exists()
    })
    .await;
    // Held there: the restore may still run on n2, but its commit cannot reach it.
    proxies.iter().for_each(TcpProxy::pause);
    kill(child);
    proxies.iter().for_each(TcpProxy::resume);
    assert!(
        audited(n2, "container.commit").is_empty(),
        "the kill landed before the restored container was committed"
    );
    let id = intent_on(&c.nodes[0], "restore").unwrap();
    let staged: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(
        staged["intent"],
        id.as_str(),
        "the staged backup carries the intent"
    );
    settled(&c, &id).await;
    eventually_within("the staged backup is removed", CLEAN_WITHIN, || {
        registry(n2).is_empty()
    })
    .await;
    assert_eq!(of_intent(n2.agent(), &id), 0, "no restored container stays");
    assert!(!names(n2.agent()).contains(&b.container));
    // The agent writes the audit line once the files are gone: it may follow a moment later.
    eventually_within(
        "the removal of the staged backup is audited",
        CLEAN_WITHIN,
        || {
            audit(&n2.state_dir())
                .into_iter()
                .any(|r| r["action"] == "intent.reap" && r["target"] == b.id.as_str())
        },
    )
    .await;
    retry(home.path(), &c.endpoints(), &args).await;
    assert!(
        names(n2.agent()).contains(&b.container),
        "restored on n2 under its name"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_terminal_console_killed_mid_drain_leaves_no_copy_and_a_retry_keeps_the_name() {
    use crate::support::pty::Pty;
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    let name = stateful(&c).await;
    let e = c.endpoints();
    let bin = env!("CARGO_BIN_EXE_fleetdeck");
    let term = Pty::start(&[bin, "--agent", &e[0], "--agent", &e[1]], 160, 45);
    let wait = |what: &str, pred: &dyn Fn(&str) -> bool| {
        term.wait_for(what, Duration::from_secs(30), pred);
    };
    wait("both nodes live", &|s| {
        s.contains("n2") && s.matches(" live").count() >= 2
    });
    // The node table opens on n1: drain it from the keyboard, typing its name to confirm.
    term.send(&["d"]);
    wait("the drain plan", &|s| {
        s.contains("Drain n1") && s.contains("type n1 to confirm")
    });
    term.type_text("n1");
    term.send(&["Enter"]);
    let copy = big_copy_under_way(&c).await;
    let pid = nix::unistd::Pid::from_raw(i32::try_from(term.pid()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    assert!(
        term.exit_status(Duration::from_secs(10)).is_some(),
        "the console is gone"
    );
    after_a_drain_kill(&c, &term.home(), &name, copy).await;
}
