//! A real Prometheus Alertmanager for tests: started on a free loopback port with its own
//! storage and a config that routes everything to a receiver that sends nothing, no
//! cluster listener, and killed by PID on drop. Without the binary the tests skip with a
//! printed reason, unless FLEETDECK_REQUIRE_SERVICES=1 makes that a failure.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's package puts it; `alertmanager` on PATH is tried next.
const DEBIAN_BINARY: &str = "/usr/bin/prometheus-alertmanager";
/// Bound on Alertmanager becoming ready; it takes well under a second here.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Ports tried when another process takes the free one first.
const START_ATTEMPTS: usize = 3;

const CONFIG: &str = "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n";

/// One running Alertmanager.
pub struct Alertmanager {
    /// Its base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
    dir: tempfile::TempDir,
}

impl Alertmanager {
    /// Starts one and waits until it is ready; `None` (after saying why) when the binary
    /// is absent and FLEETDECK_REQUIRE_SERVICES is not 1.
    pub fn start() -> Option<Alertmanager> {
        let Some(binary) = binary() else {
            let why = format!("no Alertmanager binary ({DEBIAN_BINARY} or `alertmanager` on PATH)");
            if std::env::var("FLEETDECK_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!("FLEETDECK_REQUIRE_SERVICES=1 but {why}");
            }
            eprintln!("skipping: {why} (set FLEETDECK_REQUIRE_SERVICES=1 to fail instead)");
            return None;
        };
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            match try_start(&binary) {
                Ok(am) => return Some(am),
                Err(e) => last = e,
            }
        }
        panic!("Alertmanager did not start: {last}");
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        // By PID: this child only.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> Option<PathBuf> {
    let debian = PathBuf::from(DEBIAN_BINARY);
    if debian.is_file() {
        return Some(debian);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("alertmanager"))
            .find(|p| p.is_file())
    })
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free loopback port");
    listener.local_addr().expect("its address").port()
}

fn try_start(binary: &PathBuf) -> Result<Alertmanager, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = dir.path().join("alertmanager.yml");
    std::fs::write(&config, CONFIG).map_err(|e| e.to_string())?;
    let storage = dir.path().join("data");
    let log = std::fs::File::create(dir.path().join("log")).map_err(|e| e.to_string())?;
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", storage.display()))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--cluster.listen-address=")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
            return Err(format!("exited with {status}:\n{log}"));
        }
        if ready(addr) {
            return Ok(Alertmanager {
                url: format!("http://{addr}"),
                child,
                dir,
            });
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
            return Err(format!("not ready after {READY_TIMEOUT:?}:\n{log}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// True when `GET /-/ready` answers 200.
fn ready(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /-/ready HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b" 200")
}
