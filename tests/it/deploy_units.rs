//! The systemd units in `deploy/`: hardened as SECURITY.md promises (read every time), the
//! flags they pass known to the binaries they start, and, where `systemd-analyze` is
//! installed, verified by systemd itself against the real binaries and man pages.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::binaries;

/// Where the units expect the binaries.
const INSTALLED: &str = "/usr/local/bin/";

fn unit(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `Key=value` pairs of section `[section]`, continuation lines joined, comments dropped.
fn entries(text: &str, section: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut pending = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.to_owned();
            continue;
        }
        pending.push_str(line.trim_end_matches('\\').trim_end());
        if line.ends_with('\\') {
            pending.push(' ');
            continue;
        }
        if current == section {
            let (k, v) = pending.split_once('=').unwrap();
            out.push((k.trim().to_owned(), v.trim().to_owned()));
        }
        pending.clear();
    }
    out
}

fn value<'a>(entries: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    entries
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The hardening every unit carries, and a state directory it may write.
fn check_hardening(name: &str, text: &str, state: &str) {
    let service = entries(text, "Service");
    let writable = format!("/var/lib/{state}");
    for (key, want) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("Restart", "on-failure"),
        ("StateDirectory", state),
        ("ReadWritePaths", writable.as_str()),
        ("CapabilityBoundingSet", ""),
        ("UMask", "0077"),
    ] {
        assert_eq!(value(&service, key), [want], "{name}: {key}");
    }
    assert_eq!(value(&service, "User"), ["fleetdeck"], "{name}: never root");
    assert_eq!(
        value(&entries(text, "Install"), "WantedBy"),
        ["multi-user.target"],
        "{name}"
    );
}

/// The words of the unit's ExecStart, with the binary's path.
fn exec_start(text: &str) -> Vec<String> {
    let service = entries(text, "Service");
    let exec = value(&service, "ExecStart");
    assert_eq!(exec.len(), 1);
    exec[0].split_whitespace().map(str::to_owned).collect()
}

#[test]
fn the_agent_unit_is_hardened_and_reaches_docker_through_its_group() {
    let text = unit("fleetdeck-agent.service");
    check_hardening("agent", &text, "fleetdeck-agent");
    let service = entries(&text, "Service");
    assert_eq!(value(&service, "SupplementaryGroups"), ["docker"]);
    let words = exec_start(&text);
    assert_eq!(words[0], format!("{INSTALLED}fleetdeck-agent"));
    // Every flag the unit passes is one the agent has, and its state goes where the unit
    // lets it write.
    let help = Command::new(binaries::agent())
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for flag in words.iter().filter(|w| w.starts_with("--")) {
        assert!(help.contains(flag.as_str()), "the agent has no {flag}");
    }
    let state = words.iter().position(|w| w == "--state-dir").unwrap();
    assert_eq!(words[state + 1], "/var/lib/fleetdeck-agent");
    for (flag, file) in [
        ("--tls-cert", "agent.pem"),
        ("--tls-key", "agent.key"),
        ("--client-ca", "ca.pem"),
    ] {
        let at = words.iter().position(|w| w == flag).unwrap();
        assert_eq!(words[at + 1], format!("/etc/fleetdeck/{file}"), "{flag}");
    }
}

#[test]
fn the_monitor_unit_is_hardened_and_runs_the_monitor_with_the_system_config() {
    let text = unit("fleetdeck-monitor.service");
    check_hardening("monitor", &text, "fleetdeck-monitor");
    let service = entries(&text, "Service");
    assert!(
        value(&service, "SupplementaryGroups").is_empty(),
        "no docker"
    );
    assert_eq!(
        exec_start(&text),
        [
            format!("{INSTALLED}fleetdeck"),
            "monitor".into(),
            "--config".into(),
            "/etc/fleetdeck/config.toml".into()
        ]
    );
}

/// `systemd-analyze verify` on both units, their binaries pointed at the ones built here
/// and their `man:` documentation found in pages the binaries print.
#[test]
fn systemd_accepts_both_units() {
    if !binaries::installed("systemd-analyze") {
        eprintln!("systemd-analyze is not installed: the units are only read, not verified");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let man1 = dir.path().join("man/man1");
    std::fs::create_dir_all(&man1).unwrap();
    for (name, bin) in [
        ("fleetdeck", PathBuf::from(binaries::CONSOLE)),
        ("fleetdeck-agent", binaries::agent()),
    ] {
        let page = Command::new(bin).arg("man").output().unwrap();
        assert!(page.status.success());
        std::fs::write(man1.join(format!("{name}.1")), page.stdout).unwrap();
    }
    let built = format!("{}/", binaries::dir().display());
    for name in ["fleetdeck-agent.service", "fleetdeck-monitor.service"] {
        let path = dir.path().join(name);
        std::fs::write(&path, unit(name).replace(INSTALLED, &built)).unwrap();
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&path)
            .env("MANPATH", dir.path().join("man"))
            .env("SYSTEMD_LOG_LEVEL", "notice")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {err}");
        // Unknown keys and bad values are only warnings to systemd; here they fail.
        assert!(err.trim().is_empty(), "{name}: {err}");
    }
}
