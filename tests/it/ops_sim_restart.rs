//! A sim agent keeps its container set across restarts: what was migrated away stays
//! away, what was created stays, with its data. Real gRPC against sim agents on loopback.
#![allow(clippy::unwrap_used)]

use crate::support::ops;

use fleetdeck::ops::{Outcome, Proposal};
use fleetdeck_agent::NodeMode;
use ops::{Cluster, running};

fn names(c: &Cluster, node: usize) -> Vec<String> {
    let mut v: Vec<String> = c.nodes[node]
        .agent()
        .snapshot()
        .containers
        .iter()
        .map(|c| c.spec.name.clone())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrated_containers_stay_where_they_went_after_restarts() {
    let mut c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 6).await;
    let (s, vol) = c.stateful(0).await;
    std::fs::write(vol.join("marker.txt"), "moved with it").unwrap();
    let plan = c
        .plan(&Proposal::Migrate {
            node: "n1".into(),
            container: s.name.clone(),
            to: Some("n2".into()),
        })
        .await
        .unwrap();
    let (outcome, _) = c.run(&plan).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let n1_before = names(&c, 0);
    let n2_before = names(&c, 1);
    assert!(!n1_before.contains(&s.name));
    assert!(n2_before.contains(&s.name));

    // Both agents restart on the same state dirs: nothing comes back, nothing vanishes.
    for i in 0..2 {
        c.nodes[i].kill().await;
        c.nodes[i].restart().await;
    }
    assert_eq!(names(&c, 0), n1_before, "n1 is as it was left");
    assert_eq!(names(&c, 1), n2_before, "n2 is as it was left");
    let (_, id) = running(c.nodes[1].agent())
        .into_iter()
        .find(|(n, _)| *n == s.name)
        .expect("the copy runs again on n2 after its restart");
    let moved = c.nodes[1]
        .volumes(&id)
        .join(&s.volumes[0])
        .join("marker.txt");
    assert_eq!(std::fs::read_to_string(moved).unwrap(), "moved with it");
    assert!(
        !c.nodes[0].volumes(&s.id).exists(),
        "the source's data went with its container"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn created_and_stopped_containers_survive_a_restart() {
    let mut c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    let service = c.nodes[0].agent().snapshot().containers[0]
        .spec
        .service
        .clone();
    let now: usize = (0..2)
        .map(|i| {
            running(c.nodes[i].agent())
                .iter()
                .filter(|(n, _)| n.starts_with(&service))
                .count()
        })
        .sum();
    let plan = c
        .plan(&Proposal::Scale {
            service: service.clone(),
            replicas: now + 1,
        })
        .await
        .unwrap();
    let (outcome, _) = c.run(&plan).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let (stopped_name, stopped_id) = running(c.nodes[0].agent())
        .into_iter()
        .find(|(n, _)| !n.starts_with(&service))
        .unwrap();
    let plan = c
        .plan(&Proposal::Container {
            node: "n1".into(),
            container: stopped_name.clone(),
            verb: fleetdeck::ops::Verb::Stop,
        })
        .await
        .unwrap();
    assert!(matches!(c.run(&plan).await.0, Outcome::Done(_)));
    let before: Vec<Vec<String>> = (0..2).map(|i| names(&c, i)).collect();
    let running_before: Vec<Vec<(String, String)>> = (0..2)
        .map(|i| {
            let mut r = running(c.nodes[i].agent());
            r.sort();
            r
        })
        .collect();
    for i in 0..2 {
        c.nodes[i].kill().await;
        c.nodes[i].restart().await;
    }
    for i in 0..2 {
        assert_eq!(names(&c, i), before[i], "n{} keeps its containers", i + 1);
        let mut r = running(c.nodes[i].agent());
        r.sort();
        assert_eq!(r, running_before[i], "n{} runs what it ran", i + 1);
    }
    assert!(
        !running(c.nodes[0].agent())
            .iter()
            .any(|(_, id)| *id == stopped_id),
        "{stopped_name} stays stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_corrupt_container_set_stops_the_agent_with_one_clear_line() {
    let mut c = Cluster::start(&[NodeMode::Active], 4).await;
    let (name, id) = running(c.nodes[0].agent())[0].clone();
    let plan = c
        .plan(&Proposal::Container {
            node: "n1".into(),
            container: name,
            verb: fleetdeck::ops::Verb::Stop,
        })
        .await
        .unwrap();
    assert!(matches!(c.run(&plan).await.0, Outcome::Done(_)));
    c.nodes[0].kill().await;
    let file = c.nodes[0].state_dir().join("sim-containers.json");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&id), "the set names the stopped container");
    std::fs::write(&file, &text[..text.len() / 2]).unwrap();
    let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let err = fleetdeck_agent::spawn(c.nodes[0].config.clone(), listener)
        .await
        .unwrap_err()
        .to_string();
    assert!(!err.contains('\n'), "one line: {err}");
    assert!(
        err.contains(&file.display().to_string()) && err.contains("move the file away"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        text[..text.len() / 2],
        "the file is left for the operator, not silently replaced"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cordoned_node_stays_cordoned_after_a_restart() {
    let mut c = Cluster::start(&[NodeMode::Standby], 2).await;
    let plan = c
        .plan(&Proposal::Cordon { node: "n1".into() })
        .await
        .unwrap();
    assert!(matches!(c.run(&plan).await.0, Outcome::Done(_)));
    c.nodes[0].kill().await;
    c.nodes[0].restart().await;
    let mode = |c: &Cluster| c.nodes[0].agent().snapshot().node.status.mode;
    assert_eq!(mode(&c), NodeMode::Maintenance);
    // The console's shared connection was cut by the restart: plan once it answers again.
    let started = std::time::Instant::now();
    while !c
        .fleet()
        .await
        .nodes()
        .iter()
        .any(|n| n.name() == "n1" && n.is_live())
    {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "n1 never answered again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let plan = c
        .plan(&Proposal::Uncordon { node: "n1".into() })
        .await
        .unwrap();
    assert!(matches!(c.run(&plan).await.0, Outcome::Done(_)));
    assert_eq!(
        mode(&c),
        NodeMode::Standby,
        "back to the mode it was started in"
    );
    c.nodes[0].kill().await;
    c.nodes[0].restart().await;
    assert_eq!(mode(&c), NodeMode::Standby);
}
