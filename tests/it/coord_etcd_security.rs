//! Coordination through a real etcd that asks for credentials: one speaking TLS only and
//! requiring client certificates (CA, server and client certificates made at test time),
//! one with authentication on (a user whose role reads and writes the prefix only). The
//! real `fleetdeck` binary runs a coordinated migrate through `[coordination]` with `ca`,
//! `client_cert`, `client_key`, `username` and `password_file`; a wrong CA and a wrong
//! password are refused in one line, with a failing exit status, and nothing moves.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use fleetdeck_agent::NodeMode;

use crate::intents::{console_command, output};
use crate::support::etcd::{self, EtcdServer};
use crate::support::ops::{Cluster, running};
use crate::support::pki::Pki;

const PREFIX: &str = "/fleetdeck/";

/// `fleetdeck --config <home>/config.toml ARGS` on `agents` with `[coordination]` set to
/// `coordination`: (success, stdout, stderr).
async fn console(
    home: &Path,
    agents: &[String],
    coordination: &str,
    args: &[&str],
) -> (bool, String, String) {
    let config = home.join("config.toml");
    std::fs::write(&config, format!("[coordination]\n{coordination}")).unwrap();
    let mut argv = vec!["--config", config.to_str().unwrap()];
    argv.extend_from_slice(args);
    output(console_command(home, agents, &argv)).await
}

/// Migrates the first container of n1 to n2 through `coordination`.
async fn migrate(c: &Cluster, home: &Path, coordination: &str) -> (String, (bool, String, String)) {
    let name = running(c.nodes[0].agent())[0].0.clone();
    let args = [
        "migrate",
        name.as_str(),
        "--node",
        "n1",
        "--to",
        "n2",
        "--yes",
    ];
    let out = console(home, &c.endpoints(), coordination, &args).await;
    (name, out)
}

/// The refusal is one line naming the problem; nothing moved.
fn refused_in_one_line(c: &Cluster, name: &str, (ok, _, err): &(bool, String, String), says: &str) {
    assert!(!ok, "refused: {err}");
    let line = err.trim_end();
    assert_eq!(line.lines().count(), 1, "one line: {err}");
    assert!(line.contains(says), "{line}");
    assert!(
        running(c.nodes[0].agent()).iter().any(|(n, _)| n == name),
        "{name} still runs on n1"
    );
}

/// Every intent etcd holds under the prefix, read with the server's own credentials.
async fn recorded(server: &EtcdServer) -> Vec<fleetdeck::ops::intent::IntentInfo> {
    fleetdeck::coord::intents::list(&server.coord(PREFIX).etcd)
        .await
        .unwrap()
}

/// The migrate of `name` ran (`out`), under etcd's locks: n2 runs it, etcd recorded one
/// intent, done, and holds no lock any more.
async fn ran_through_etcd(
    c: &Cluster,
    server: &EtcdServer,
    name: &str,
    out: (bool, String, String),
) {
    let (ok, out, err) = out;
    assert!(ok, "{out}{err}");
    assert!(running(c.nodes[1].agent()).iter().any(|(n, _)| n == name));
    let list = recorded(server).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        (list[0].action.as_str(), list[0].state.as_str()),
        ("migrate", "done")
    );
    assert!(server.coord(PREFIX).held().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_coordinated_action_runs_through_etcd_with_client_certificates() {
    if !etcd::available("a_coordinated_action_runs_through_etcd_with_client_certificates") {
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let pki = Pki::new(certs.path());
    let tls = etcd::Tls {
        ca: pki.ca.clone(),
        client_cert: pki.client.0.clone(),
        client_key: pki.client.1.clone(),
    };
    let server = EtcdServer::start_tls(pki.dual.clone(), tls).await;
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    let home = tempfile::tempdir().unwrap();
    let good = server.settings(PREFIX, None);
    assert!(good.contains("https://") && good.contains("client_cert"));
    // Signed by another CA: the console does not trust etcd's certificate.
    let other = tempfile::tempdir().unwrap();
    let stranger = Pki::new(other.path());
    let wrong_ca = good.replace(&format!("{:?}", pki.ca), &format!("{:?}", stranger.ca));
    assert_ne!(wrong_ca, good);
    let (name, out) = migrate(&c, home.path(), &wrong_ca).await;
    refused_in_one_line(&c, &name, &out, "certificate");
    assert!(out.2.contains(&server.url()), "{}", out.2);
    // Without a client certificate etcd does not let the console in.
    let no_client: String = good
        .lines()
        .filter(|l| !l.starts_with("client_"))
        .map(|l| format!("{l}\n"))
        .collect();
    let (name, out) = migrate(&c, home.path(), &no_client).await;
    refused_in_one_line(&c, &name, &out, "cannot reach etcd");
    assert!(recorded(&server).await.is_empty());
    // With the CA and its client certificate it runs, under etcd's locks.
    let (name, out) = migrate(&c, home.path(), &good).await;
    ran_through_etcd(&c, &server, &name, out).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_coordinated_action_logs_in_to_etcd_with_a_password() {
    if !etcd::available("a_coordinated_action_logs_in_to_etcd_with_a_password") {
        return;
    }
    let mut server = EtcdServer::start().await;
    server
        .enable_auth("root-pass", "fleetdeck", "console-pass", PREFIX)
        .await;
    let c = Cluster::start(&[NodeMode::Active, NodeMode::Active], 4).await;
    let home = tempfile::tempdir().unwrap();
    let password = home.path().join("etcd.password");
    // Relative to the config file, as the README shows.
    let settings = server.settings(PREFIX, Some(Path::new("etcd.password")));
    assert!(settings.contains("username = \"fleetdeck\""), "{settings}");
    // Without credentials etcd refuses the console.
    let anonymous: String = server.settings(PREFIX, None);
    let (name, out) = migrate(&c, home.path(), &anonymous).await;
    refused_in_one_line(&c, &name, &out, "etcd refused the request");
    // A wrong password: the login is refused, in one line saying what to check.
    std::fs::write(&password, "not-the-password\n").unwrap();
    let (name, out) = migrate(&c, home.path(), &settings).await;
    refused_in_one_line(
        &c,
        &name,
        &out,
        "etcd refused the login of user `fleetdeck`",
    );
    assert!(out.2.contains("password_file"), "{}", out.2);
    assert!(!out.2.contains("not-the-password"), "{}", out.2);
    // The right one: the action runs under etcd's locks.
    std::fs::write(&password, "console-pass\n").unwrap();
    let (name, out) = migrate(&c, home.path(), &settings).await;
    ran_through_etcd(&c, &server, &name, out).await;
}
