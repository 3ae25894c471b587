//! A real etcd (Debian's `etcd-server`) for the tests: one member on free loopback ports
//! with a temporary data directory, killed (by its PID) when dropped or when a test
//! wants it gone mid-action.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fleetdeck::coord::{Coord, Etcd};

/// Where Debian installs it.
pub const BIN: &str = "/usr/bin/etcd";
/// Bound on etcd answering after it starts.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running etcd member.
pub struct EtcdServer {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    /// With TLS: the CA and the client certificate and key consoles use.
    tls: Option<Tls>,
    /// With authentication on: (user, password) of the console's user.
    login: Option<(String, String)>,
}

/// The files a console needs to reach an etcd that requires client certificates.
#[derive(Debug, Clone)]
pub struct Tls {
    pub ca: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// True when the tests may use etcd; false (with the reason printed) when the binary is
/// absent and the environment does not require it; panics when it does.
pub fn available(test: &str) -> bool {
    super::services::available(test, BIN, "etcd-server")
}

/// etcd settings as `[coordination] etcd = [url]` with `prefix` resolves them.
pub fn handle(url: &str, prefix: &str) -> Etcd {
    resolve(&format!("etcd = [\"{url}\"]\nprefix = \"{prefix}\""), None)
}

/// `[coordination]` written as `toml`, paths relative to `config` when given.
pub fn resolve(toml: &str, config: Option<&Path>) -> Etcd {
    let config_toml: fleetdeck::coord::CoordConfig = toml::from_str(toml).unwrap();
    fleetdeck::coord::config::resolve(&config_toml, &[], config)
        .unwrap()
        .unwrap()
}

impl EtcdServer {
    /// Starts one on free ports and waits until it answers.
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// Starts one that speaks TLS only with `cert` (and its key; good for serverAuth and
    /// clientAuth) and requires client certificates signed by `tls.ca`
    /// (`--client-cert-auth`); consoles use `tls`.
    pub async fn start_tls(cert: (PathBuf, PathBuf), tls: Tls) -> Self {
        Self::start_with(Some((cert, tls))).await
    }

    async fn start_with(tls: Option<((PathBuf, PathBuf), Tls)>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = super::services::free_port();
        let peer = super::services::free_port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let client_url = format!("{scheme}://127.0.0.1:{port}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let log = std::fs::File::create(dir.path().join("etcd.log")).unwrap();
        let mut cmd = Command::new(BIN);
        if let Some(((cert, key), t)) = &tls {
            // etcd's JSON gateway dials etcd itself with the server certificate, which
            // `--client-cert-auth` then checks as a client's: it must be good for both.
            cmd.arg(format!("--cert-file={}", cert.display()))
                .arg(format!("--key-file={}", key.display()))
                .arg(format!("--trusted-ca-file={}", t.ca.display()))
                .arg("--client-cert-auth");
        }
        let child = cmd
            .arg("--name=fleetdeck-test")
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=fleetdeck-test={peer_url}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let server = Self {
            child: Some(child),
            port,
            dir,
            tls: tls.map(|(_, t)| t),
            login: None,
        };
        server.wait_ready().await;
        server
    }

    /// `http://127.0.0.1:PORT` (`https` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The `[coordination]` settings a console reaching this etcd under `prefix` needs
    /// (its password in `password_file`, when authentication is on).
    pub fn settings(&self, prefix: &str, password_file: Option<&Path>) -> String {
        let mut out = format!("etcd = [\"{}\"]\nprefix = \"{prefix}\"\n", self.url());
        if let Some(t) = &self.tls {
            out.push_str(&format!(
                "ca = {:?}\nclient_cert = {:?}\nclient_key = {:?}\n",
                t.ca, t.client_cert, t.client_key
            ));
        }
        if let (Some((user, _)), Some(file)) = (&self.login, password_file) {
            out.push_str(&format!("username = {user:?}\npassword_file = {file:?}\n"));
        }
        out
    }

    /// A console's coordination through this etcd, under `prefix`.
    pub fn coord(&self, prefix: &str) -> Coord {
        let password = self.dir.path().join("console.password");
        if let Some((_, p)) = &self.login {
            std::fs::write(&password, p).unwrap();
        }
        Coord::new(resolve(&self.settings(prefix, Some(&password)), None))
    }

    /// Turns etcd's authentication on: `root` (password `root_password`) and `user`
    /// (`password`) with a role that reads and writes `prefix` only, made through the
    /// JSON gateway before auth is enabled.
    pub async fn enable_auth(
        &mut self,
        root_password: &str,
        user: &str,
        password: &str,
        prefix: &str,
    ) {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        // An HTTP client as the console builds them (reqwest carries no TLS provider).
        let config = fleetdeck::notify::NotifyConfig {
            alertmanager: vec![self.url()],
            ..Default::default()
        };
        let settings = fleetdeck::notify::NotifySettings::resolve(&config, &[], None).unwrap();
        let client = settings.alertmanagers[0].client.clone();
        let call = |path: &'static str, body: serde_json::Value| {
            let req = client.post(format!("{}/v3/{path}", self.url())).json(&body);
            async move {
                let resp = req.send().await.unwrap();
                let status = resp.status();
                let text = resp.text().await.unwrap();
                assert!(status.is_success(), "{path}: {status} {text}");
            }
        };
        call("auth/role/add", serde_json::json!({"name": "root"})).await;
        call(
            "auth/user/add",
            serde_json::json!({"name": "root", "password": root_password}),
        )
        .await;
        call(
            "auth/user/grant",
            serde_json::json!({"user": "root", "role": "root"}),
        )
        .await;
        call("auth/role/add", serde_json::json!({"name": user})).await;
        let end = fleetdeck::coord::etcd::prefix_end(prefix);
        call(
            "auth/role/grant",
            serde_json::json!({"name": user, "perm": {
                "permType": "READWRITE", "key": b64(prefix), "range_end": b64(&end)
            }}),
        )
        .await;
        call(
            "auth/user/add",
            serde_json::json!({"name": user, "password": password}),
        )
        .await;
        call(
            "auth/user/grant",
            serde_json::json!({"user": user, "role": user}),
        )
        .await;
        call("auth/enable", serde_json::json!({})).await;
        self.login = Some((user.to_owned(), password.to_owned()));
    }

    /// Its log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default()
    }

    /// Kills it like a crash (our own child, by its PID).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn wait_ready(&self) {
        let etcd = resolve(&self.settings("/ready/", None), None);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match etcd.range_prefix("/ready/").await {
                Ok(_) => return,
                Err(e) => assert!(
                    Instant::now() < deadline,
                    "etcd not ready on port {}: {e}\n{}",
                    self.port,
                    self.log()
                ),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.kill();
    }
}
