//! Tests of the simulated runtime.

use super::*;
use crate::model::{ContainerState, HealthState};

fn config(seed: u64) -> SimConfig {
    SimConfig {
        node_id: "sim-1".into(),
        seed,
        containers: 0,
        step: Duration::from_secs(1),
        start_unix_ms: 1_700_000_000_000,
        faults: true,
        unhealthy_images: Vec::new(),
        data_dir: None,
        state_file: None,
    }
}

fn run(seed: u64, steps: usize) -> Vec<(Vec<ContainerSample>, HostSample)> {
    let sim = SimRuntime::new(config(seed));
    (0..steps)
        .map(|_| {
            sim.advance();
            let s = sim.lock();
            (
                s.containers.iter().map(SimContainer::sample).collect(),
                s.last_host.clone(),
            )
        })
        .collect()
}

#[test]
fn same_seed_same_sequence() {
    let a = run(42, 300);
    let b = run(42, 300);
    assert!(a == b, "same seed must give the same sequence");
    let c = run(43, 5);
    assert!(a[..5] != c[..], "different seeds must differ");
}

#[test]
fn sizes_are_in_range() {
    for seed in 0..40 {
        let sim = SimRuntime::new(config(seed));
        let n = sim.lock().containers.len();
        assert!((12..=50).contains(&n), "{n} containers");
        let o = sim.node_overrides();
        let cores = o.cpu_cores.unwrap();
        assert!((4..=32).contains(&cores));
        let mem_gib = o.memory_total_bytes.unwrap() >> 30;
        assert!((16..=128).contains(&mem_gib));
        let host = sim.simulated_host().unwrap();
        assert!(host.memory_used_bytes <= host.memory_total_bytes);
        assert_eq!(host.cpu_per_core.len(), cores as usize);
    }
}

#[test]
fn names_are_unique_and_service_labelled() {
    let sim = SimRuntime::new(config(7));
    let s = sim.lock();
    let mut names: Vec<_> = s.containers.iter().map(|c| c.spec.name.clone()).collect();
    let n = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), n);
    for c in &s.containers {
        assert_eq!(
            c.spec.labels.get("fleetdeck.service"),
            Some(&c.spec.service)
        );
        assert!(c.spec.name.starts_with(&c.spec.service));
    }
}

/// Over an hour of simulated time, a fleet of 8 sees faults but stays mostly healthy.
#[test]
fn faults_happen_but_are_rare() {
    let (mut bad, mut total, mut restarts, mut pinned) = (0_u64, 0_u64, 0_u32, 0_u64);
    for seed in 0..8 {
        let sim = SimRuntime::new(config(seed));
        let before: u32 = sim
            .lock()
            .containers
            .iter()
            .map(|c| c.status.restart_count)
            .sum();
        for _ in 0..3600 {
            sim.advance();
            let s = sim.lock();
            for c in &s.containers {
                total += 1;
                let down = c.status.state == ContainerState::Restarting;
                let sick = c.status.health == HealthState::Unhealthy;
                bad += u64::from(down || sick);
                pinned += u64::from(c.stats.cpu_percent > 90.0);
            }
        }
        let after: u32 = sim
            .lock()
            .containers
            .iter()
            .map(|c| c.status.restart_count)
            .sum();
        restarts += after - before;
    }
    let bad_share = bad as f64 / total as f64;
    assert!(bad_share < 0.05, "too unhealthy: {bad_share}");
    assert!(
        bad > 0 || restarts > 0 || pinned > 0,
        "nothing ever happened"
    );
}

#[tokio::test]
async fn actions_change_state() {
    let mut cfg = config(3);
    cfg.faults = false;
    let sim = SimRuntime::new(cfg);
    let first = sim.containers().await.unwrap()[0].clone();
    let notified = sim.changes().unwrap();
    sim.act(ContainerVerb::Stop, &first.spec.id).await.unwrap();
    notified.notified().await;
    let now = sim.containers().await.unwrap()[0].clone();
    assert_eq!(now.status.state, ContainerState::Exited);
    assert_eq!(now.stats.cpu_percent, 0.0);
    sim.act(ContainerVerb::Start, &first.spec.id).await.unwrap();
    let now = sim.containers().await.unwrap()[0].clone();
    assert_eq!(now.status.state, ContainerState::Running);
    sim.act(ContainerVerb::Remove, &first.spec.id)
        .await
        .unwrap();
    assert!(
        sim.containers()
            .await
            .unwrap()
            .iter()
            .all(|c| c.spec.id != first.spec.id)
    );
    let err = sim
        .act(ContainerVerb::Stop, &first.spec.id)
        .await
        .unwrap_err();
    assert!(matches!(err, RuntimeError::NotFound(_)));
}

#[tokio::test]
async fn the_container_set_is_stored_and_half_made_copies_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(sim_store::SIM_STATE_FILE);
    let cfg = SimConfig {
        faults: false,
        state_file: Some(file.clone()),
        ..config(5)
    };
    let sim = SimRuntime::open(cfg.clone()).unwrap();
    assert!(!file.exists(), "nothing is written before a change");
    let first = sim.containers().await.unwrap()[0].clone();
    sim.act(ContainerVerb::Remove, &first.spec.id)
        .await
        .unwrap();
    let spec = PortableSpec {
        name: "copy-1".into(),
        image: "busybox".into(),
        service: "copy".into(),
        labels: BTreeMap::from([(crate::model::PENDING_LABEL.to_owned(), "x".to_owned())]),
        ..Default::default()
    };
    sim.create(&spec).await.unwrap();
    let names = |sim: &SimRuntime| -> Vec<String> {
        sim.lock()
            .containers
            .iter()
            .map(|c| c.spec.name.clone())
            .collect()
    };
    let before = names(&sim);
    let again = SimRuntime::open(cfg.clone()).unwrap();
    let after = names(&again);
    assert!(!after.contains(&first.spec.name), "removed stays removed");
    assert!(
        !after.contains(&"copy-1".to_owned()),
        "pending copies are dropped"
    );
    assert_eq!(after.len(), before.len() - 1);
    let other = SimConfig {
        node_id: "sim-2".into(),
        ..cfg
    };
    let err = SimRuntime::open(other).err().unwrap().to_string();
    assert!(err.contains("belongs to node sim-1"), "{err}");
}

#[test]
fn a_sim_node_starts_with_an_hour_of_history_that_meets_its_present() {
    let sim = SimRuntime::new(config(7));
    let past = sim.past().unwrap();
    let start = config(7).start_unix_ms;
    // 600 samples at the 1 s step, the older 50 minutes as 1-minute means.
    assert_eq!(past.samples.len(), 600);
    assert_eq!(past.samples.last().unwrap().0, start - 1000);
    assert_eq!(past.samples[0].0, start - 600_000);
    let first_minute = past.minutes[0].0;
    assert!(start - first_minute >= 3_600_000 && start - first_minute < 3_660_000);
    assert!(past.minutes.last().unwrap().0 < past.samples[0].0);
    let n = sim.lock().containers.len();
    assert_eq!(past.containers.len(), n);
    assert!(past.containers.iter().all(|(_, p)| p.len() == 600));
    // The curves move, and the newest past sample is close to the live first one.
    let cpus: Vec<f32> = past.samples.iter().map(|s| s.1.cpu_percent()).collect();
    assert!(cpus.iter().any(|c| (c - cpus[0]).abs() > 0.5), "flat past");
    let live = sim.simulated_host().unwrap().cpu_percent;
    let newest = cpus[599];
    assert!((live - newest).abs() < 15.0, "past {newest} vs live {live}");
    // Deterministic from the seed.
    assert_eq!(
        SimRuntime::new(config(7)).past().unwrap().samples,
        past.samples
    );
}
