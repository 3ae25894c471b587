//! Intents in etcd: two consoles with disjoint agent lists over a real etcd (Debian's
//! `etcd-server` on free loopback ports). Console A (the binary) migrates a container
//! between the agents only it follows; console B, which follows a third agent, sees the
//! action in flight, sees it interrupted once A is SIGKILLed, and aborts it.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fleetdeck::ops::OpEvent;
use fleetdeck_agent::NodeMode;
use fleetdeck_core::labels::INTENT_LABEL;
use tokio::sync::mpsc;

use crate::intents::{console_command, output};
use crate::support::etcd::{self, EtcdServer};
use crate::support::ops::{Cluster, eventually_within, running};

/// Lease of the locks (10 s) with room for the polls.
const WITHIN: Duration = Duration::from_secs(30);

/// `fleetdeck ARGS` on `agents` with etcd at `url`: (success, stdout, stderr).
async fn console(
    home: &std::path::Path,
    agents: &[String],
    url: &str,
    args: &[&str],
) -> (bool, String, String) {
    let mut cmd = console_command(home, agents, args);
    cmd.env(fleetdeck::coord::ETCD_ENV, url);
    output(cmd).await
}

/// Console B's `actions -o json` entry for `id`, if listed.
async fn listed(
    home: &std::path::Path,
    agents: &[String],
    url: &str,
    id: &str,
) -> Option<serde_json::Value> {
    let (_, out, err) = console(home, agents, url, &["actions", "-o", "json"]).await;
    let list: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    list.as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id)
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_console_with_other_agents_sees_and_aborts_an_action_through_etcd() {
    if !etcd::available("a_console_with_other_agents_sees_and_aborts_an_action_through_etcd") {
        return;
    }
    let server = EtcdServer::start().await;
    let url = server.url();
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active, NodeMode::Active], 4).await;
    let (spec, vol) = c.stateful(0).await;
    std::fs::write(vol.join("blob.bin"), vec![7_u8; 64 << 20]).unwrap();
    let name = spec.name;
    let e = c.endpoints();
    let (a_agents, b_agents) = (vec![e[0].clone(), e[1].clone()], vec![e[2].clone()]);
    let (home_a, home_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // A migrates a container of n1 to n2; B follows only n3.
    let mut cmd = console_command(
        home_a.path(),
        &a_agents,
        &["migrate", &name, "--node", "n1", "--to", "n2", "--yes"],
    );
    cmd.env(fleetdeck::coord::ETCD_ENV, &url);
    let mut a = cmd.spawn().unwrap();
    let n2 = c.nodes[1].agent();
    let copy = || {
        n2.snapshot()
            .containers
            .iter()
            .find_map(|x| x.spec.labels.get(INTENT_LABEL).cloned())
    };
    eventually_within("the copy appears on n2", WITHIN, || copy().is_some()).await;
    let id = copy().unwrap();
    // B sees A's action in flight although none of its agents holds it.
    let seen = listed(home_b.path(), &b_agents, &url, &id)
        .await
        .expect("B lists A's action from etcd");
    assert_eq!(seen["state"], "running", "{seen}");
    assert_eq!(seen["action"], "migrate");
    assert_eq!(seen["nodes"], serde_json::json!(["n1", "n2"]), "{seen}");
    assert!(seen["held_by"].as_array().unwrap().is_empty(), "{seen}");
    // So does B's TUI: the history view's intent watch reads etcd too.
    let (tx, mut rx) = mpsc::channel(16);
    let mut runner = fleetdeck::ops::runner::Runner::new(None, "b", c.conns(), tx);
    let locks = runner.coordinate(server.coord("/fleetdeck/"));
    let watch = runner.spawn_intent_watch(b_agents.clone(), Duration::from_millis(200), false);
    loop {
        match rx.recv().await.unwrap() {
            OpEvent::Intents(list) if list.iter().any(|i| i.id == id) => break,
            _ => {}
        }
    }
    watch.abort();
    locks.abort();
    a.kill().unwrap(); // SIGKILL
    a.wait().unwrap();
    // Once A's lease in etcd is gone, B sees the action interrupted.
    let started = std::time::Instant::now();
    loop {
        let now = listed(home_b.path(), &b_agents, &url, &id).await.unwrap();
        if now["state"] == "interrupted" {
            break;
        }
        assert!(started.elapsed() < WITHIN, "never interrupted: {now}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // B aborts it: marked rolled back in etcd and on the agents A recorded there.
    let (ok, out, err) = console(
        home_b.path(),
        &b_agents,
        &url,
        &["actions", "abort", &id, "--yes"],
    )
    .await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("etcd: marked rolled back"), "{out}");
    let after = listed(home_b.path(), &b_agents, &url, &id).await.unwrap();
    assert_eq!(after["state"], "rolled_back", "{after}");
    eventually_within("no copy is left on n2", WITHIN, || copy().is_none()).await;
    assert!(
        running(c.nodes[0].agent()).iter().any(|(n, _)| *n == name),
        "the source still runs on n1"
    );
    // A's own agents hold it ended as well.
    let (_, out, _) = console(home_a.path(), &a_agents, &url, &["actions", "-o", "json"]).await;
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .unwrap();
    assert_eq!(mine["state"], "rolled_back", "{mine}");
}
