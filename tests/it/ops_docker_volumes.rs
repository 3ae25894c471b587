//! Containers fleetdeck did not create (`docker run` with named and anonymous volumes and
//! bind mounts of host paths, health check, user, working dir, restart policy, limits,
//! networks) migrated, backed up and restored against the real Docker engine, with two
//! agents sharing it; and the refusals a copy gets before anything is made. Skips (saying
//! why) without an engine unless FLEETDECK_REQUIRE_DOCKER=1.
#![allow(clippy::unwrap_used, reason = "tests fail on unexpected errors")]

use crate::support::docker;
use crate::support::docker_cluster;

use docker::Engine;
use docker_cluster::{Cluster, eventually, sha};
use fleetdeck::ops::{BackupInfo, Outcome, Proposal};
use fleetdeck_proto as pb;

/// Writes 2 MB into the named volume, a file into the anonymous one, answers SIGTERM.
const PLAIN_CMD: &str = "trap 'exit 0' TERM; [ -f /data/big ] || { head -c 2000000 /dev/urandom > /data/big.tmp && mv /data/big.tmp /data/big; }; [ -f /anon/a ] || head -c 70000 /dev/urandom > /anon/a; echo ready > /data/ready; sleep 600 & wait";

fn healthy(c: &Cluster, id: &str) -> bool {
    c.inspect(id, "{{.State.Health.Status}}") == "healthy"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrate_of_a_plain_docker_run_container_keeps_data_and_config() {
    let Some(engine) = Engine::get("migrate_of_a_plain_docker_run_container") else {
        return;
    };
    let c = Cluster::start(engine).await;
    let run = c.engine.run.clone();
    let (net1, net2, vol) = (
        format!("{run}-front"),
        format!("{run}-back"),
        format!("{run}-pgdata"),
    );
    c.engine.cli(&["network", "create", &net1]);
    c.engine.cli(&["network", "create", &net2]);
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("app.conf"), b"listen 8080\n").unwrap();
    let (vol_mount, bind_mount) = (
        format!("{vol}:/data"),
        format!("{}:/cfg", host.path().display()),
    );
    let src = c.docker_run(
        0,
        "plain",
        &[
            "-v",
            &vol_mount,
            "-v",
            "/anon",
            "-v",
            &bind_mount,
            "--network",
            &net1,
            "--user",
            "0:0",
            "--workdir",
            "/data",
            "--restart",
            "unless-stopped",
            "--health-cmd",
            "test -f /data/ready",
            "--health-interval",
            "1s",
            "--memory",
            "64m",
            "--cpus",
            "0.5",
            "-e",
            "FOO=bar",
            "--label",
            "team=core",
            "-p",
            "8080",
        ],
        PLAIN_CMD,
    );
    c.engine.cli(&["network", "connect", &net2, &src]);
    eventually("plain healthy", || healthy(&c, &src)).await;
    eventually("n1 sees plain", || c.runs(0, "plain")).await;
    let digests: Vec<String> = ["/data/big", "/anon/a", "/cfg/app.conf"]
        .iter()
        .map(|p| c.sha_inside(&src, p))
        .collect();
    let src_cmd = c.inspect(&src, "{{json .Config.Cmd}}");

    let plan = c
        .plan_when_room(&Proposal::Migrate {
            node: "n1".into(),
            container: "plain".into(),
            to: Some("n2".into()),
        })
        .await;
    // The plan says what the copy makes of each mount before anything happens.
    let shown = plan.lines.join("\n");
    for want in [
        format!("named volume {vol} (/data) becomes a new volume on n2"),
        "anonymous volume /anon becomes a folder fleetdeck manages on n2".to_owned(),
        format!(
            "host folder {} (/cfg) becomes a folder",
            host.path().display()
        ),
        format!("networks {net2}, {net1}"),
    ] {
        assert!(shown.contains(&want), "{want:?} not in the plan:\n{shown}");
    }
    let started = std::time::Instant::now();
    let outcome = c.run(&plan).await;
    // A figure, not an assertion: `cargo test --test it ops_docker_volumes:: -- --nocapture`.
    eprintln!(
        "figure: migrate of a docker run container (2 MB + 70 KB over 3 mounts, 2 networks) took {:?}",
        started.elapsed()
    );
    assert!(matches!(&outcome, Outcome::Done(_)), "{outcome:?}");
    eventually("plain runs on n2", || c.runs(1, "plain")).await;
    assert!(c.on_engine(0).is_empty(), "the source is gone");
    let copy = c.engine_id(1, "plain");
    eventually("the copy is healthy", || healthy(&c, &copy)).await;

    // Byte for byte, as the copy sees it.
    for (path, digest) in ["/data/big", "/anon/a", "/cfg/app.conf"]
        .iter()
        .zip(&digests)
    {
        assert_eq!(&c.sha_inside(&copy, path), digest, "{path}");
    }
    // The named volume is a new one, named for n2; the user's own is left alone.
    let new_vol = format!("{}.{vol}", c.nodes[1].scope.1);
    let mounts = c.inspect(
        &copy,
        "{{range .Mounts}}{{.Type}} {{.Name}} {{.Source}} {{.Destination}};{{end}}",
    );
    assert!(
        mounts.contains(&format!("volume {new_vol} ")),
        "{mounts} lacks {new_vol}"
    );
    let state = c.nodes[1].state.display().to_string();
    for dest in ["/anon", "/cfg"] {
        let line = mounts
            .split(';')
            .find(|m| m.ends_with(&format!(" {dest}")))
            .unwrap();
        assert!(
            line.starts_with("bind ") && line.contains(&state),
            "{dest} becomes a folder n2 manages: {line}"
        );
    }
    assert_eq!(
        c.engine
            .cli(&["volume", "ls", "-q", "--filter", &format!("name=^{vol}$")]),
        vol
    );
    assert_eq!(
        c.inspect(&copy, "{{index .Config.Labels \"fleetdeck.volume-map\"}}"),
        format!("{{\"/data\":\"{vol}\"}}")
    );
    // The configuration came along.
    let expect = [
        ("{{.Config.User}}", "0:0".to_owned()),
        ("{{.Config.WorkingDir}}", "/data".to_owned()),
        (
            "{{.HostConfig.RestartPolicy.Name}}",
            "unless-stopped".to_owned(),
        ),
        (
            "{{json .Config.Healthcheck.Test}}",
            r#"["CMD-SHELL","test -f /data/ready"]"#.to_owned(),
        ),
        ("{{.Config.Healthcheck.Interval}}", "1s".to_owned()),
        ("{{.HostConfig.Memory}}", "67108864".to_owned()),
        ("{{.HostConfig.NanoCpus}}", "500000000".to_owned()),
        ("{{index .Config.Labels \"team\"}}", "core".to_owned()),
        ("{{json .Config.Cmd}}", src_cmd),
    ];
    for (format, want) in expect {
        assert_eq!(c.inspect(&copy, format), want, "{format}");
    }
    assert!(
        c.inspect(&copy, "{{json .Config.Env}}")
            .contains("\"FOO=bar\"")
    );
    assert!(
        c.inspect(&copy, "{{json .HostConfig.PortBindings}}")
            .contains("8080/tcp")
    );
    let nets = c.inspect(
        &copy,
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
    );
    assert_eq!(nets.trim(), format!("{net2} {net1}"), "both networks");
    let labels = c.inspect(&copy, "{{json .Config.Labels}}");
    assert!(
        !labels.contains("fleetdeck.docker."),
        "bookkeeping stays off: {labels}"
    );

    // Removing the copy removes the volume made for it, not the user's.
    let mut link = c.link(1).await;
    let stop = |verb: pb::container_action::Verb, tag: &str| pb::ActRequest {
        action_id: format!("{run}-{tag}"),
        dry_run: false,
        requested_by: "test".into(),
        intent_id: String::new(),
        action: Some(pb::act_request::Action::Container(pb::ContainerAction {
            verb: verb as i32,
            container: copy.clone(),
        })),
    };
    link.act(stop(pb::container_action::Verb::Stop, "stop"), |_| {})
        .await
        .unwrap();
    link.act(stop(pb::container_action::Verb::Remove, "rm"), |_| {})
        .await
        .unwrap();
    let left = c
        .engine
        .cli(&["volume", "ls", "-q", "--filter", &format!("name={run}")]);
    assert_eq!(left, vol, "only the user's volume is left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_and_restore_of_a_named_volume_container() {
    let Some(engine) = Engine::get("backup_and_restore_of_a_named_volume_container") else {
        return;
    };
    let c = Cluster::start(engine).await;
    let vol = format!("{}-vault", c.engine.run);
    let src = c.docker_run(
        0,
        "vault",
        &["-v", &format!("{vol}:/data"), "-v", "/anon"],
        PLAIN_CMD,
    );
    eventually("vault's data", || {
        c.engine.cli(&[
            "exec",
            &src,
            "sh",
            "-c",
            "test -f /data/ready && echo yes || true",
        ]) == "yes"
    })
    .await;
    eventually("n1 sees vault", || c.runs(0, "vault")).await;
    let digest = c.sha_inside(&src, "/data/big");
    let anon = c.sha_inside(&src, "/anon/a");
    let plan = c
        .plan(&Proposal::Backup {
            node: "n1".into(),
            container: Some("vault".into()),
        })
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let outcome = c.run(&plan).await;
    eprintln!(
        "figure: backup of a named-volume container (2 MB + 70 KB) took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(&outcome, Outcome::Done(m) if m.contains("backed up")),
        "{outcome:?}"
    );
    let list: Vec<BackupInfo> = c
        .link(0)
        .await
        .list_backups()
        .await
        .unwrap()
        .into_iter()
        .map(BackupInfo::from_wire)
        .collect();
    assert_eq!(list.len(), 1);
    let archive = c.nodes[0]
        .state
        .join("backups")
        .join(format!("{}.tar.gz", list[0].id));
    assert_eq!(sha(&archive), list[0].sha256);
    // Random data does not compress: the archive holds the 2 MB.
    assert!(list[0].size_bytes > 2_000_000, "{}", list[0].size_bytes);
    // The staged copy read for the backup is gone: hourly backups must not pile up copies.
    let staged = c.nodes[0].state.join("volumes").join(".staged");
    let kept: Vec<_> = std::fs::read_dir(&staged)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(
        kept.is_empty(),
        "staged copies left after a backup: {kept:?}"
    );

    c.engine.cli(&[
        "exec",
        &src,
        "sh",
        "-c",
        "echo damaged > /data/big; echo damaged > /anon/a",
    ]);
    assert_ne!(c.sha_inside(&src, "/data/big"), digest);
    let plan = c
        .plan(&Proposal::Restore {
            node: "n1".into(),
            backup: list[0].clone(),
        })
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let outcome = c.run(&plan).await;
    eprintln!(
        "figure: restore of a named-volume container (2 MB + 70 KB) took {:?}",
        started.elapsed()
    );
    assert!(matches!(&outcome, Outcome::Done(_)), "{outcome:?}");
    eventually("vault running again", || {
        c.inspect(&src, "{{.State.Running}}") == "true"
    })
    .await;
    assert_eq!(c.sha_inside(&src, "/data/big"), digest, "restored");
    assert_eq!(c.sha_inside(&src, "/anon/a"), anon, "restored");
    let left = std::fs::read_dir(&staged).map_or(0, |d| {
        d.flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".incoming"))
            .count()
    });
    assert_eq!(left, 0, "no incoming staging left in {}", staged.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn copies_this_engine_cannot_hold_are_refused_before_anything_is_made() {
    let Some(engine) = Engine::get("copies_this_engine_cannot_hold_are_refused") else {
        return;
    };
    let c = Cluster::start(engine).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let vol = format!("{}-webdata", c.engine.run);
    let src = c.docker_run(
        0,
        "web",
        &[
            "-p",
            &format!("127.0.0.1:{port}:8080"),
            "-v",
            &format!("{vol}:/data"),
        ],
        "trap 'exit 0' TERM; sleep 600 & wait",
    );
    eventually("n1 sees web", || c.runs(0, "web")).await;
    // Only this test's volumes: others running beside it make their own.
    let ours = || c.engine.volumes();
    let volumes_before = ours();
    // The planner sees both nodes on one engine and refuses the plan.
    let refused = c
        .plan(&Proposal::Migrate {
            node: "n1".into(),
            container: "web".into(),
            to: Some("n2".into()),
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("share one Docker engine"), "{refused}");
    // A console that plans without engine IDs still gets nothing made: the target agent
    // refuses the copy itself, before creating anything.
    let mut spec = c.link(0).await.export_spec("web").await.unwrap();
    spec.labels.remove("fleetdeck.pending");
    let created = c
        .link(1)
        .await
        .act(
            pb::ActRequest {
                action_id: format!("{}-web-copy", c.engine.run),
                dry_run: false,
                requested_by: "test".into(),
                intent_id: String::new(),
                action: Some(pb::act_request::Action::Create(pb::CreateAction {
                    spec: Some(spec),
                    labels: Default::default(),
                })),
            },
            |_| {},
        )
        .await;
    let m = created.unwrap_err().to_string();
    assert!(
        m.contains(&format!("host port {port}/tcp")) && m.contains("already published"),
        "{m}"
    );
    assert_eq!(m.lines().count(), 1, "one line: {m}");
    assert!(c.on_engine(1).is_empty(), "nothing made on n2");
    assert_eq!(ours(), volumes_before, "no volume made");
    assert_eq!(
        c.inspect(&src, "{{.State.Running}}"),
        "true",
        "source untouched"
    );

    // A network the target engine lacks: the dry run refuses with one line.
    let missing = format!("{}-nowhere", c.engine.run);
    let extras = format!(r#"{{"networks":["{missing}"]}}"#);
    let spec = pb::PortableSpec {
        name: "netted".into(),
        image: c.engine.image.clone(),
        labels: [("fleetdeck.docker.config".to_owned(), extras)].into(),
        ..pb::PortableSpec::default()
    };
    let err = c
        .link(1)
        .await
        .act(
            pb::ActRequest {
                action_id: format!("{}-dry", c.engine.run),
                dry_run: true,
                requested_by: "test".into(),
                intent_id: String::new(),
                action: Some(pb::act_request::Action::Create(pb::CreateAction {
                    spec: Some(spec),
                    labels: Default::default(),
                })),
            },
            |_| {},
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("network {missing} does not exist")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(c.on_engine(1).is_empty(), "nothing made on n2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn read_only_mounts_stay_read_only_on_the_copy() {
    let Some(engine) = Engine::get("read_only_mounts_stay_read_only_on_the_copy") else {
        return;
    };
    let c = Cluster::start(engine).await;
    let vol = format!("{}-roconf", c.engine.run);
    // The volume is filled before the container mounts it read-only.
    c.engine.cli(&["volume", "create", &vol]);
    c.engine.cli(&[
        "run",
        "--rm",
        "-v",
        &format!("{vol}:/v"),
        &c.engine.image,
        "sh",
        "-c",
        "head -c 300000 /dev/urandom > /v/blob && mkdir /v/sub && echo on > /v/sub/flag",
    ]);
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("app.conf"), b"listen 8080\n").unwrap();
    let src = c.docker_run(
        0,
        "roconf",
        &[
            "-v",
            &format!("{vol}:/cfg:ro"),
            "--mount",
            &format!(
                "type=bind,source={},target=/etc/app,readonly",
                host.path().display()
            ),
        ],
        "trap 'exit 0' TERM; sleep 600 & wait",
    );
    eventually("n1 sees roconf", || c.runs(0, "roconf")).await;
    // The engine lists mounts in no fixed order.
    let mounts_rw = |id: &str| {
        let out = c.inspect(id, "{{range .Mounts}}{{.Destination}}={{.RW}} {{end}}");
        let mut m: Vec<String> = out.split_whitespace().map(str::to_owned).collect();
        m.sort();
        m.join(" ")
    };
    assert_eq!(mounts_rw(&src), "/cfg=false /etc/app=false");
    let files = ["/cfg/blob", "/cfg/sub/flag", "/etc/app/app.conf"];
    let digests: Vec<String> = files.iter().map(|p| c.sha_inside(&src, p)).collect();

    // A helper left by an agent that died mid-fill does not stand in the way.
    let copy_name = format!("{}.roconf", c.nodes[1].scope.1);
    c.engine.cli(&[
        "create",
        "--name",
        &format!("{copy_name}.fill"),
        "--label",
        &format!("fleetdeck.fill-of={copy_name}"),
        &c.engine.image,
        "true",
    ]);
    let plan = c
        .plan_when_room(&Proposal::Migrate {
            node: "n1".into(),
            container: "roconf".into(),
            to: Some("n2".into()),
        })
        .await;
    let shown = plan.lines.join("\n");
    for want in [
        format!(
            "named volume {vol} (/cfg) becomes a new volume on n2, named for n2's scope, mounted read-only"
        ),
        "(/etc/app) becomes a folder fleetdeck manages on n2, mounted read-only".to_owned(),
    ] {
        assert!(shown.contains(&want), "{want:?} not in the plan:\n{shown}");
    }
    let outcome = c.run(&plan).await;
    assert!(matches!(&outcome, Outcome::Done(_)), "{outcome:?}");
    eventually("roconf runs on n2", || c.runs(1, "roconf")).await;
    assert!(c.on_engine(0).is_empty(), "the source is gone");
    let copy = c.engine_id(1, "roconf");
    // Read-only as the engine sees it, the same bytes as the source had.
    assert_eq!(mounts_rw(&copy), "/cfg=false /etc/app=false");
    for (path, digest) in files.iter().zip(&digests) {
        assert_eq!(&c.sha_inside(&copy, path), digest, "{path}");
    }
    let write = std::process::Command::new("docker")
        .args(["exec", &copy, "touch", "/cfg/new"])
        .output()
        .unwrap();
    assert!(
        !write.status.success(),
        "the copy cannot write into its read-only volume"
    );
    // The helper that filled the read-only volume is gone.
    let helpers = c
        .engine
        .cli(&["ps", "-aq", "--filter", "label=fleetdeck.fill-of"]);
    assert!(helpers.is_empty(), "helper containers left: {helpers}");

    // Backup and restore into the read-only mounts of the running copy.
    let plan = c
        .plan(&Proposal::Backup {
            node: "n2".into(),
            container: Some("roconf".into()),
        })
        .await
        .unwrap();
    assert!(matches!(c.run(&plan).await, Outcome::Done(_)));
    let backup = BackupInfo::from_wire(c.link(1).await.list_backups().await.unwrap().remove(0));
    let new_vol = format!("{}.{vol}", c.nodes[1].scope.1);
    c.engine.cli(&[
        "run",
        "--rm",
        "-v",
        &format!("{new_vol}:/v"),
        &c.engine.image,
        "sh",
        "-c",
        "echo damaged > /v/blob",
    ]);
    assert_ne!(c.sha_inside(&copy, "/cfg/blob"), digests[0]);
    let plan = c
        .plan(&Proposal::Restore {
            node: "n2".into(),
            backup,
        })
        .await
        .unwrap();
    let outcome = c.run(&plan).await;
    assert!(matches!(&outcome, Outcome::Done(_)), "{outcome:?}");
    eventually("roconf running again", || {
        c.inspect(&copy, "{{.State.Running}}") == "true"
    })
    .await;
    for (path, digest) in files.iter().zip(&digests) {
        assert_eq!(&c.sha_inside(&copy, path), digest, "restored {path}");
    }
    let helpers = c
        .engine
        .cli(&["ps", "-aq", "--filter", "label=fleetdeck.fill-of"]);
    assert!(helpers.is_empty(), "helper containers left: {helpers}");
}
