//! Exec on sim nodes through the console's client API (`client::exec`), against a real
//! agent on loopback: the built-in shell's commands and exit codes, stdin, a TTY session
//! with line editing, and the refusals a user sees as one line.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use std::time::Duration;

use fleetdeck::client::exec::{self, ExecIn, ExecOut, ExecRequest, ExecSession};
use fleetdeck::client::{CONNECT_TIMEOUT, Connections, Credentials};
use fleetdeck_agent::{AgentConfig, RunningAgent, bind, spawn};

/// Longest a session may take before the test calls it hung.
const SESSION_BOUND: Duration = Duration::from_secs(20);

pub async fn sim_agent(dir: &std::path::Path, name: &str) -> RunningAgent {
    let config = AgentConfig {
        containers: 6,
        sim_faults: false,
        state_dir: Some(dir.join(name)),
        ..AgentConfig::sim(name.to_string(), 7)
    };
    let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
    spawn(config, listener).await.unwrap()
}

/// The names of the running containers on `agent`.
pub fn running_containers(agent: &RunningAgent) -> Vec<String> {
    agent
        .snapshot()
        .containers
        .iter()
        .filter(|c| c.status.state.is_up())
        .map(|c| c.spec.name.clone())
        .collect()
}

/// The name of a running container on `agent`.
pub fn running_container(agent: &RunningAgent) -> String {
    running_containers(agent)
        .into_iter()
        .next()
        .expect("a running container")
}

fn request(container: &str, command: &[&str], tty: bool, stdin: bool) -> ExecRequest {
    ExecRequest {
        container: container.to_owned(),
        command: command.iter().map(|s| (*s).to_owned()).collect(),
        tty,
        stdin,
        rows: 24,
        cols: 80,
    }
}

async fn open(agent: &RunningAgent, req: ExecRequest) -> Result<ExecSession, exec::ExecError> {
    let conns = Connections::new(Credentials::default(), CONNECT_TIMEOUT);
    exec::open(&conns, agent.node_id(), &agent.addr().to_string(), req).await
}

/// Everything a session sends until its last message: (stdout, stderr, last).
async fn drain(session: &mut ExecSession) -> (String, String, ExecOut) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    loop {
        let next = tokio::time::timeout(SESSION_BOUND, session.output.recv())
            .await
            .expect("the session answers")
            .expect("the session ends with Exit or Failed");
        match next {
            ExecOut::Stdout(b) => out.extend(b),
            ExecOut::Stderr(b) => err.extend(b),
            last => {
                return (
                    String::from_utf8_lossy(&out).into_owned(),
                    String::from_utf8_lossy(&err).into_owned(),
                    last,
                );
            }
        }
    }
}

/// Reads stdout until it holds `wanted`; returns all read.
async fn read_until(session: &mut ExecSession, wanted: &str) -> String {
    let mut seen = Vec::new();
    loop {
        let next = tokio::time::timeout(SESSION_BOUND, session.output.recv())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no `{wanted}` in {:?}",
                    String::from_utf8_lossy(&seen).into_owned()
                )
            });
        match next {
            Some(ExecOut::Stdout(b)) => seen.extend(b),
            other => panic!(
                "waiting for `{wanted}` after {:?}, got {other:?}",
                String::from_utf8_lossy(&seen)
            ),
        }
        let text = String::from_utf8_lossy(&seen).into_owned();
        if text.contains(wanted) {
            return text;
        }
    }
}

#[tokio::test]
async fn a_script_prints_and_exits_with_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let agent = sim_agent(dir.path(), "exec-a").await;
    let c = running_container(&agent);
    let mut s = open(
        &agent,
        request(&c, &["sh", "-c", "echo hi; exit 7"], false, false),
    )
    .await
    .unwrap();
    let (out, err, last) = drain(&mut s).await;
    assert_eq!(
        (out.as_str(), err.as_str(), last),
        ("hi\n", "", ExecOut::Exit(7))
    );

    // The volume files are there to read; an unknown command is the shell's 127 on stderr.
    let mut with_files = None;
    for c in running_containers(&agent) {
        let mut s = open(
            &agent,
            request(&c, &["sh", "-c", "ls /; nosuch"], false, false),
        )
        .await
        .unwrap();
        let (out, err, last) = drain(&mut s).await;
        assert!(err.contains("nosuch: not found"), "{err}");
        assert_eq!(last, ExecOut::Exit(127));
        if let Some(volume) = out.lines().next() {
            with_files = Some((c, volume.to_owned()));
            break;
        }
    }
    let (c, volume) = with_files.expect("a running container with a volume");
    let mut s = open(
        &agent,
        request(
            &c,
            &["cat", &format!("/{volume}/VERSION"), "/../../etc/passwd"],
            false,
            false,
        ),
    )
    .await
    .unwrap();
    let (out, err, last) = drain(&mut s).await;
    assert!(out.starts_with(&format!("{volume} of container")), "{out}");
    assert!(
        err.contains("No such file"),
        "outside the volumes is not reachable: {err}"
    );
    assert_eq!(last, ExecOut::Exit(1));
    agent.shutdown().await;
}

#[tokio::test]
async fn stdin_reaches_the_command_until_it_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let agent = sim_agent(dir.path(), "exec-i").await;
    let c = running_container(&agent);
    let mut s = open(&agent, request(&c, &["cat"], false, true))
        .await
        .unwrap();
    s.input
        .send(ExecIn::Stdin(b"one\ntwo\n".to_vec()))
        .await
        .unwrap();
    s.input.send(ExecIn::CloseStdin).await.unwrap();
    let (out, _, last) = drain(&mut s).await;
    assert_eq!((out.as_str(), last), ("one\ntwo\n", ExecOut::Exit(0)));
    agent.shutdown().await;
}

#[tokio::test]
async fn a_tty_shell_edits_lines_and_exits_on_ctrl_d() {
    let dir = tempfile::tempdir().unwrap();
    let agent = sim_agent(dir.path(), "exec-t").await;
    let c = running_container(&agent);
    let mut s = open(&agent, request(&c, &["/bin/sh"], true, true))
        .await
        .unwrap();
    read_until(&mut s, ":/# ").await;
    // A typo rubbed out with backspace.
    s.input
        .send(ExecIn::Stdin(b"echo hx\x7fi\r".to_vec()))
        .await
        .unwrap();
    let screen = read_until(&mut s, "hi\r\n").await;
    assert!(
        screen.contains("\x08 \x08"),
        "backspace is echoed: {screen:?}"
    );
    read_until(&mut s, ":/# ").await;
    // Ctrl-c drops the line being typed; the shell stays.
    s.input
        .send(ExecIn::Stdin(b"exit 3\x03".to_vec()))
        .await
        .unwrap();
    read_until(&mut s, "^C").await;
    s.input
        .send(ExecIn::Resize {
            rows: 50,
            cols: 132,
        })
        .await
        .unwrap();
    s.input
        .send(ExecIn::Stdin(b"env\r".to_vec()))
        .await
        .unwrap();
    read_until(&mut s, &format!("HOSTNAME={c}")).await;
    s.input.send(ExecIn::Stdin(vec![0x04])).await.unwrap();
    let (_, _, last) = drain(&mut s).await;
    assert_eq!(last, ExecOut::Exit(0), "Ctrl-d leaves with the last status");
    agent.shutdown().await;
}

#[tokio::test]
async fn refusals_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let agent = sim_agent(dir.path(), "exec-r").await;
    let c = running_container(&agent);
    let mut big = request(&c, &["sh"], true, false);
    big.rows = 5000;
    let cases = [
        (request("no-such-box", &["sh"], false, false), "no-such-box"),
        (request(&c, &[], false, false), "needs a command"),
        (
            request("../etc", &["sh"], false, false),
            "not a container id or name",
        ),
        (big, "terminal size"),
    ];
    for (req, wanted) in cases {
        let e = open(&agent, req).await.unwrap_err().to_string();
        assert!(e.contains(wanted) && !e.contains('\n'), "{e}");
        assert!(e.starts_with("exec-r: "), "names the node: {e}");
    }
    let e = exec::open(
        &Connections::new(Credentials::default(), CONNECT_TIMEOUT),
        "n",
        "not an address",
        request(&c, &["sh"], false, false),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, exec::ExecError::Address(_)), "{e}");
    agent.shutdown().await;
}
