//! Tests of the role rules and of how callers are identified.
use super::*;

fn act(action: pb::act_request::Action) -> pb::ActRequest {
    pb::ActRequest {
        action_id: "a".into(),
        action: Some(action),
        ..Default::default()
    }
}

#[test]
fn rpcs_and_actions_are_classified_and_the_rest_needs_admin() {
    assert_eq!(
        rpc_rule("/fleetdeck.v1.Agent/Watch"),
        RpcRule::Fixed(Role::Viewer)
    );
    assert_eq!(rpc_rule("/fleetdeck.v1.Agent/Act"), RpcRule::PerRequest);
    // A wall display backfills its heatmap: figures only, no specs or data.
    assert_eq!(
        rpc_rule("/fleetdeck.v1.Agent/History"),
        RpcRule::Fixed(Role::Viewer)
    );
    // Image names and health timing: what a rollout plans on, no container data.
    assert_eq!(
        rpc_rule("/fleetdeck.v1.Agent/ListImages"),
        RpcRule::Fixed(Role::Viewer)
    );
    for unknown in [
        "/fleetdeck.v1.Agent/Restore",
        "/fleetdeck.v1.Other/Watch",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "",
        "/fleetdeck.v1.Agent/",
    ] {
        assert_eq!(rpc_rule(unknown), RpcRule::Fixed(Role::Admin), "{unknown}");
    }
    let stop = act(pb::act_request::Action::Container(pb::ContainerAction {
        verb: pb::container_action::Verb::Stop as i32,
        container: "web".into(),
    }));
    assert_eq!(action_kind(&stop), "container.stop");
    assert_eq!(action_role(&stop), Role::Operator);
    let restore = act(pb::act_request::Action::Restore(
        pb::RestoreAction::default(),
    ));
    assert_eq!(action_role(&restore), Role::Admin);
    let note = |kind: &str| {
        act(pb::act_request::Action::Note(pb::NoteAction {
            kind: kind.into(),
            ..Default::default()
        }))
    };
    assert_eq!(action_role(&note("failover")), Role::Admin);
    assert_eq!(action_role(&note("fence")), Role::Operator);
    assert_eq!(action_kind(&note("fence\0x")), "note.unknown");
    assert_eq!(
        rpc_rule("/fleetdeck.v1.Agent/ReadVolumes"),
        RpcRule::Fixed(Role::Operator)
    );
    assert_eq!(
        rpc_rule("/fleetdeck.v1.Agent/ReadBackup"),
        RpcRule::Fixed(Role::Operator)
    );
    assert_eq!(
        rpc_rule("/fleetdeck.v1.Agent/WriteBackup"),
        RpcRule::Fixed(Role::Admin)
    );
    // A shell in a container is never a viewer's.
    assert_eq!(
        rpc_rule("/fleetdeck.v1.Agent/Exec"),
        RpcRule::Fixed(Role::Operator)
    );
    let drain = act(pb::act_request::Action::Node(pb::NodeAction {
        verb: pb::node_action::Verb::Drain as i32,
    }));
    assert_eq!(action_kind(&drain), "node.drain");
    assert_eq!(action_role(&drain), Role::Admin);
    let create = |labels: &[(&str, &str)]| {
        act(pb::act_request::Action::Create(pb::CreateAction {
            spec: Some(pb::PortableSpec::default()),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }))
    };
    assert_eq!(action_role(&create(&[])), Role::Operator);
    assert_eq!(
        action_role(&create(&[("fleetdeck.pending", "x")])),
        Role::Operator
    );
    for key in [
        "fleetdeck.replaces",
        "fleetdeck.replaces-epoch",
        " fleetdeck.replaces",
    ] {
        let failover = create(&[(key, "n1/web")]);
        assert_eq!(action_kind(&failover), "container.create_failover");
        assert_eq!(action_role(&failover), Role::Admin, "{key}");
    }
    // A failover label carried in the spec: a failover unless it is a migration's copy.
    let mut carried = create(&[]);
    if let Some(pb::act_request::Action::Create(c)) = &mut carried.action {
        if let Some(s) = &mut c.spec {
            s.labels
                .insert("fleetdeck.replaces".into(), "n1/web".into());
        }
    }
    assert_eq!(action_role(&carried), Role::Admin);
    if let Some(pb::act_request::Action::Create(c)) = &mut carried.action {
        c.labels.insert("fleetdeck.pending".into(), "m1".into());
    }
    assert_eq!(action_role(&carried), Role::Operator);
    let weird = act(pb::act_request::Action::Node(pb::NodeAction { verb: 99 }));
    assert_eq!(action_role(&weird), Role::Admin);
    assert_eq!(action_role(&pb::ActRequest::default()), Role::Admin);
}

#[test]
fn tokens_once_required_stay_required() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(TOKENS_FILE);
    let policy = AuthPolicy::new(
        Some(Arc::new(TokenStore::open(path.clone()).unwrap())),
        false,
        false,
    );
    assert!(policy.is_open());
    let anon = policy.identify(None, None).unwrap();
    assert!(anon.is_anonymous());
    assert!(policy.still_valid(&anon).is_ok());
    let t = tokens::create(&path, "ops", Role::Operator).unwrap();
    // The first call after a token exists switches the agent to tokens, for good.
    assert!(
        policy
            .identify(None, None)
            .unwrap_err()
            .contains("required")
    );
    assert!(!policy.is_open());
    assert!(
        policy
            .still_valid(&anon)
            .unwrap_err()
            .contains("requires a token")
    );
    let ops = policy.identify(Some(&format!("Bearer {t}")), None).unwrap();
    assert!(policy.still_valid(&ops).is_ok());
    // Revoking the last token shuts everybody out, streams included.
    assert_eq!(tokens::revoke(&path, "ops").unwrap(), 0);
    assert!(
        policy
            .identify(None, None)
            .unwrap_err()
            .contains("required")
    );
    assert!(policy.identify(Some(&format!("Bearer {t}")), None).is_err());
    assert!(policy.still_valid(&ops).unwrap_err().contains("revoked"));
    // So does deleting the file.
    let again = tokens::create(&path, "ops", Role::Operator).unwrap();
    let again_id = policy
        .identify(Some(&format!("Bearer {again}")), None)
        .unwrap();
    assert!(
        policy.still_valid(&ops).is_err(),
        "a new token of the same name is another token"
    );
    std::fs::remove_file(&path).unwrap();
    assert!(policy.identify(None, None).is_err());
    assert!(policy.still_valid(&again_id).is_err());
    assert!(!policy.is_open());
}

#[test]
fn roles_order_and_parse() {
    assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
    for r in [Role::Viewer, Role::Operator, Role::Admin] {
        assert_eq!(r.name().parse::<Role>().unwrap(), r);
    }
    assert!("root".parse::<Role>().unwrap_err().contains("viewer"));
}

#[test]
fn identify_by_token_certificate_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(TOKENS_FILE);
    let open = AuthPolicy::open();
    assert_eq!(open.identify(None, None).unwrap(), Identity::anonymous());
    assert!(open.identify(Some("Bearer x"), None).is_err());
    let store = Arc::new(TokenStore::open(path.clone()).unwrap());
    let policy = AuthPolicy::new(Some(store), true, false);
    let by_cert = policy.identify(None, Some("CN=ops")).unwrap();
    assert_eq!(
        (by_cert.name.as_str(), by_cert.role),
        ("cert:CN=ops", Role::Admin)
    );
    let t = tokens::create(&path, "wall", Role::Viewer).unwrap();
    assert!(
        policy
            .identify(None, Some("CN=ops"))
            .unwrap_err()
            .contains("required")
    );
    let id = policy
        .identify(Some(&format!("Bearer {t}")), Some("CN=ops"))
        .unwrap();
    assert_eq!(id.name, "token:wall cert:CN=ops");
    assert_eq!(id.role, Role::Viewer);
    assert!(
        policy
            .identify(Some(&t), None)
            .unwrap_err()
            .contains("Bearer")
    );
    assert!(
        policy
            .identify(Some("Bearer fdk_0"), None)
            .unwrap_err()
            .contains("not valid")
    );
}
