//! Restoring a backup on a node other than the one holding it: the archive is streamed
//! agent to agent (ReadBackup -> WriteBackup), checked on arrival, then restored. Real
//! gRPC against sim agents on loopback.
#![allow(clippy::unwrap_used)]

use crate::support::ops;

use std::time::Duration;

use fleetdeck::client::{AgentAddr, Credentials, connect_with};
use fleetdeck::ops::link::Link;
use fleetdeck::ops::plan::Step;
use fleetdeck::ops::{BackupInfo, OpEvent, Outcome, Proposal};
use fleetdeck_agent::NodeMode;
use fleetdeck_agent::auth::{Role, tokens};
use fleetdeck_proto as pb;
use futures::StreamExt;
use ops::{Cluster, eventually, running};
use sha2::Digest;

const PATIENCE: Duration = Duration::from_secs(5);

async fn backups(c: &Cluster, node: usize) -> Vec<pb::BackupInfo> {
    let mut link = Link::open(&c.conns(), &format!("n{}", node + 1), &c.nodes[node].addr)
        .await
        .unwrap();
    link.list_backups().await.unwrap()
}

/// Files in a node's backup registry (none when it does not exist).
fn registry_files(c: &Cluster, node: usize) -> Vec<String> {
    let dir = c.nodes[node].state_dir().join("backups");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The plan restoring `b` on n2.
async fn restore_on_n2(c: &Cluster, b: &BackupInfo) -> fleetdeck::ops::plan::Plan {
    c.plan(&Proposal::Restore {
        node: "n2".into(),
        backup: b.clone(),
    })
    .await
    .unwrap()
}

/// Backs up a running container of n1 that has volumes, with a marker file in them;
/// returns the container's name, the volume name and the backup.
async fn backed_up(c: &Cluster) -> (String, String, BackupInfo) {
    backed_up_with(c, 300_000).await
}

/// [`backed_up`] with `noise_bytes` of incompressible data beside the marker.
pub async fn backed_up_with(c: &Cluster, noise_bytes: usize) -> (String, String, BackupInfo) {
    let (s, vol) = c.stateful(0).await;
    let volume = s.volumes[0].clone();
    std::fs::create_dir_all(vol.join("deep")).unwrap();
    std::fs::write(vol.join("deep/marker.txt"), "taken on n1").unwrap();
    // Incompressible bytes so the archive spans many 64 KiB chunks.
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let noise: Vec<u8> = (0..noise_bytes)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(vol.join("noise.bin"), &noise).unwrap();
    let plan = c
        .plan(&Proposal::Backup {
            node: "n1".into(),
            container: Some(s.name.clone()),
        })
        .await
        .unwrap();
    let (outcome, _) = c.run(&plan).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    let list = backups(c, 0).await;
    assert_eq!(list.len(), 1);
    let b = BackupInfo::from_wire(list[0].clone());
    assert!(b.size_bytes > 4 * 64 * 1024, "{} bytes", b.size_bytes);
    (s.name, volume, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restore_on_another_node_copies_the_archive_and_runs_there_with_the_data() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 6).await;
    let (name, volume, b) = backed_up(&c).await;
    assert!(
        !running(c.nodes[1].agent()).iter().any(|(n, _)| *n == name),
        "n2 starts without {name}"
    );
    let plan = restore_on_n2(&c, &b).await;
    assert!(
        matches!(&plan.steps[0], Step::CopyBackup { from, to, bytes, .. }
            if from.name == "n1" && to.name == "n2" && *bytes == b.size_bytes),
        "{:?}",
        plan.steps
    );
    assert!(matches!(&plan.steps[1], Step::Restore { on, .. } if on.name == "n2"));
    assert!(
        plan.lines[0].contains("copy backup") && plan.lines[0].contains("SHA-256"),
        "{:?}",
        plan.lines
    );
    let (outcome, events) = c.run(&plan).await;
    assert!(
        matches!(&outcome, Outcome::Done(m) if m.contains("SHA-256 verified") && m.contains("restored")),
        "{outcome:?}"
    );
    let transfer: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            OpEvent::Progress { stage, message, .. } if stage == "transfer" => {
                Some(message.as_str())
            }
            _ => None,
        })
        .collect();
    assert!(!transfer.is_empty(), "transfer progress is reported");

    // n2 runs the container, with the data that was backed up on n1.
    let mut id = String::new();
    eventually("the restored container running on n2", || {
        match running(c.nodes[1].agent())
            .into_iter()
            .find(|(n, _)| *n == name)
        {
            Some((_, i)) => {
                id = i;
                true
            }
            None => false,
        }
    })
    .await;
    let vol = c.nodes[1].volumes(&id).join(&volume);
    assert_eq!(
        std::fs::read_to_string(vol.join("deep/marker.txt")).unwrap(),
        "taken on n1"
    );
    assert_eq!(
        std::fs::metadata(vol.join("noise.bin")).unwrap().len(),
        300_000
    );
    // The source is untouched and n2 now holds the same archive, marked as a copy.
    assert!(running(c.nodes[0].agent()).iter().any(|(n, _)| *n == name));
    let held = backups(&c, 1).await;
    assert_eq!(held.len(), 1);
    assert_eq!(
        (
            held[0].id.as_str(),
            held[0].sha256.as_str(),
            held[0].node_id.as_str()
        ),
        (b.id.as_str(), b.sha256.as_str(), "n2")
    );
    assert_eq!(held[0].copied_from, "n1");
    let archive = c.nodes[1]
        .state_dir()
        .join("backups")
        .join(format!("{}.tar.gz", b.id));
    let bytes = std::fs::read(archive).unwrap();
    assert_eq!(
        fleetdeck_agent::backup::hex(&sha2::Sha256::digest(&bytes)),
        b.sha256
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_corrupted_transfer_is_refused_and_nothing_is_kept() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 6).await;
    let (name, _, b) = backed_up(&c).await;
    // The archive on n1 rots after it was recorded: the bytes sent no longer match.
    let archive = c.nodes[0]
        .state_dir()
        .join("backups")
        .join(format!("{}.tar.gz", b.id));
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&archive, &bytes).unwrap();
    let plan = restore_on_n2(&c, &b).await;
    let (outcome, _) = c.run(&plan).await;
    assert!(
        matches!(&outcome, Outcome::Failed(m) if m.contains("SHA-256") && m.contains("nothing was kept")),
        "{outcome:?}"
    );
    assert!(
        registry_files(&c, 1).is_empty(),
        "{:?}",
        registry_files(&c, 1)
    );
    assert!(backups(&c, 1).await.is_empty());
    assert!(
        !running(c.nodes[1].agent()).iter().any(|(n, _)| *n == name),
        "nothing was restored on n2"
    );

    // By hand: bytes beyond the size announced, a message beyond the size limit, an id
    // that is not a plain id, and a stream that stops early are all refused the same way.
    let addr: AgentAddr = c.nodes[1].addr.parse().unwrap();
    let mut client = connect_with(&addr, PATIENCE, &Credentials::none())
        .await
        .unwrap();
    let data = b"not much of an archive".to_vec();
    let info = |id: &str, size: u64| pb::BackupInfo {
        id: id.into(),
        container: "db-1".into(),
        node_id: "n1".into(),
        size_bytes: size,
        sha256: fleetdeck_agent::backup::hex(&sha2::Sha256::digest(&data)),
        ..Default::default()
    };
    let chunk = |info: Option<pb::BackupInfo>, data: Vec<u8>| pb::BackupChunk {
        info,
        data,
        intent_id: String::new(),
    };
    let big = vec![7_u8; 2 << 20];
    let cases: Vec<(&str, Vec<pb::BackupChunk>, &str)> = vec![
        (
            "too many bytes",
            vec![
                chunk(Some(info("x-1", data.len() as u64)), data.clone()),
                chunk(None, b"more".to_vec()),
            ],
            "more than",
        ),
        (
            "too few bytes",
            vec![chunk(
                Some(info("x-2", data.len() as u64)),
                data[..5].to_vec(),
            )],
            "ended after",
        ),
        (
            // Size and checksum match: only the 1 MiB message limit can refuse it.
            "message over the limit",
            vec![
                chunk(
                    Some(pb::BackupInfo {
                        sha256: fleetdeck_agent::backup::hex(&sha2::Sha256::digest(&big)),
                        ..info("x-3", big.len() as u64)
                    }),
                    Vec::new(),
                ),
                chunk(None, big.clone()),
            ],
            "",
        ),
        (
            "escaping id",
            vec![chunk(Some(info("../x", data.len() as u64)), data.clone())],
            "not valid",
        ),
        (
            "beyond the size limit",
            vec![chunk(Some(info("x-4", 1 << 40)), Vec::new())],
            "accepts",
        ),
    ];
    for (what, chunks, says) in cases {
        let result = async {
            let mut replies = client
                .write_backup(futures::stream::iter(chunks))
                .await?
                .into_inner();
            while let Some(m) = replies.next().await {
                if m?.stored.is_some() {
                    return Ok(());
                }
            }
            Err(tonic::Status::unknown("ended without a result"))
        }
        .await;
        let e = result.expect_err(what);
        assert!(e.message().contains(says), "{what}: {e:?}");
        // The refusal may reach the client before the agent has removed its part file.
        eventually(&format!("nothing kept after {what}"), || {
            registry_files(&c, 1).is_empty()
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_viewer_cannot_read_a_backup_and_an_operator_cannot_store_one() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    let (_, _, b) = backed_up(&c).await;
    let file = c.nodes[0].state_dir().join("tokens.toml");
    let wall = tokens::create(&file, "wall", Role::Viewer).unwrap();
    let ops = tokens::create(&file, "ops", Role::Operator).unwrap();
    let addr: AgentAddr = c.nodes[0].addr.parse().unwrap();
    let open = |t: String| {
        let addr = addr.clone();
        async move {
            connect_with(
                &addr,
                PATIENCE,
                &Credentials::none().with_token(&t).unwrap(),
            )
            .await
            .unwrap()
        }
    };
    let read = |mut client: fleetdeck::client::AgentConn| {
        let id = b.id.clone();
        async move {
            let mut s = client
                .read_backup(pb::ReadBackupRequest { backup_id: id })
                .await?
                .into_inner();
            let first = s.next().await.unwrap()?;
            Ok::<_, tonic::Status>(first.info.unwrap())
        }
    };
    // The agent re-reads its tokens file; wait until tokens are required.
    let mut viewer = open(wall.clone()).await;
    let mut refused = None;
    for _ in 0..100 {
        match read(viewer.clone()).await {
            Err(e) => {
                refused = Some(e);
                break;
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let e = refused.expect("the viewer is refused once tokens are in force");
    assert_eq!(e.code(), tonic::Code::PermissionDenied, "{e:?}");
    assert!(e.message().contains("operator"), "{e:?}");
    // The viewer may still list backups (a wall display does), just not read them.
    assert_eq!(
        viewer
            .list_backups(pb::ListBackupsRequest {})
            .await
            .unwrap()
            .into_inner()
            .backups
            .len(),
        1
    );
    let operator = open(ops).await;
    let info = read(operator.clone()).await.unwrap();
    assert_eq!((info.id, info.sha256), (b.id.clone(), b.sha256.clone()));
    // Storing a backup is the first half of a restore: admin's.
    let mut op = operator;
    let store = op
        .write_backup(futures::stream::iter(vec![pb::BackupChunk {
            info: Some(pb::BackupInfo {
                id: "x-1".into(),
                ..Default::default()
            }),
            data: Vec::new(),
            intent_id: String::new(),
        }]))
        .await
        .unwrap_err();
    assert_eq!(store.code(), tonic::Code::PermissionDenied, "{store:?}");
    assert!(store.message().contains("admin"), "{store:?}");
    let denied: Vec<_> = ops::audit(&c.nodes[0].state_dir())
        .into_iter()
        .filter(|l| {
            l["action"]
                .as_str()
                .is_some_and(|a| a.contains("ReadBackup") || a.contains("WriteBackup"))
        })
        .collect();
    assert!(denied.len() >= 2, "refusals are audited: {denied:?}");
}

/// Peak resident memory of this process so far, KiB (Linux).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// On demand: `cargo test --test it ops_restore_to::measure -- --ignored --nocapture`.
/// Restores a backup of 64 MiB of incompressible data on another node and prints how long
/// the transfer and the restore took, and how much the process's peak memory grew (it
/// would grow by the archive's size if anything held it whole).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "measurement; run on demand"]
async fn measure_restore_on_another_node() {
    const MIB: usize = 1 << 20;
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    let (s, vol) = c.stateful(0).await;
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    for f in 0..8 {
        let data: Vec<u8> = (0..8 * MIB)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        std::fs::write(vol.join(format!("blob-{f}.bin")), data).unwrap();
    }
    let plan = c
        .plan(&Proposal::Backup {
            node: "n1".into(),
            container: Some(s.name.clone()),
        })
        .await
        .unwrap();
    assert!(matches!(c.run(&plan).await.0, Outcome::Done(_)));
    let b = BackupInfo::from_wire(backups(&c, 0).await.remove(0));
    let mib = b.size_bytes as f64 / MIB as f64;
    let peak_before = peak_rss_kib();
    // The transfer alone, as the restore's first step runs it.
    let conns = c.conns();
    let mut src = Link::open(&conns, "n1", &c.nodes[0].addr).await.unwrap();
    let mut dst = Link::open(&conns, "n2", &c.nodes[1].addr).await.unwrap();
    let mut reports = 0;
    let t0 = std::time::Instant::now();
    src.copy_backup((&b.id, ""), &mut dst, |_| reports += 1)
        .await
        .unwrap();
    let copy = t0.elapsed();
    let peak_after_copy = peak_rss_kib();
    // Then the restore on n2, which now holds the archive (checksum, unpack, create, start).
    let plan = c
        .plan(&Proposal::Restore {
            node: "n2".into(),
            backup: BackupInfo {
                node: "n2".into(),
                ..b.clone()
            },
        })
        .await
        .unwrap();
    assert!(matches!(plan.steps.as_slice(), [Step::Restore { .. }]));
    let t1 = std::time::Instant::now();
    let (outcome, _) = c.run(&plan).await;
    let restore = t1.elapsed();
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    println!(
        "archive {mib:.1} MiB: transfer n1 -> n2 {:.2} s ({:.1} MiB/s, {reports} progress reports), \
         restore on n2 {:.2} s; peak RSS {peak_before} KiB before, {peak_after_copy} KiB after the \
         transfer (+{} KiB)",
        copy.as_secs_f64(),
        mib / copy.as_secs_f64(),
        restore.as_secs_f64(),
        peak_after_copy.saturating_sub(peak_before)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_staged_for_an_intent_goes_when_the_intent_is_rolled_back() {
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active, NodeMode::Active], 6).await;
    let (_, _, b) = backed_up(&c).await;
    let conns = c.conns();
    let names = ["n1", "n2", "n3"];
    let open = |i: usize| Link::open(&conns, names[i], &c.nodes[i].addr);
    let plan = restore_on_n2(&c, &b).await;
    let id = "0cc0cc0cc0cc0cc0";
    let held = c.executor().claim(&plan, id).await.unwrap();
    // n3 held the backup before the intent asked for it: sent again under the intent, it
    // stays as it was and is not the intent's to remove.
    let (mut n1, mut n2, mut n3) = (
        open(0).await.unwrap(),
        open(1).await.unwrap(),
        open(2).await.unwrap(),
    );
    n1.copy_backup((&b.id, ""), &mut n3, |_| {}).await.unwrap();
    n1.copy_backup((&b.id, id), &mut n3, |_| {}).await.unwrap();
    n1.copy_backup((&b.id, id), &mut n2, |_| {}).await.unwrap();
    assert_eq!(backups(&c, 1).await.len(), 1, "staged on n2");
    // What `fleetdeck actions abort` sends each agent: the intent ends rolled back.
    held.end(pb::IntentState::RolledBack, "aborted").await;
    assert!(backups(&c, 1).await.is_empty(), "the staged backup is gone");
    assert!(
        registry_files(&c, 1).iter().all(|f| f.starts_with('.')),
        "{:?}",
        registry_files(&c, 1)
    );
    assert_eq!(backups(&c, 2).await.len(), 1, "n3 keeps the backup it held");
    // Once rolled back, the intent stages nothing more.
    let late = n1.copy_backup((&b.id, id), &mut n2, |_| {}).await;
    assert!(late.is_err(), "{late:?}");
    assert!(backups(&c, 1).await.is_empty());
}
