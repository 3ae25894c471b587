use super::*;

#[test]
fn node_mode_round_trips_and_unknown_values_are_none() {
    for m in [NodeMode::Active, NodeMode::Standby, NodeMode::Maintenance] {
        assert_eq!(NodeMode::from_proto(m.to_proto() as i32), Some(m));
    }
    for v in [-1, 0, 99, i32::MAX] {
        assert_eq!(NodeMode::from_proto(v), None);
        assert_eq!(
            NodeMode::from_proto(v).unwrap_or_default(),
            NodeMode::Active
        );
    }
}

#[test]
fn check_status_round_trips_and_unknown_values_read_as_unknown() {
    for s in [
        CheckStatus::Unknown,
        CheckStatus::Ok,
        CheckStatus::Warning,
        CheckStatus::Failing,
    ] {
        assert_eq!(CheckStatus::from_proto(s.to_proto() as i32), s);
    }
    for v in [-1, 0, 99, i32::MAX] {
        assert_eq!(CheckStatus::from_proto(v), CheckStatus::Unknown);
    }
    assert!(CheckStatus::Unknown < CheckStatus::Ok && CheckStatus::Warning < CheckStatus::Failing);
}

#[test]
fn a_health_check_round_trips() {
    let h = HealthCheck {
        name: "disk".into(),
        status: CheckStatus::Warning,
        message: "91 %".into(),
    };
    assert_eq!(HealthCheck::from_proto(h.to_proto()), h);
    let unknown = pb::HealthCheck {
        status: 42,
        ..h.to_proto()
    };
    assert_eq!(
        HealthCheck::from_proto(unknown).status,
        CheckStatus::Unknown
    );
}

fn sample() -> HostSample {
    HostSample {
        time_unix_ms: 1,
        cpu_percent: 2.0,
        cpu_per_core: vec![3.0, 4.0],
        memory_used_bytes: 5,
        memory_total_bytes: 6,
        swap_used_bytes: 7,
        swap_total_bytes: 8,
        disk_used_bytes: 9,
        disk_total_bytes: 10,
        net_rx_bytes_per_sec: 11,
        net_tx_bytes_per_sec: 12,
        load1: 13.0,
        load5: 14.0,
        load15: 15.0,
        uptime_secs: 16,
    }
}

#[test]
fn a_host_sample_round_trips() {
    let h = sample();
    let wire = h.to_proto();
    assert_eq!((wire.load1, wire.load5, wire.load15), (13.0, 14.0, 15.0));
    assert_eq!(HostSample::from_proto(wire), h);
}

#[test]
fn non_finite_host_figures_read_as_zero() {
    let wire = pb::HostSample {
        cpu_percent: f32::NAN,
        cpu_per_core: vec![f32::INFINITY, 1.0],
        load1: f32::NEG_INFINITY,
        load5: f32::NAN,
        load15: 2.0,
        ..sample().to_proto()
    };
    let h = HostSample::from_proto(wire);
    assert_eq!(h.cpu_percent, 0.0);
    assert_eq!(h.cpu_per_core, vec![0.0, 1.0]);
    assert_eq!((h.load1, h.load5, h.load15), (0.0, 0.0, 2.0));
}

#[test]
fn same_figures_ignores_only_time() {
    let a = sample();
    let later = HostSample {
        time_unix_ms: 99,
        uptime_secs: 99,
        ..a.clone()
    };
    assert!(a.same_figures(&later));
    let busier = HostSample {
        cpu_percent: 50.0,
        ..a.clone()
    };
    assert!(!a.same_figures(&busier));
}

#[test]
fn percents_of_nothing_are_zero() {
    assert_eq!(HostSample::default().memory_percent(), 0.0);
    let h = HostSample {
        disk_used_bytes: 1,
        disk_total_bytes: 4,
        ..HostSample::default()
    };
    assert_eq!(h.disk_percent(), 25.0);
}

fn node() -> NodeInfo {
    NodeInfo {
        node_id: "node-a".into(),
        hostname: "a.example".into(),
        runtime: "sim".into(),
        agent_version: "0.1.0".into(),
        cpu_cores: 8,
        memory_total_bytes: 1 << 30,
        disk_total_bytes: 1 << 40,
        status: NodeStatus {
            mode: NodeMode::Maintenance,
            labels: [("rack".to_owned(), "r1".to_owned())].into(),
        },
        started_unix_ms: 5,
        sample_interval_ms: 1000,
        max_containers: 64,
        insecure: true,
        engine_id: "engine".into(),
        open: true,
    }
}

#[test]
fn node_info_round_trips() {
    let n = node();
    let wire = n.to_proto();
    assert_eq!(wire.mode(), pb::NodeMode::Maintenance);
    assert_eq!(wire.labels["rack"], "r1");
    assert_eq!(NodeInfo::from_proto(wire), n);
}

#[test]
fn node_status_round_trips_and_an_unknown_mode_reads_as_active() {
    let s = node().status;
    assert_eq!(NodeStatus::from_proto(s.to_proto()), s);
    for v in [0, 99] {
        let wire = pb::NodeStatus {
            mode: v,
            ..s.to_proto()
        };
        assert_eq!(NodeStatus::from_proto(wire).mode, NodeMode::Active);
        let info = pb::NodeInfo {
            mode: v,
            ..node().to_proto()
        };
        assert_eq!(NodeInfo::from_proto(info).status.mode, NodeMode::Active);
    }
}
