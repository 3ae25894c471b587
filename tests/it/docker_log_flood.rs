//! A container writing as fast as a shell loop can never stalls the console: the real
//! binary on a pseudo-terminal follows its log over a real agent on the real engine, keys
//! still turn into frames promptly (latency measured and printed), and memory stays bounded
//! because the ring caps at `log_lines` and the log task drops what the UI cannot take.
//! Needs the engine: skips with a reason unless FLEETDECK_REQUIRE_DOCKER=1.

use crate::support;

use std::time::{Duration, Instant};

use support::docker::Engine;
use support::pty::Pty;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");
/// Ring size configured for the test, lines.
const LOG_LINES: usize = 2_000;
/// Keys timed while the flood runs.
const KEY_PRESSES: usize = 10;
/// A key not on screen after this long means the UI stalled. Generous on purpose: the
/// machine is shared and the test measures stalls, not speed (speed is in BENCHMARKS.md).
const KEY_LATENCY_BOUND: Duration = Duration::from_secs(2);
/// Resident memory the console may reach while following the flood.
const RSS_BOUND_KIB: u64 = 150 * 1024;

fn title(screen: &str) -> &str {
    screen
        .lines()
        .find(|l| l.contains("╭ Logs "))
        .unwrap_or_default()
}

/// The number before `label` in the log view's title ("2000/2000 lines", "5 older dropped").
fn title_number(screen: &str, label: &str) -> Option<u64> {
    let (before, _) = title(screen).split_once(label)?;
    let word = before.trim_end().rsplit(' ').next()?;
    word.split('/').next()?.parse().ok()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_container_never_stalls_the_ui() {
    let Some(engine) = Engine::get("a_flooding_container_never_stalls_the_ui") else {
        return;
    };
    // Capped json log so the flood cannot fill the disk.
    engine.run(
        "flood",
        &["--log-opt", "max-size=5m", "--log-opt", "max-file=1"],
        "i=0; while true; do i=$((i+1)); echo \"flood line $i: the quick brown fox jumps over the lazy dog\"; done",
    );
    let dir = tempfile::tempdir().unwrap();
    let agent = engine.agent("flood-node", &dir.path().join("agent")).await;
    let addr = agent.addr().to_string();
    let config_file = dir.path().join("config.toml");
    std::fs::write(&config_file, format!("log_lines = {LOG_LINES}\n")).unwrap();
    let config_arg = config_file.display().to_string();

    let report = tokio::task::spawn_blocking(move || {
        let term = Pty::start(&[BIN, "--agent", &addr, "--config", &config_arg], 140, 40);
        term.wait_for("the flood container", Duration::from_secs(30), |s| {
            s.contains("-flood") && s.contains("running")
        });
        term.send(&["l"]);
        term.wait_for("the ring full", Duration::from_secs(30), |s| {
            title_number(s, " lines") == Some(LOG_LINES as u64)
                && title_number(s, " older dropped").is_some()
        });
        let pid = term.pid();

        // Each key flips wrap; time from the key to the frame that shows it.
        let mut latencies = Vec::with_capacity(KEY_PRESSES);
        for i in 0..KEY_PRESSES {
            let want_wrap = i % 2 == 0;
            let sent = Instant::now();
            term.send(&["w"]);
            loop {
                let screen = term.screen();
                if title(&screen).contains(" wrap ") == want_wrap {
                    break;
                }
                assert!(
                    sent.elapsed() < KEY_LATENCY_BOUND,
                    "key {i} not on screen after {KEY_LATENCY_BOUND:?}: the UI stalled\n{screen}"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            latencies.push(sent.elapsed());
        }
        let dropped_before = title_number(&term.screen(), " older dropped").unwrap_or(0);
        std::thread::sleep(Duration::from_secs(2));
        let screen = term.screen();
        let dropped_after = title_number(&screen, " older dropped").unwrap_or(0);
        let rss = rss_kib(pid);
        term.send(&["Escape"]);
        term.wait_for("the tables again", Duration::from_secs(5), |s| {
            !s.contains("╭ Logs ")
        });
        term.send(&["q"]);
        let status = term.exit_status(Duration::from_secs(10));
        (
            latencies,
            dropped_before,
            dropped_after,
            rss,
            screen,
            status,
        )
    })
    .await
    .unwrap();
    let (mut latencies, before, after, rss, screen, status) = report;
    agent.shutdown().await;

    latencies.sort();
    println!(
        "key-to-screen latency under a log flood over {KEY_PRESSES} keys: median {:?}, max {:?}; \
         console RSS {} KiB; lines dropped from the ring in 2 s: {}",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
        rss,
        after.saturating_sub(before),
    );
    assert!(after > before, "the flood kept arriving:\n{screen}");
    assert_eq!(
        title_number(&screen, " lines"),
        Some(LOG_LINES as u64),
        "the ring is capped at log_lines:\n{screen}"
    );
    assert!(
        rss < RSS_BOUND_KIB,
        "console RSS {rss} KiB over {RSS_BOUND_KIB} KiB"
    );
    assert_eq!(status, Some(0));
}
