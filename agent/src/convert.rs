//! Pure mappings between the agent's plain structs (`model`) and the wire types.

use fleetdeck_proto as pb;

use crate::model::{
    ActError, ActErrorKind, Action, Container, ContainerSample, ContainerVerb, Delta, Done,
    HealthCheck, HostSample, NodeStatus, NodeVerb, PortMapping, SimFaultKind, Snapshot,
};

/// Full container record to the wire.
pub fn container(c: &Container) -> pb::Container {
    pb::Container {
        key: c.key,
        id: c.spec.id.clone(),
        name: c.spec.name.clone(),
        image: c.spec.image.clone(),
        service: c.spec.service.clone(),
        state: c.status.state.to_proto() as i32,
        health: c.status.health.to_proto() as i32,
        restart_count: c.status.restart_count,
        stats: Some(c.stats.to_proto(c.key)),
        created_unix_ms: c.spec.created_unix_ms,
        started_unix_ms: c.status.started_unix_ms,
        labels: c
            .spec
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ports: c.spec.ports.iter().map(PortMapping::to_proto).collect(),
        exit_code: c.status.exit_code,
    }
}

/// Keyed container from a runtime sample.
pub fn keyed(key: u32, s: ContainerSample) -> Container {
    Container {
        key,
        spec: s.spec,
        status: s.status,
        stats: s.stats,
    }
}

/// Snapshot to the wire.
pub fn snapshot(s: &Snapshot) -> pb::Snapshot {
    pb::Snapshot {
        node: Some(s.node.to_proto()),
        host: Some(s.host.to_proto()),
        containers: s.containers.iter().map(container).collect(),
        health: s.health.iter().map(HealthCheck::to_proto).collect(),
    }
}

/// Delta to the wire.
pub fn delta(d: &Delta) -> pb::Delta {
    pb::Delta {
        host: d.host.as_ref().map(HostSample::to_proto),
        upserts: d.upserts.iter().map(container).collect(),
        removed: d.removed.clone(),
        stats: d.stats.iter().map(|(k, s)| s.to_proto(*k)).collect(),
        health: d.health.iter().map(HealthCheck::to_proto).collect(),
        status: d.status.as_ref().map(NodeStatus::to_proto),
    }
}

/// Wraps a body into a Watch event.
pub fn event(
    epoch: u64,
    seq: u64,
    time_unix_ms: u64,
    body: pb::watch_event::Body,
) -> pb::WatchEvent {
    pb::WatchEvent {
        epoch,
        seq,
        time_unix_ms,
        // Stamped per stream as it is sent (see `server::stream`).
        intents_generation: 0,
        // Stamped by the hub, which keeps it.
        specs_generation: 0,
        body: Some(body),
    }
}

/// Reads the action out of a request, refusing missing or unspecified parts.
pub fn action(req: &pb::ActRequest) -> Result<Action, ActError> {
    use pb::act_request::Action as A;
    let invalid = |m: &str| ActError::new(ActErrorKind::Invalid, m);
    match &req.action {
        None => Err(invalid(
            "request names no action; set `container`, `node` or `sim_fault`",
        )),
        Some(A::Create(c)) => crate::convert_ops::create_action(c),
        Some(A::Backup(b)) => crate::convert_ops::backup_action(b),
        Some(A::Restore(r)) => crate::convert_ops::restore_action(r),
        Some(A::Note(n)) => crate::convert_ops::note_action(n),
        Some(A::Container(c)) => {
            use pb::container_action::Verb;
            let verb = match Verb::try_from(c.verb).unwrap_or(Verb::Unspecified) {
                Verb::Start => ContainerVerb::Start,
                Verb::Stop => ContainerVerb::Stop,
                Verb::Restart => ContainerVerb::Restart,
                Verb::Remove => ContainerVerb::Remove,
                Verb::Commit => ContainerVerb::Commit,
                Verb::Unspecified => return Err(invalid("container action has no verb")),
            };
            if c.container.trim().is_empty() {
                return Err(invalid("container action names no container"));
            }
            Ok(Action::Container {
                verb,
                target: c.container.trim().to_owned(),
            })
        }
        Some(A::Node(n)) => {
            use pb::node_action::Verb;
            let verb = match Verb::try_from(n.verb).unwrap_or(Verb::Unspecified) {
                Verb::Cordon => NodeVerb::Cordon,
                Verb::Uncordon => NodeVerb::Uncordon,
                Verb::SetStandby => NodeVerb::SetStandby,
                Verb::SetActive => NodeVerb::SetActive,
                Verb::Drain => NodeVerb::Drain,
                Verb::Unspecified => return Err(invalid("node action has no verb")),
            };
            Ok(Action::Node { verb })
        }
        Some(A::SimFault(f)) => {
            use pb::sim_fault::Kind;
            let kind = match Kind::try_from(f.kind).unwrap_or(Kind::Unspecified) {
                Kind::CrashLoop => SimFaultKind::CrashLoop,
                Kind::Unhealthy => SimFaultKind::Unhealthy,
                Kind::CpuSpike => SimFaultKind::CpuSpike,
                Kind::Clear => SimFaultKind::Clear,
                Kind::Unspecified => return Err(invalid("sim fault has no kind")),
            };
            if f.container.trim().is_empty() {
                return Err(invalid("sim fault names no container"));
            }
            Ok(Action::SimFault {
                kind,
                target: f.container.trim().to_owned(),
                duration: (f.duration_secs > 0)
                    .then(|| std::time::Duration::from_secs(u64::from(f.duration_secs))),
            })
        }
    }
}

/// Error kind to the wire.
pub fn act_error_kind(k: ActErrorKind) -> pb::ActErrorKind {
    match k {
        ActErrorKind::Invalid => pb::ActErrorKind::Invalid,
        ActErrorKind::NotFound => pb::ActErrorKind::NotFound,
        ActErrorKind::Conflict => pb::ActErrorKind::Conflict,
        ActErrorKind::NoCapacity => pb::ActErrorKind::NoCapacity,
        ActErrorKind::Runtime => pb::ActErrorKind::Runtime,
        ActErrorKind::Cancelled => pb::ActErrorKind::Cancelled,
        ActErrorKind::Unsupported => pb::ActErrorKind::Unsupported,
        ActErrorKind::Denied => pb::ActErrorKind::Denied,
    }
}

/// A progress message without a result.
pub fn progress(action_id: &str, stage: &str, percent: f32, message: String) -> pb::ActProgress {
    pb::ActProgress {
        action_id: action_id.to_owned(),
        stage: stage.to_owned(),
        percent,
        message,
        result: None,
    }
}

/// The final message of an action.
pub fn outcome(action_id: &str, result: &Result<Done, ActError>) -> pb::ActProgress {
    use pb::act_progress::Result as R;
    let (stage, message, result) = match result {
        Ok(d) => (
            "done",
            d.message.clone(),
            R::Done(pb::ActDone {
                message: d.message.clone(),
                container_id: d.container_id.clone(),
                backup_id: d.backup_id.clone(),
            }),
        ),
        Err(e) => (
            "failed",
            e.message.clone(),
            R::Error(pb::ActError {
                kind: act_error_kind(e.kind) as i32,
                message: e.message.clone(),
            }),
        ),
    };
    pb::ActProgress {
        action_id: action_id.to_owned(),
        stage: stage.to_owned(),
        percent: 100.0,
        message,
        result: Some(result),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::model::{
        ContainerSpec, ContainerState, ContainerStats, ContainerStatus, HealthState,
    };

    fn sample_container() -> Container {
        let mut labels = BTreeMap::new();
        labels.insert("fleetdeck.service".to_owned(), "web".to_owned());
        Container {
            key: 7,
            spec: Arc::new(ContainerSpec {
                id: "abc".into(),
                name: "web-3".into(),
                image: "nginx:1.27".into(),
                service: "web".into(),
                labels,
                ports: vec![PortMapping {
                    container_port: 80,
                    host_port: 8080,
                    protocol: "tcp".into(),
                    host_ip: "0.0.0.0".into(),
                }],
                created_unix_ms: 1000,
            }),
            status: ContainerStatus {
                state: ContainerState::Running,
                health: HealthState::Healthy,
                restart_count: 2,
                started_unix_ms: 2000,
                exit_code: 0,
            },
            stats: ContainerStats {
                cpu_percent: 12.5,
                memory_used_bytes: 42,
                ..Default::default()
            },
        }
    }

    #[test]
    fn container_maps_every_field() {
        let c = container(&sample_container());
        assert_eq!(c.key, 7);
        assert_eq!(c.name, "web-3");
        assert_eq!(c.state(), pb::ContainerState::Running);
        assert_eq!(c.health(), pb::HealthStatus::Healthy);
        assert_eq!(c.restart_count, 2);
        assert_eq!(
            c.labels.get("fleetdeck.service").map(String::as_str),
            Some("web")
        );
        assert_eq!(c.ports[0].host_port, 8080);
        let stats = c.stats.unwrap();
        assert_eq!(stats.key, 7);
        assert_eq!(stats.cpu_percent, 12.5);
        assert_eq!(stats.memory_used_bytes, 42);
    }

    #[test]
    fn empty_delta_encodes_empty_fields() {
        let d = delta(&Delta::default());
        assert!(d.host.is_none() && d.status.is_none());
        assert!(d.upserts.is_empty() && d.stats.is_empty() && d.removed.is_empty());
    }

    #[test]
    fn action_refuses_missing_and_unspecified() {
        let mut req = pb::ActRequest {
            action_id: "a".into(),
            ..Default::default()
        };
        assert_eq!(action(&req).unwrap_err().kind, ActErrorKind::Invalid);
        req.action = Some(pb::act_request::Action::Node(pb::NodeAction { verb: 0 }));
        assert_eq!(action(&req).unwrap_err().kind, ActErrorKind::Invalid);
        req.action = Some(pb::act_request::Action::Container(pb::ContainerAction {
            verb: pb::container_action::Verb::Stop as i32,
            container: " ".into(),
        }));
        assert_eq!(action(&req).unwrap_err().kind, ActErrorKind::Invalid);
    }

    #[test]
    fn action_reads_verbs() {
        let req = pb::ActRequest {
            action_id: "a".into(),
            action: Some(pb::act_request::Action::Container(pb::ContainerAction {
                verb: pb::container_action::Verb::Restart as i32,
                container: "web-3".into(),
            })),
            ..Default::default()
        };
        assert_eq!(
            action(&req).unwrap(),
            Action::Container {
                verb: ContainerVerb::Restart,
                target: "web-3".into()
            }
        );
        let req = pb::ActRequest {
            action: Some(pb::act_request::Action::Node(pb::NodeAction {
                verb: pb::node_action::Verb::Cordon as i32,
            })),
            ..Default::default()
        };
        assert_eq!(
            action(&req).unwrap(),
            Action::Node {
                verb: NodeVerb::Cordon
            }
        );
    }

    #[test]
    fn outcome_sets_exactly_one_result() {
        let ok = outcome("x", &Ok("stopped".into()));
        assert!(matches!(ok.result, Some(pb::act_progress::Result::Done(_))));
        let err = outcome(
            "x",
            &Err(ActError::new(ActErrorKind::NotFound, "no such container")),
        );
        match err.result {
            Some(pb::act_progress::Result::Error(e)) => {
                assert_eq!(e.kind(), pb::ActErrorKind::NotFound);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(progress("x", "stop", 50.0, String::new()).result.is_none());
    }

    #[test]
    fn a_snapshot_carries_the_node_mode_and_host() {
        let mut s = Snapshot::default();
        s.node.status.mode = crate::model::NodeMode::Standby;
        s.host.load5 = 2.0;
        let p = snapshot(&s);
        assert_eq!(p.node.unwrap().mode(), pb::NodeMode::Standby);
        assert_eq!(p.host.unwrap().load5, 2.0);
    }
}
