//! The console and a real Alertmanager: `S` in the terminal makes an Alertmanager silence
//! that matches the alert exactly; a silence made in Alertmanager shows the alert it
//! covers as silenced; silences expired there end on screen. Alertmanager is started by
//! the test on a free loopback port (skipped without the binary unless
//! FLEETDECK_REQUIRE_SERVICES=1); the console is the real binary on a pseudo-terminal
//! following sim agents served in this process. The App-level tests drive the same calls
//! the run loop makes, against an Alertmanager that is not there and a read-only console.

#![allow(clippy::unwrap_used)]

use crate::support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::alerts::{AlertState, default_rules};
use fleetdeck::app::{Action, App, Effect};
use fleetdeck::fixtures::{self, FIXTURE_TIME_UNIX_MS};
use fleetdeck::model::AgentUpdate;
use fleetdeck::notify::silences;
use fleetdeck::notify::{HttpTarget, NotifyConfig, NotifySettings};
use fleetdeck_agent::model::{ContainerState, HealthState};
use fleetdeck_agent::{AgentConfig, RunningAgent, bind, spawn};
use fleetdeck_proto as pb;
use fleetdeck_proto::agent_client::AgentClient;
use serde_json::{Value, json};
use support::alertmanager::{self, Alertmanager};
use support::pty::Pty;

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");
/// Bound on anything showing, so a broken build fails instead of hanging. A silence
/// expired in Alertmanager shows at the next list, at most 15 s on.
const SHOW: Duration = Duration::from_secs(40);
const RULE: &str = "health-check-failing";

/// Only the health check rule, with a short `for`: the alert pane holds what the test does.
fn config(alertmanager: &str) -> String {
    let mut text = format!("[notify]\nalertmanager = [\"{alertmanager}\"]\n");
    text.push_str(&format!(
        "\n[[alerts.rules]]\nname = \"{RULE}\"\nfor = \"1s\"\n"
    ));
    for name in default_rules()
        .iter()
        .map(|r| r.name.clone())
        .filter(|n| n != RULE)
    {
        text.push_str(&format!(
            "\n[[alerts.rules]]\nname = \"{name}\"\nenabled = false\n"
        ));
    }
    text
}

fn start_agent(rt: &tokio::runtime::Runtime, id: &str, state: &std::path::Path) -> RunningAgent {
    let config = AgentConfig {
        containers: 4,
        sim_faults: false,
        sample_interval: Duration::from_millis(250),
        state_dir: Some(state.to_path_buf()),
        ..AgentConfig::sim(id, 7)
    };
    rt.block_on(async {
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        spawn(config, listener).await.unwrap()
    })
}

/// A running container with a health check on `agent`.
fn healthy_container(agent: &RunningAgent) -> String {
    agent
        .snapshot()
        .containers
        .iter()
        .find(|c| c.status.state == ContainerState::Running && c.status.health != HealthState::None)
        .map(|c| c.spec.name.clone())
        .expect("a running container with a health check")
}

/// Makes `container`'s health check fail, through the agent's real `Act`.
fn make_unhealthy(rt: &tokio::runtime::Runtime, addr: SocketAddr, container: &str) {
    let req = pb::ActRequest {
        action_id: format!("am-silences-{}-{container}", std::process::id()),
        requested_by: "am silences test".into(),
        action: Some(pb::act_request::Action::SimFault(pb::SimFault {
            kind: pb::sim_fault::Kind::Unhealthy as i32,
            container: container.into(),
            duration_secs: 0,
        })),
        ..Default::default()
    };
    rt.block_on(async {
        let mut client = AgentClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
        let mut stream = client.act(req).await.unwrap().into_inner();
        let mut last = None;
        while let Some(m) = stream.message().await.unwrap() {
            last = Some(m);
        }
        assert!(
            matches!(
                last.and_then(|m| m.result),
                Some(pb::act_progress::Result::Done(_))
            ),
            "the fault was refused"
        );
    });
}

/// Alertmanager's v2 API, as a test client.
struct Api<'a> {
    rt: &'a tokio::runtime::Runtime,
    url: &'a str,
    http: reqwest::Client,
}

impl Api<'_> {
    fn silences(&self) -> Vec<Value> {
        self.rt.block_on(async {
            let r = self
                .http
                .get(format!("{}/api/v2/silences", self.url))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            r.json::<Vec<Value>>().await.unwrap()
        })
    }

    fn active(&self) -> Vec<Value> {
        self.silences()
            .into_iter()
            .filter(|s| s["status"]["state"] == "active")
            .collect()
    }

    fn create(&self, body: Value) -> String {
        self.rt.block_on(async {
            let r = self
                .http
                .post(format!("{}/api/v2/silences", self.url))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
            let v: Value = r.json().await.unwrap();
            v["silenceID"].as_str().unwrap().to_string()
        })
    }

    fn expire(&self, id: &str) {
        self.rt.block_on(async {
            let r = self
                .http
                .delete(format!("{}/api/v2/silence/{id}", self.url))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
        });
    }
}

fn rfc3339_in(d: Duration) -> String {
    (chrono::Utc::now() + chrono::Duration::from_std(d).unwrap())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The matchers of a listed silence, as (name, value, isRegex, isEqual), sorted.
fn matchers(silence: &Value) -> Vec<(String, String, bool, bool)> {
    let mut out: Vec<_> = silence["matchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["value"].as_str().unwrap().to_string(),
                m["isRegex"].as_bool().unwrap(),
                m["isEqual"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    out.sort();
    out
}

fn line_with<'s>(screen: &'s str, words: &[&str]) -> Option<&'s str> {
    screen.lines().find(|l| words.iter().all(|w| l.contains(w)))
}

#[test]
fn silences_go_both_ways_between_the_console_and_alertmanager() {
    if !alertmanager::available("silences_go_both_ways_between_the_console_and_alertmanager") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let am = rt.block_on(Alertmanager::start());
    let am_url = am.url();
    // The console's own client set-up (its TLS provider), for the test's calls too.
    let http = targets(&am_url).remove(0).client;
    let api = Api {
        rt: &rt,
        url: &am_url,
        http,
    };
    let state = tempfile::tempdir().unwrap();
    let one = start_agent(&rt, "node-01", &state.path().join("1"));
    let two = start_agent(&rt, "node-02", &state.path().join("2"));
    let (a, b) = (healthy_container(&one), healthy_container(&two));

    // Someone silences node-02's failing health checks in Alertmanager before the console
    // starts, with a regex matcher.
    let theirs = api.create(json!({
        "matchers": [
            {"name": "alertname", "value": RULE, "isRegex": false, "isEqual": true},
            {"name": "node", "value": "node-02", "isRegex": false, "isEqual": true},
            {"name": "container", "value": ".+", "isRegex": true, "isEqual": true},
        ],
        "startsAt": rfc3339_in(Duration::ZERO),
        "endsAt": rfc3339_in(Duration::from_secs(3600)),
        "createdBy": "bob@noc",
        "comment": "disk swap on node-02",
    }));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fleetdeck.toml");
    std::fs::write(&path, config(&am_url)).unwrap();
    let args = [
        BIN,
        "--config",
        path.to_str().unwrap(),
        "--agent",
        &one.addr().to_string(),
        "--agent",
        &two.addr().to_string(),
    ];
    let term = Pty::start(&args, 160, 45);
    term.wait_for("two live nodes", SHOW, |s| {
        s.matches(" live").count() >= 2 && s.contains("node-02")
    });

    // node-01's container fails its health check: the only alert; `S` on it, 15m.
    make_unhealthy(&rt, one.addr(), &a);
    let mine = format!("node-01/{a}");
    term.wait_for("node-01's alert firing", SHOW, |s| {
        line_with(s, &["firing", "health check failing", &mine]).is_some()
    });
    term.send(&["Tab", "Tab", "g", "S"]);
    term.wait_for("the silence prompt", SHOW, |s| s.contains("Silence"));
    term.send(&["Enter"]);
    let screen = term.wait_for("made in Alertmanager too", SHOW, |s| {
        s.contains("silenced in Alertmanager too")
    });
    assert!(
        line_with(&screen, &[&mine, "SILENCED"]).is_some(),
        "{screen}"
    );

    // Alertmanager holds an active silence whose matchers are the alert's labels.
    let made: Vec<Value> = api
        .active()
        .into_iter()
        .filter(|s| s["id"] != theirs.as_str())
        .collect();
    assert_eq!(made.len(), 1, "{made:?}");
    let expected = vec![
        ("alertname".to_string(), RULE.to_string(), false, true),
        ("container".to_string(), a.clone(), false, true),
        ("node".to_string(), "node-01".to_string(), false, true),
    ];
    assert_eq!(matchers(&made[0]), expected);
    let by = made[0]["createdBy"].as_str().unwrap();
    assert!(by.contains('@') && !by.starts_with('@'), "{by}");
    assert!(
        made[0]["comment"]
            .as_str()
            .unwrap()
            .contains("fleetdeck console"),
        "{made:?}"
    );
    let ours = made[0]["id"].as_str().unwrap().to_string();

    // node-02's container fails too: Alertmanager's silence covers it the moment it shows.
    make_unhealthy(&rt, two.addr(), &b);
    let covered = format!("node-02/{b}");
    let screen = term.wait_for("node-02's alert, silenced in Alertmanager", SHOW, |s| {
        line_with(s, &["firing", &covered, "SILENCED in Alertmanager"]).is_some()
    });
    assert!(screen.contains("2 silenced"), "{screen}");
    assert!(screen.contains("0 warning"), "{screen}");
    // The alert view says who silenced it there, until when and why.
    term.send(&["a", "j"]);
    term.wait_for("who silenced node-02's alert", SHOW, |s| {
        s.contains(&format!("where     {covered}"))
            && s.contains("silenced by bob@noc until")
            && s.contains("disk swap on node-02")
    });

    // Both silences are expired in Alertmanager: both alerts count again on screen.
    api.expire(&theirs);
    api.expire(&ours);
    let screen = term.wait_for("both alerts unsilenced", SHOW, |s| {
        s.contains("2 warning") && s.contains("0 silenced")
    });
    for at in [&mine, &covered] {
        let line = line_with(&screen, &["firing", at]).unwrap();
        assert!(!line.contains("SILENCED"), "{line}");
    }
    assert!(api.active().is_empty());

    term.send(&["q"]);
    assert_eq!(term.exit_status(SHOW), Some(0));
}

/// Alertmanager at `url` as the console's settings resolve it.
fn targets(url: &str) -> Vec<HttpTarget> {
    let config = NotifyConfig {
        alertmanager: vec![url.to_string()],
        ..NotifyConfig::default()
    };
    NotifySettings::resolve(&config, &[], None)
        .unwrap()
        .alertmanagers
}

/// A console on the fixture fleet whose node-01 is down long enough to fire.
fn app_with_lost_node(alertmanager: &str) -> (App, Vec<HttpTarget>, Instant) {
    let t0 = Instant::now();
    let mut app = App::new(fixtures::fleet(3, 4, t0), t0);
    app.set_clock(t0, FIXTURE_TIME_UNIX_MS);
    app.title = "test".into();
    app.set_alert_rules(default_rules());
    let targets = targets(alertmanager);
    app.use_alertmanagers(
        targets.iter().map(|t| t.url.to_string()).collect(),
        "tester@here".into(),
    );
    app.update(Action::Agent(AgentUpdate::Down {
        slot: 1,
        reason: "connection refused".into(),
    }));
    (app, targets, t0)
}

fn at(app: &mut App, t0: Instant, secs: u64) {
    app.set_clock(
        t0 + Duration::from_secs(secs),
        FIXTURE_TIME_UNIX_MS + secs * 1000,
    );
    app.update(Action::Tick);
}

fn press(app: &mut App, code: KeyCode) {
    app.update(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

/// Does what the run loop does with the silence effects, and feeds the answers back.
fn run_effects(app: &mut App, rt: &tokio::runtime::Runtime, targets: &[HttpTarget]) -> usize {
    let mut n = 0;
    loop {
        let effects = app.take_effects();
        if effects.is_empty() {
            return n;
        }
        for effect in effects {
            n += 1;
            run_effect(app, rt, targets, effect);
        }
    }
}

fn run_effect(app: &mut App, rt: &tokio::runtime::Runtime, targets: &[HttpTarget], effect: Effect) {
    {
        let action = match effect {
            Effect::CreateSilence { key, silence } => rt.block_on(async {
                Action::SilenceCreated {
                    key,
                    results: silences::create_everywhere(targets, &silence).await,
                }
            }),
            Effect::ListSilences { asked } => rt.block_on(async {
                Action::SilencesListed {
                    asked,
                    results: silences::poll_everywhere(targets).await,
                }
            }),
            other => panic!("unexpected effect {other:?}"),
        };
        app.update(action);
    }
}

#[test]
fn an_unreachable_alertmanager_costs_one_status_line_and_the_silence_holds_here() {
    // A loopback port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut app, targets, t0) = app_with_lost_node(&format!("http://127.0.0.1:{port}"));
    at(&mut app, t0, 1);
    assert_eq!(run_effects(&mut app, &rt, &targets), 1, "the first list");
    let (said, when) = app.status.clone().unwrap();
    assert!(
        said.contains("silences made in Alertmanager may not show")
            && said.contains(&format!("127.0.0.1:{port}")),
        "{said}"
    );
    // The next lists come on the poll cadence, fail the same way, and say nothing new.
    at(&mut app, t0, 10);
    assert_eq!(run_effects(&mut app, &rt, &targets), 0, "not due yet");
    at(&mut app, t0, 17);
    assert_eq!(run_effects(&mut app, &rt, &targets), 1, "due again");
    assert!(
        app.status.is_none(),
        "said once, at {when:?}, not again: {:?}",
        app.status
    );

    // The unreachable alert fires; `S` silences it here and says the pages go on.
    at(&mut app, t0, 60);
    run_effects(&mut app, &rt, &targets);
    press(&mut app, KeyCode::Char('a'));
    app.refresh();
    let alert = app.selected_alert().unwrap().clone();
    assert_eq!(
        (alert.rule.as_str(), alert.state),
        ("node-unreachable", AlertState::Firing)
    );
    press(&mut app, KeyCode::Char('S'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(run_effects(&mut app, &rt, &targets), 2, "create, then list");
    let said = app.status_message().unwrap().to_string();
    assert!(
        said.starts_with("silenced here only, pages still go out: Alertmanager: cannot reach"),
        "{said}"
    );
    app.refresh();
    assert!(app.alerts.silence(&alert.key).unwrap().links.is_empty());
    assert_eq!(app.alerts.counts().silenced, 1);
    assert_eq!(app.alerts.counts().critical, 0);
}

#[test]
fn a_read_only_console_makes_no_silence_anywhere() {
    let (mut app, _targets, t0) = app_with_lost_node("http://127.0.0.1:9");
    app.read_only = true;
    at(&mut app, t0, 60);
    let listed = app.take_effects();
    assert!(
        !listed.is_empty(),
        "a read-only console still lists silences"
    );
    assert!(
        listed
            .iter()
            .all(|e| matches!(e, Effect::ListSilences { .. })),
        "it lists silences, nothing else: {listed:?}"
    );
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Char('S'));
    press(&mut app, KeyCode::Enter);
    assert!(app.take_effects().is_empty());
    assert_eq!(app.alerts.counts().silenced, 0);
    assert!(app.status_message().unwrap().contains("read-only"));
}
