//! The real Docker Engine for tests: a per-run image and label, containers started with the
//! `docker` CLI, and everything removed again on drop. Without an engine the tests skip with
//! a printed reason, unless FLEETDECK_REQUIRE_DOCKER=1 makes that a failure.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// Label every test container carries: its value is unique per test.
pub const TEST_LABEL: &str = "fleetdeck.test";

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn docker(args: &[&str]) -> std::io::Result<Output> {
    Command::new("docker").args(args).output()
}

/// One test's share of the engine.
pub struct Engine {
    /// Unique per test: label value and image tag.
    pub run: String,
    /// Image built for this test.
    pub image: String,
}

impl Engine {
    /// The engine, or `None` (after saying why) when the test must skip.
    pub fn get(test: &str) -> Option<Engine> {
        let why = match docker(&["info", "--format", "{{.ServerVersion}}"]) {
            Err(e) => Some(format!("no docker CLI ({e})")),
            Ok(o) if !o.status.success() => Some(format!(
                "no reachable Docker engine ({})",
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Ok(_) => None,
        };
        if let Some(why) = why {
            if std::env::var("FLEETDECK_REQUIRE_DOCKER").as_deref() == Ok("1") {
                panic!("{test}: FLEETDECK_REQUIRE_DOCKER=1 but {why}");
            }
            eprintln!("skipping {test}: {why} (set FLEETDECK_REQUIRE_DOCKER=1 to fail instead)");
            return None;
        }
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let run = format!("fdt{}x{n}", std::process::id());
        let image = format!("fleetdeck-test-busybox:{run}");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/docker/build-image.sh");
        let out = Command::new(&script)
            .arg(&image)
            .output()
            .expect("run build-image.sh");
        assert!(
            out.status.success(),
            "{}: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Some(Engine { run, image })
    }

    /// The scope label `(key, value)` of this test.
    pub fn scope(&self) -> (String, String) {
        (TEST_LABEL.to_owned(), self.run.clone())
    }

    /// `docker run -d` of this test's image as `<run>-<name>`, labelled; returns the id.
    pub fn run(&self, name: &str, options: &[&str], command: &str) -> String {
        let full = self.name(name);
        let label = format!("{TEST_LABEL}={}", self.run);
        let mut args = vec!["run", "-d", "--name", &full, "--label", &label];
        args.extend_from_slice(options);
        args.extend_from_slice(&[&self.image, "sh", "-c", command]);
        let out = docker(&args).expect("docker run");
        assert!(
            out.status.success(),
            "docker run {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// An agent on loopback for this test's share of the engine (its scope label), sampling
    /// every second, its state in `state_dir`.
    pub async fn agent(&self, node_id: &str, state_dir: &Path) -> fleetdeck_agent::RunningAgent {
        use fleetdeck_agent::runtime::{DockerConfig, RuntimeKind};
        let config = fleetdeck_agent::AgentConfig {
            node_id: node_id.into(),
            runtime: RuntimeKind::Docker,
            state_dir: Some(state_dir.to_path_buf()),
            sample_interval: std::time::Duration::from_secs(1),
            docker: DockerConfig {
                scope: Some(self.scope()),
                ..DockerConfig::default()
            },
            ..fleetdeck_agent::AgentConfig::default()
        };
        let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().expect("loopback"))
            .await
            .expect("bind an agent port");
        fleetdeck_agent::spawn(config, listener)
            .await
            .expect("start a docker agent")
    }

    /// This test's volumes, sorted: those named after it and those carrying its label (an
    /// agent scoped to this test labels every volume it makes).
    pub fn volumes(&self) -> Vec<String> {
        let label = format!("label={TEST_LABEL}={}", self.run);
        let named = self.cli(&["volume", "ls", "-q"]);
        let labelled = self.cli(&["volume", "ls", "-q", "--filter", &label]);
        let mut all: Vec<String> = named
            .lines()
            .filter(|v| v.contains(&self.run))
            .chain(labelled.lines())
            .map(str::to_owned)
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// The full container name of `name`.
    pub fn name(&self, name: &str) -> String {
        format!("{}-{name}", self.run)
    }

    /// Runs `docker ARGS`, failing the test if it fails.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = docker(args).expect("docker");
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // By label, and by name for the containers a test started outside its own scope.
        let by_label = format!("label={TEST_LABEL}={}", self.run);
        let by_name = format!("name=^{}-", self.run);
        let mut ids: Vec<String> = Vec::new();
        for filter in [&by_label, &by_name] {
            if let Ok(out) = docker(&["ps", "-aq", "--filter", filter]) {
                ids.extend(
                    String::from_utf8_lossy(&out.stdout)
                        .split_whitespace()
                        .map(str::to_owned),
                );
            }
        }
        ids.sort();
        ids.dedup();
        {
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f", "-v"];
                args.extend(ids.iter().map(String::as_str));
                let _ = docker(&args);
            }
        }
        // Volumes and networks a test or its agents made: their names carry the run.
        for (kind, filter) in [
            ("volume", format!("name={}", self.run)),
            ("network", format!("name={}", self.run)),
        ] {
            if let Ok(out) = docker(&[kind, "ls", "-q", "--filter", &filter]) {
                let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect();
                if !names.is_empty() {
                    let mut args = vec![kind, "rm"];
                    args.extend(names.iter().map(String::as_str));
                    let _ = docker(&args);
                }
            }
        }
        let _ = docker(&["rmi", "-f", &self.image]);
    }
}
