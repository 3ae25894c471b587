//! Watch over real gRPC: snapshot, deltas, heartbeats, slow readers, kill and restart.

// Test helpers outside #[test] fns may unwrap too.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use fleetdeck_agent::{AgentConfig, bind, spawn};
use fleetdeck_proto as pb;
use pb::watch_event::Body;

#[tokio::test]
async fn snapshot_then_deltas_that_sum_up() {
    let (agent, _dir) = start(fast("w1", 30)).await;
    let mut c = client(&agent).await;
    let mut s = watch(&mut c).await;
    let first = next(&mut s).await;
    assert_eq!(first.epoch, agent.epoch());
    let mut model = Model::from_snapshot(&first);
    assert_eq!(model.containers.len(), 30);
    let Some(Body::Snapshot(snap)) = &first.body else {
        unreachable!()
    };
    let node = snap.node.as_ref().unwrap();
    assert_eq!(node.node_id, "w1");
    assert_eq!(node.runtime, "sim");
    assert!(model.host.as_ref().unwrap().memory_total_bytes > 0);
    assert!(!model.health.is_empty());

    for _ in 0..15 {
        let ev = next(&mut s).await;
        assert_eq!(ev.epoch, agent.epoch());
        match &ev.body {
            Some(Body::Delta(d)) => {
                // Most containers move every step, but not the stopped ones.
                assert!(d.stats.len() + d.upserts.len() <= 30);
                model.apply(&ev);
            }
            Some(Body::Heartbeat(_)) => assert_eq!(ev.seq, model.seq),
            other => panic!("unexpected {other:?}"),
        }
    }
    // A fresh snapshot from a second stream equals the first stream's sum of deltas.
    let mut c2 = client(&agent).await;
    let fresh = Model::from_snapshot(&next(&mut watch(&mut c2).await).await);
    while model.seq < fresh.seq {
        let ev = next(&mut s).await;
        if matches!(ev.body, Some(Body::Delta(_))) {
            model.apply(&ev);
        }
    }
    assert_eq!(model.seq, fresh.seq);
    assert_eq!(model.containers, fresh.containers);
    assert_eq!(model.health, fresh.health);
    assert_eq!(
        model.host.as_ref().map(|h| h.cpu_percent),
        fresh.host.as_ref().map(|h| h.cpu_percent)
    );
    agent.shutdown().await;
}

#[tokio::test]
async fn heartbeats_when_nothing_changes() {
    let config = AgentConfig {
        sample_interval: Duration::from_secs(3600),
        heartbeat_interval: Duration::from_millis(100),
        ..AgentConfig::sim("hb", 1)
    };
    let (agent, _dir) = start(config).await;
    let mut c = client(&agent).await;
    let mut s = watch(&mut c).await;
    let first = next(&mut s).await;
    let t0 = Instant::now();
    for _ in 0..3 {
        let ev = next(&mut s).await;
        assert!(matches!(ev.body, Some(Body::Heartbeat(_))), "{ev:?}");
        assert_eq!((ev.epoch, ev.seq), (first.epoch, first.seq));
    }
    assert!(t0.elapsed() >= Duration::from_millis(250));
    agent.shutdown().await;
}

#[tokio::test]
async fn slow_reader_gets_a_snapshot_not_a_gap() {
    let config = AgentConfig {
        sample_interval: Duration::from_millis(5),
        event_buffer: 4,
        stream_buffer: 1,
        ..fast("slow", 50)
    };
    let (agent, _dir) = start(config).await;
    let mut c = small_window_client(&agent).await;
    let mut s = watch(&mut c).await;
    let mut model = Model::from_snapshot(&next(&mut s).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut snapshots = 0;
    for _ in 0..300 {
        let ev = next(&mut s).await;
        match &ev.body {
            Some(Body::Snapshot(_)) => {
                snapshots += 1;
                assert!(ev.seq > model.seq);
                model = Model::from_snapshot(&ev);
            }
            Some(Body::Delta(_)) => model.apply(&ev),
            Some(Body::Heartbeat(_)) => assert_eq!(ev.seq, model.seq),
            None => panic!("empty event"),
        }
        if snapshots > 0 {
            break;
        }
    }
    assert!(snapshots > 0, "a lagging reader must be sent a snapshot");
    agent.shutdown().await;
}

#[tokio::test]
async fn killed_agent_ends_streams_and_restarts_with_new_epoch() {
    let (agent, dir) = start(fast("k1", 12)).await;
    let addr = agent.addr();
    let epoch = agent.epoch();
    let mut c = client(&agent).await;
    let mut s = watch(&mut c).await;
    next(&mut s).await;
    let t0 = Instant::now();
    agent.kill().await;
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "kill took {:?}",
        t0.elapsed()
    );
    // The stream ends (error or end) promptly, without further deltas piling in forever.
    let ended = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            match s.message().await {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "stream still open 1 s after kill");

    // Same address at once, new epoch.
    let listener = bind(addr).await.expect("rebind right after kill");
    let mut config = fast("k1", 12);
    config.state_dir = Some(dir.path().join("k1"));
    let again = spawn(config, listener).await.unwrap();
    assert_ne!(again.epoch(), epoch);
    let mut c = client(&again).await;
    let first = next(&mut watch(&mut c).await).await;
    assert_eq!(first.epoch, again.epoch());
    again.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_streams_promptly() {
    let (agent, _dir) = start(fast("sd", 12)).await;
    let mut c = client(&agent).await;
    let mut s = watch(&mut c).await;
    next(&mut s).await;
    let t0 = Instant::now();
    agent.shutdown().await;
    let ended = tokio::time::timeout(Duration::from_secs(1), async {
        while let Ok(Some(_)) = s.message().await {}
    })
    .await;
    assert!(ended.is_ok());
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn get_info_describes_the_node() {
    let mut config = AgentConfig::sim("info-1", 3);
    config.labels.insert("zone".into(), "a".into());
    config.mode = fleetdeck_agent::NodeMode::Standby;
    let (agent, _dir) = start(config).await;
    let mut c = client(&agent).await;
    let info = c
        .get_info(pb::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.node_id, "info-1");
    assert_eq!(info.runtime, "sim");
    assert_eq!(info.mode(), pb::NodeMode::Standby);
    assert_eq!(info.labels.get("zone").map(String::as_str), Some("a"));
    assert_eq!(info.sample_interval_ms, 1000);
    assert!((4..=32).contains(&info.cpu_cores));
    assert!(info.max_containers > 0);
    agent.shutdown().await;
}

#[tokio::test]
async fn same_seed_same_node() {
    let (a, _d1) = start(AgentConfig::sim("same", 11)).await;
    let (b, _d2) = start(AgentConfig::sim("same", 11)).await;
    let (sa, sb) = (a.snapshot(), b.snapshot());
    let names = |s: &fleetdeck_agent::model::Snapshot| {
        s.containers
            .iter()
            .map(|c| {
                (
                    c.spec.name.clone(),
                    c.spec.image.clone(),
                    c.stats.cpu_percent,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&sa), names(&sb));
    assert_eq!(sa.node.cpu_cores, sb.node.cpu_cores);
    a.shutdown().await;
    b.shutdown().await;
}

/// The generation of the node's intents: on every event, moved on by an intent begun and
/// ended, and the same in ListIntents, so a console asks for the list only when it moved.
#[tokio::test]
async fn events_carry_the_generation_of_the_nodes_intents() {
    use pb::intent_request::Op;
    let (agent, _dir) = start(fast("ig", 3)).await;
    let mut c = client(&agent).await;
    let mut s = watch(&mut c).await;
    let first = next(&mut s).await;
    let g0 = first.intents_generation;
    assert_ne!(g0, 0, "the snapshot carries the generation");
    let listed = c
        .list_intents(pb::ListIntentsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.generation, g0);
    assert!(listed.intents.is_empty());

    let id = "0123456789abcdef";
    let request = |op| pb::IntentRequest {
        intent_id: id.into(),
        requested_by: "alice@ops-1".into(),
        owner_pid: 7,
        lease_ms: 15_000,
        op: Some(op),
    };
    let begin = pb::IntentRecord {
        action: "scale".into(),
        title: "Scale api to 3".into(),
        nodes: vec!["ig".into()],
        ..Default::default()
    };
    c.intent(request(Op::Begin(begin))).await.unwrap();
    let moved = until_generation_moves(&mut s, g0).await;
    let listed = c
        .list_intents(pb::ListIntentsRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.generation, moved);
    assert_eq!(listed.intents.len(), 1);

    let end = pb::IntentEnd {
        state: pb::IntentState::Done as i32,
        message: "done".into(),
    };
    c.intent(request(Op::End(end))).await.unwrap();
    let ended = until_generation_moves(&mut s, moved).await;
    assert!(ended > moved);
    // Nothing changed since: the generation holds still over the next events.
    for _ in 0..3 {
        assert_eq!(next(&mut s).await.intents_generation, ended);
    }
    agent.shutdown().await;
}

/// Reads events until one carries a generation other than `from`; returns it.
async fn until_generation_moves(s: &mut Events, from: u64) -> u64 {
    for _ in 0..50 {
        let g = next(s).await.intents_generation;
        if g != from {
            return g;
        }
    }
    panic!("the intents' generation never moved from {from}");
}

/// The generation of the node's specs: on every event, held over deltas that carry only
/// figures, moved on when a container changes state, so a console asks ListSpecs only then.
#[tokio::test]
async fn events_carry_the_generation_of_the_nodes_specs() {
    // No faults: a crash loop would move the generation on by itself.
    let config = AgentConfig {
        sim_faults: false,
        ..fast("sg", 3)
    };
    let (agent, _dir) = start(config).await;
    let mut c = client(&agent).await;
    let mut s = watch(&mut c).await;
    let first = next(&mut s).await;
    let g0 = first.specs_generation;
    assert_ne!(g0, 0, "the snapshot carries the generation");
    let Some(Body::Snapshot(snapshot)) = &first.body else {
        panic!("no snapshot first: {first:?}");
    };
    let name = snapshot.containers[0].name.clone();
    // Deltas with new figures only (sim containers change them every sample).
    let mut figures = 0;
    while figures < 3 {
        let ev = next(&mut s).await;
        assert_eq!(ev.specs_generation, g0, "{ev:?}");
        if let Some(Body::Delta(d)) = &ev.body
            && !d.stats.is_empty()
        {
            figures += 1;
        }
    }
    let req = container_req("stop-sg", pb::container_action::Verb::Stop, &name);
    act(&mut c, req).await;
    let moved = until_specs_generation_moves(&mut s, g0).await;
    // Stopped and nothing else: the generation holds still over the next events.
    for _ in 0..3 {
        assert_eq!(next(&mut s).await.specs_generation, moved);
    }
    agent.shutdown().await;
}

/// Reads events until one carries a specs generation other than `from`; returns it.
async fn until_specs_generation_moves(s: &mut Events, from: u64) -> u64 {
    for _ in 0..50 {
        let g = next(s).await.specs_generation;
        if g != from {
            return g;
        }
    }
    panic!("the specs' generation never moved from {from}");
}
