//! The console's periodic spec refresh: a node is asked for its specs again when its Watch
//! stream says they changed, the quiet rest in turn, so a large fleet's refresh costs calls
//! only where something moved.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use crate::support::ops::{Cluster, eventually};
use fleetdeck::client::{AgentAddr, WatchOptions, Watchers};
use fleetdeck::ops::specs::{Asked, REASK_EVERY, SpecCache};
use fleetdeck_agent::NodeMode;
use fleetdeck_proto as pb;
use tokio::sync::mpsc;

#[tokio::test]
async fn the_refresh_asks_nodes_whose_specs_changed_and_the_rest_in_turn() {
    // Twice REASK_EVERY nodes: two of the quiet ones are asked in turn at each refresh.
    let c = Cluster::start(&[NodeMode::Active; 2 * REASK_EVERY], 2).await;
    let (conns, endpoints) = (c.conns(), c.endpoints());
    let addrs: Vec<AgentAddr> = endpoints.iter().map(|e| e.parse().unwrap()).collect();
    let (tx, mut rx) = mpsc::channel(1024);
    let options = WatchOptions {
        connections: Some(conns.clone()),
        history: false,
        ..WatchOptions::default()
    };
    let watchers = Watchers::spawn(&addrs, &options, &tx);
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    eventually(
        "every stream says the generation of its node's specs",
        || {
            endpoints
                .iter()
                .all(|e| conns.specs_generation(e).is_some())
        },
    )
    .await;

    let (mut cache, mut denied, mut asked) =
        (SpecCache::default(), BTreeSet::new(), Asked::default());
    let first = cache
        .refresh_due(&conns, &endpoints, &mut denied, &mut asked)
        .await;
    assert_eq!(
        first.answered,
        endpoints.len(),
        "never asked: every node is"
    );
    let quiet = cache
        .refresh_due(&conns, &endpoints, &mut denied, &mut asked)
        .await;
    assert_eq!(
        quiet.answered, 2,
        "nothing changed: only this refresh's turn"
    );

    // A container stops on a node whose turn is not next (the turns go in order: this
    // refresh's is the fifth and sixth nodes).
    let (node, changed) = ("n10", &endpoints[9]);
    let name = cache.nodes[node].specs()[0].spec.name.clone();
    assert!(cache.get(node, &name).unwrap().running);
    let before = conns.specs_generation(changed);
    let mut link = fleetdeck::ops::link::Link::open(&conns, node, changed)
        .await
        .unwrap();
    let stop = pb::ActRequest {
        action_id: "stop-one".into(),
        requested_by: "test".into(),
        action: Some(pb::act_request::Action::Container(pb::ContainerAction {
            verb: pb::container_action::Verb::Stop as i32,
            container: name.clone(),
        })),
        ..Default::default()
    };
    link.act(stop, |_| {}).await.unwrap();
    eventually("the node's stream says its specs changed", || {
        conns.specs_generation(changed) != before
    })
    .await;
    let after = cache
        .refresh_due(&conns, &endpoints, &mut denied, &mut asked)
        .await;
    assert_eq!((after.answered, after.changed), (3, 1), "{after:?}");
    assert!(
        !cache.get(node, &name).unwrap().running,
        "the stop is in the cache"
    );

    watchers.shutdown().await;
    drop(tx);
    drain.await.unwrap();
}
