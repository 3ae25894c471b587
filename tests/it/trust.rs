//! Trust end to end: real agents with TLS, mutual TLS, CRLs and tokens on loopback, reached
//! by the console's own client code. Each refusal is checked on the wire (code and message)
//! and in the agent's audit log.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use crate::support::pki;

use std::path::{Path, PathBuf};
use std::time::Duration;

use fleetdeck::client::credentials::ClientTls;
use fleetdeck::client::{AgentAddr, AgentConn, Credentials, connect_with, fetch_snapshot_with};
use fleetdeck_agent::auth::{Role, tokens};
use fleetdeck_agent::config::SecurityConfig;
use fleetdeck_agent::tls::TlsFiles;
use fleetdeck_agent::{AgentConfig, RunningAgent};
use fleetdeck_proto as pb;
use pki::Pki;

const PATIENCE: Duration = Duration::from_secs(10);

struct Setup {
    agent: RunningAgent,
    state: PathBuf,
    pki: Pki,
    _dir: tempfile::TempDir,
}

async fn start(node: &str, mtls: bool, tokens: &[(&str, Role)]) -> (Setup, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path());
    let state = dir.path().join("state");
    let made = tokens
        .iter()
        .map(|(name, role)| tokens::create(&state.join("tokens.toml"), name, *role).unwrap())
        .collect();
    let mut config = AgentConfig::sim(node, 7);
    config.sim_faults = false;
    config.containers = 4;
    config.sample_interval = Duration::from_millis(100);
    config.state_dir = Some(state.clone());
    config.security = SecurityConfig {
        tls: Some(TlsFiles {
            cert: pki.server_cert.clone(),
            key: pki.server_key.clone(),
            client_ca: mtls.then(|| pki.ca.clone()),
            crls: if mtls { vec![pki.crl.clone()] } else { vec![] },
        }),
        tokens_file: None,
        insecure: false,
        no_tokens: false,
    };
    let listener = fleetdeck_agent::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let agent = fleetdeck_agent::spawn(config, listener).await.unwrap();
    (
        Setup {
            agent,
            state,
            pki,
            _dir: dir,
        },
        made,
    )
}

impl Setup {
    fn addr(&self) -> AgentAddr {
        self.agent.addr().to_string().parse().unwrap()
    }

    fn tls(&self, client: Option<&(PathBuf, PathBuf)>) -> Credentials {
        Credentials::none().with_tls(ClientTls {
            ca_pem: std::fs::read(&self.pki.ca).unwrap(),
            identity: client.map(|(c, k)| (std::fs::read(c).unwrap(), std::fs::read(k).unwrap())),
            server_name: None,
        })
    }

    fn audit(&self) -> Vec<serde_json::Value> {
        audit_lines(&self.state)
    }
}

fn audit_lines(state: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(state.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn stop(id: &str) -> pb::ActRequest {
    pb::ActRequest {
        action_id: id.into(),
        requested_by: "test".into(),
        action: Some(pb::act_request::Action::Container(pb::ContainerAction {
            verb: pb::container_action::Verb::Stop as i32,
            container: "no-such-container".into(),
        })),
        ..Default::default()
    }
}

async fn conn(s: &Setup, creds: &Credentials) -> AgentConn {
    connect_with(&s.addr(), PATIENCE, creds).await.unwrap()
}

/// The Act call's status code and message, or "ok" once its stream ends with a result.
async fn try_act(c: &mut AgentConn, req: pb::ActRequest) -> (tonic::Code, String) {
    match c.act(req).await {
        Err(s) => (s.code(), s.message().to_owned()),
        Ok(r) => {
            let mut stream = r.into_inner();
            while let Some(m) = stream.message().await.unwrap() {
                if m.result.is_some() {
                    return (tonic::Code::Ok, format!("{:?}", m.result));
                }
            }
            (tonic::Code::Ok, String::new())
        }
    }
}

#[tokio::test]
async fn tokens_and_roles_are_checked_on_every_call_and_refusals_audited() {
    let (s, made) = start(
        "t1",
        false,
        &[("wall", Role::Viewer), ("ops", Role::Operator)],
    )
    .await;
    let (wall, ops) = (&made[0], &made[1]);
    let tls = s.tls(None);

    // No token: reads and actions are refused; the action attempt is audited.
    let err = fetch_snapshot_with(&s.addr(), "t", PATIENCE, &tls)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("a token is required"), "{err}");
    let mut anon = conn(&s, &tls).await;
    let (code, msg) = try_act(&mut anon, stop("a0")).await;
    assert_eq!(code, tonic::Code::Unauthenticated, "{msg}");

    // A wrong token.
    let wrong = tls.clone().with_token("fdk_0000").unwrap();
    let err = fetch_snapshot_with(&s.addr(), "t", PATIENCE, &wrong)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not valid"), "{err}");

    // The wall's viewer token reads, but cannot act, whatever its binary sends.
    let viewer = tls.clone().with_token(wall).unwrap();
    let (_, _, snap) = fetch_snapshot_with(&s.addr(), "wall", PATIENCE, &viewer)
        .await
        .unwrap();
    assert_eq!(snap.containers.len(), 4);
    let mut v = conn(&s, &viewer).await;
    let (code, msg) = try_act(&mut v, stop("a1")).await;
    assert_eq!(code, tonic::Code::PermissionDenied);
    assert!(
        msg.contains("needs role operator") && msg.contains("token:wall has role viewer"),
        "{msg}"
    );
    let info = v
        .get_info(pb::GetInfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(!info.insecure, "TLS and tokens: not insecure");

    // The operator acts; the audit line names it.
    let operator = tls.clone().with_token(ops).unwrap();
    let mut o = conn(&s, &operator).await;
    let (code, msg) = try_act(&mut o, stop("a2")).await;
    assert_eq!(code, tonic::Code::Ok, "{msg}");
    assert!(msg.contains("no container"), "{msg}");

    let audit = s.audit();
    let by_id = |id: &str| audit.iter().find(|l| l["action_id"] == id).unwrap().clone();
    let unauth = audit
        .iter()
        .find(|l| l["action"] == "rpc:/fleetdeck.v1.Agent/Act")
        .expect("the tokenless action attempt is audited");
    assert_eq!(unauth["outcome"]["result"], "refused");
    assert!(unauth["caller"]["identity"].is_null());
    let denied = by_id("a1");
    assert_eq!(denied["outcome"]["result"], "refused");
    assert_eq!(denied["outcome"]["kind"], "denied");
    assert_eq!(denied["caller"]["identity"], "token:wall");
    assert_eq!(denied["caller"]["role"], "viewer");
    assert_eq!(denied["action"], "container.stop");
    let done = by_id("a2");
    assert_eq!(done["caller"]["identity"], "token:ops");
    assert_eq!(done["caller"]["role"], "operator");
    assert_eq!(done["outcome"]["result"], "error");

    // Revoking applies to the running agent at once.
    tokens::revoke(&s.state.join("tokens.toml"), "ops").unwrap();
    let mut o = conn(&s, &operator).await;
    let (code, msg) = try_act(&mut o, stop("a3")).await;
    assert_eq!(code, tonic::Code::Unauthenticated, "{msg}");
    s.agent.shutdown().await;
}

#[tokio::test]
async fn plaintext_to_a_tls_agent_fails_with_a_clear_reason() {
    let (s, _) = start("t2", false, &[]).await;
    let err = fetch_snapshot_with(&s.addr(), "t", PATIENCE, &Credentials::none())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("may require TLS"), "{err}");
    assert!(!err.contains('\n'));
    // The right CA, no token needed on a loopback agent without tokens: served.
    let (_, _, snap) = fetch_snapshot_with(&s.addr(), "t", PATIENCE, &s.tls(None))
        .await
        .unwrap();
    assert_eq!(snap.containers.len(), 4);
    s.agent.shutdown().await;
}

#[tokio::test]
async fn mutual_tls_refuses_missing_expired_revoked_and_foreign_certificates() {
    let (s, _) = start("t3", true, &[]).await;
    let (_, _, snap) = fetch_snapshot_with(&s.addr(), "t", PATIENCE, &s.tls(Some(&s.pki.client)))
        .await
        .unwrap();
    assert_eq!(snap.containers.len(), 4);
    let mut good = conn(&s, &s.tls(Some(&s.pki.client))).await;
    let (code, msg) = try_act(&mut good, stop("m1")).await;
    assert_eq!(code, tonic::Code::Ok, "{msg}");

    for (who, creds) in [
        ("no certificate", s.tls(None)),
        ("expired", s.tls(Some(&s.pki.expired))),
        ("revoked", s.tls(Some(&s.pki.revoked))),
        ("foreign CA", s.tls(Some(&s.pki.stranger))),
    ] {
        let r = fetch_snapshot_with(&s.addr(), "t", PATIENCE, &creds).await;
        let err = r
            .err()
            .unwrap_or_else(|| panic!("{who} was let in"))
            .to_string();
        if who == "no certificate" {
            // Whether the agent's alert is read or it is seen only hanging up, the reason
            // says what to set.
            assert!(
                err.contains("client certificate; set `client_cert` and `client_key`"),
                "{err}"
            );
        }
    }
    let audit = s.audit();
    let ok = audit.iter().find(|l| l["action_id"] == "m1").unwrap();
    assert_eq!(ok["caller"]["identity"], "cert:CN=ops-laptop");
    let handshakes: Vec<String> = audit
        .iter()
        .filter(|l| l["action"] == "tls.handshake")
        .map(|l| l["outcome"]["message"].as_str().unwrap().to_owned())
        .collect();
    let all = handshakes.join(" | ");
    assert!(handshakes.len() >= 4, "{all}");
    assert!(all.contains("expired"), "{all}");
    assert!(all.contains("Revoked"), "{all}");
    assert!(all.contains("UnknownIssuer"), "{all}");
    assert!(
        all.contains("NoCertificatesPresented") || all.contains("certificate"),
        "{all}"
    );
    s.agent.shutdown().await;
}

#[tokio::test]
async fn a_non_loopback_listener_needs_tls_and_caller_checks_or_insecure() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = AgentConfig::sim("t4", 1);
    config.state_dir = Some(dir.path().to_owned());
    // 0.0.0.0 is not loopback; bind port 0 so nothing real is exposed for long.
    let listener = fleetdeck_agent::bind("0.0.0.0:0".parse().unwrap())
        .await
        .unwrap();
    let e = fleetdeck_agent::spawn(config.clone(), listener)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("without TLS") && e.contains("--insecure"), "{e}");
    config.security.insecure = true;
    let listener = fleetdeck_agent::bind("0.0.0.0:0".parse().unwrap())
        .await
        .unwrap();
    let agent = fleetdeck_agent::spawn(config, listener).await.unwrap();
    let addr: AgentAddr = format!("127.0.0.1:{}", agent.addr().port())
        .parse()
        .unwrap();
    let (_, _, snap) = fetch_snapshot_with(&addr, "t", PATIENCE, &Credentials::none())
        .await
        .unwrap();
    assert!(
        snap.info.insecure,
        "the console learns the agent is insecure"
    );
    agent.shutdown().await;
}

/// `fleetdeck get nodes` as a user runs it, with `config` as its config file.
fn get_nodes(addr: &AgentAddr, config: &Path, token: Option<&str>) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fleetdeck"));
    cmd.args(["--agent", &addr.to_string(), "--config"])
        .arg(config)
        .args(["get", "nodes"])
        .env_remove("FLEETDECK_AGENTS")
        .env_remove("FLEETDECK_TOKEN");
    if let Some(t) = token {
        cmd.env("FLEETDECK_TOKEN", t);
    }
    cmd.output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_get_binary_reports_tls_and_token_problems_in_one_line() {
    let (s, made) = start("t5", false, &[("script", Role::Viewer)]).await;
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.toml");
    std::fs::write(&plain, "").unwrap();
    let out = get_nodes(&s.addr(), &plain, Some(&made[0]));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("may require TLS") && err.contains("`ca`"),
        "{err}"
    );

    let tls = dir.path().join("tls.toml");
    std::fs::write(&tls, format!("ca = {:?}\n", s.pki.ca.to_str().unwrap())).unwrap();
    let out = get_nodes(&s.addr(), &tls, None);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        err.contains("a token is required") && err.contains("FLEETDECK_TOKEN"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    let out = get_nodes(&s.addr(), &tls, Some(&made[0]));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("t5"), "{stdout}");

    // The same token from a token file named in the config.
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, &made[0]).unwrap();
    let with_file = dir.path().join("file.toml");
    std::fs::write(
        &with_file,
        format!(
            "ca = {:?}\ntoken_file = {:?}\n",
            s.pki.ca.to_str().unwrap(),
            token_file.to_str().unwrap()
        ),
    )
    .unwrap();
    let out = get_nodes(&s.addr(), &with_file, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s.agent.shutdown().await;
}
