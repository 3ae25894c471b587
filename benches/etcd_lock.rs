//! What etcd coordination costs an action: the plan-time read of the locks, taking every
//! lock of a plan (a lease grant and one transaction), and letting them go (a lease
//! revoke), against a real etcd (Debian's `etcd-server`) on loopback.
//!
//! Two plans: a migrate (two nodes used, two containers) and the drain of a node with 6
//! containers (the node held whole, 6 containers on it and 6 copies on 2 targets).
//!
//! Beside the locks, the action's intent record in etcd: written at the start (a read
//! for a resumed one, the record, its live key), rewritten at each step, ended.
//!
//! Run: `cargo bench --bench etcd_lock` (env `REPS`, default 300). Skipped, with the
//! reason printed, when /usr/bin/etcd is absent.

#[path = "../tests/support/services.rs"]
mod services;

#[path = "../tests/support/etcd.rs"]
mod etcd;

use std::time::{Duration, Instant};

use fleetdeck::coord::intents;
use fleetdeck::ops::Proposal;
use fleetdeck::ops::plan::{NodeRef, Plan, Step};

fn at(n: &str) -> NodeRef {
    NodeRef {
        name: n.into(),
        endpoint: format!("127.0.0.1:{}", 7000 + n.len()),
    }
}

fn migrate(name: &str, from: &str, to: &str) -> Step {
    Step::Migrate {
        from: at(from),
        container_id: format!("id-{name}"),
        name: name.into(),
        new_name: name.into(),
        to: at(to),
        bytes: 0,
    }
}

fn plans() -> Vec<(&'static str, Plan)> {
    let plan = |proposal, steps| Plan {
        proposal,
        title: "bench".into(),
        lines: Vec::new(),
        data_bytes: 0,
        confirm: None,
        steps,
    };
    let migrate_one = plan(
        Proposal::Migrate {
            node: "n1".into(),
            container: "db-1".into(),
            to: Some("n2".into()),
        },
        vec![migrate("db-1", "n1", "n2")],
    );
    let mut drain_steps = vec![Step::Drain { on: at("n1") }];
    for i in 0..6 {
        let to = if i % 2 == 0 { "n2" } else { "n3" };
        drain_steps.push(migrate(&format!("app-{i}"), "n1", to));
    }
    let drain = plan(Proposal::Drain { node: "n1".into() }, drain_steps);
    vec![("migrate", migrate_one), ("drain of 6", drain)]
}

/// The intent record of run `i` of `plan`.
fn intent(plan: &Plan, i: usize) -> intents::Record {
    intents::Record {
        id: format!("{i:016x}"),
        action: plan.proposal.kind().to_owned(),
        title: plan.title.clone(),
        owner: "bench@localhost".into(),
        owner_pid: std::process::id(),
        proposal: serde_json::to_string(&plan.proposal).unwrap_or_default(),
        plan: plan.lines.clone(),
        step: 0,
        steps: u32::try_from(plan.steps.len()).unwrap_or(u32::MAX),
        nodes: vec![("n1".into(), "127.0.0.1:7002".into())],
        locked_nodes: Vec::new(),
        locked_containers: Vec::new(),
        state: String::new(),
        message: String::new(),
        started_unix_ms: 0,
        updated_unix_ms: 0,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let n = samples.len();
    let p = |q: f64| samples[((n as f64 * q).ceil() as usize).clamp(1, n) - 1];
    println!(
        "| {what} | {n} | {:.2} | {:.2} | {:.2} |",
        ms(p(0.5)),
        ms(p(0.99)),
        ms(samples[n - 1])
    );
}

fn main() {
    if !etcd::available("etcd_lock bench") {
        return;
    }
    let reps: usize = std::env::var("REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let server = etcd::EtcdServer::start().await;
        let coord = server.coord("/fleetdeck-bench/");
        println!("| plan | step | runs | median ms | p99 ms | max ms |");
        println!("|---|---|---|---|---|---|");
        for (name, plan) in plans() {
            let (mut check, mut take, mut free, mut whole) = (vec![], vec![], vec![], vec![]);
            let mut record = vec![];
            for i in 0..reps {
                let (_src, cancel) = fleetdeck_core::cancel::channel();
                let t0 = Instant::now();
                coord.check(&plan).await.expect("no conflict");
                let t1 = Instant::now();
                let guard = coord.acquire(&plan, cancel).await.expect("locks taken");
                let t2 = Instant::now();
                let tracked = intents::Tracked::begin(&coord.etcd, guard.lease(), intent(&plan, i))
                    .await
                    .expect("intent recorded");
                for done in 1..=plan.steps.len() {
                    let done = u32::try_from(done).unwrap_or(u32::MAX);
                    tracked.step(done).await.expect("step recorded");
                }
                tracked.end("done", "").await.expect("end recorded");
                let t3 = Instant::now();
                guard.release().await;
                let t4 = Instant::now();
                check.push(t1 - t0);
                take.push(t2 - t1);
                record.push(t3 - t2);
                free.push(t4 - t3);
                whole.push(t4 - t0);
            }
            let n = plan.steps.len();
            report(&format!("{name} | plan-time check (range)"), check);
            report(&format!("{name} | take (grant + txn)"), take);
            report(
                &format!("{name} | intent record (begin, {n} steps, end)"),
                record,
            );
            report(&format!("{name} | release (revoke)"), free);
            report(&format!("{name} | all four"), whole);
        }
    });
}
