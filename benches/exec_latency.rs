//! Keystroke-to-echo latency of an exec session over loopback, without and with TLS: a sim
//! agent (its built-in shell on a TTY echoes what is typed, as a remote shell's terminal
//! does) runs in this process on 127.0.0.1; the console's `client::exec` types one key at a
//! time and waits for its echo. Keys alternate between a letter and a backspace, so the
//! line stays short.
//!
//! ```sh
//! KEYS=2000 cargo bench --bench exec_latency
//! ```
//!
//! Prints the median and p99 per transport; no assertion (a measurement).
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use fleetdeck::client::Connections;
use fleetdeck::client::credentials::{ClientTls, Credentials};
use fleetdeck::client::exec::{self, ExecIn, ExecOut, ExecRequest, ExecSession};
use fleetdeck_agent::pki::{Ca, Holder, Validity};
use fleetdeck_agent::tls::TlsFiles;
use fleetdeck_agent::{AgentConfig, RunningAgent};

/// Keys typed before measuring.
const WARM_UP_KEYS: usize = 100;
/// Longest one echo may take before the bench gives up.
const ECHO_BOUND: Duration = Duration::from_secs(10);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn agent(dir: &std::path::Path, name: &str, tls: Option<TlsFiles>) -> RunningAgent {
    let mut config = AgentConfig {
        containers: 4,
        sim_faults: false,
        state_dir: Some(dir.join(name)),
        ..AgentConfig::sim(name, 3)
    };
    config.security.tls = tls;
    let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    fleetdeck_agent::spawn(config, listener).await.unwrap()
}

/// A CA and an agent certificate for 127.0.0.1 in `dir`; the CA's PEM for the console.
fn certificates(dir: &std::path::Path) -> (TlsFiles, Vec<u8>) {
    let ca = Ca::create("exec bench CA", Validity::days_from_now(2)).unwrap();
    let holder = Holder::Agent {
        name: "agent".parse().unwrap(),
        sans: vec!["127.0.0.1".parse().unwrap()],
    };
    let written = ca
        .issue(&holder, Validity::days_from_now(2))
        .unwrap()
        .save(dir, "agent", false)
        .unwrap();
    let files = TlsFiles {
        cert: written.cert,
        key: written.key,
        client_ca: None,
        crls: Vec::new(),
    };
    (files, ca.cert_pem().as_bytes().to_vec())
}

/// Types one key and waits for its echo; returns the time it took.
async fn key(session: &mut ExecSession, byte: u8) -> Duration {
    let sent = Instant::now();
    session.input.send(ExecIn::Stdin(vec![byte])).await.unwrap();
    loop {
        let out = tokio::time::timeout(ECHO_BOUND, session.output.recv())
            .await
            .expect("an echo")
            .expect("the session is open");
        match out {
            ExecOut::Stdout(b) if !b.is_empty() => return sent.elapsed(),
            ExecOut::Stdout(_) | ExecOut::Stderr(_) => {}
            other => panic!("the shell ended: {other:?}"),
        }
    }
}

/// Opens a TTY shell on `agent`'s first running container and times `keys` keystrokes.
async fn measure(agent: &RunningAgent, credentials: Credentials, keys: usize) -> Vec<Duration> {
    let container = agent
        .snapshot()
        .containers
        .iter()
        .find(|c| c.status.state.is_up())
        .map(|c| c.spec.name.clone())
        .unwrap();
    let conns = Connections::new(credentials, Duration::from_secs(3));
    let request = ExecRequest {
        container,
        command: vec!["sh".into()],
        tty: true,
        stdin: true,
        rows: 24,
        cols: 80,
    };
    let endpoint = agent.addr().to_string();
    let mut session = exec::open(&conns, agent.node_id(), &endpoint, request)
        .await
        .unwrap();
    // The prompt first.
    tokio::time::timeout(ECHO_BOUND, session.output.recv())
        .await
        .unwrap()
        .unwrap();
    let mut times = Vec::with_capacity(keys);
    for i in 0..WARM_UP_KEYS + keys {
        let byte = if i % 2 == 0 { b'x' } else { 0x7f };
        let t = key(&mut session, byte).await;
        if i >= WARM_UP_KEYS {
            times.push(t);
        }
    }
    times
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{label:<8} keys {:>6}  median {:>8.1} µs  p99 {:>8.1} µs  max {:>8.1} µs",
        times.len(),
        at(0.5).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        times[times.len() - 1].as_secs_f64() * 1e6,
    );
}

fn main() {
    let keys: usize = env_or("KEYS", 2000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let plain = agent(dir.path(), "plain", None).await;
        report("plain", measure(&plain, Credentials::none(), keys).await);
        plain.shutdown().await;

        let (files, ca_pem) = certificates(dir.path());
        let tls_agent = agent(dir.path(), "tls", Some(files)).await;
        let credentials = Credentials::none().with_tls(ClientTls {
            ca_pem,
            identity: None,
            server_name: None,
        });
        report("tls", measure(&tls_agent, credentials, keys).await);
        tls_agent.shutdown().await;
    });
}
