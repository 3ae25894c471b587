//! The run loop's exec link (`tui_exec::ExecLink`) against a real sim agent on loopback:
//! what is typed while the session opens is kept and sent once it is open, output comes
//! back as the pane's events and ends with the exit code, and a refusal is one line.

use std::time::Duration;

use fleetdeck::app::ExecEvent;
use fleetdeck::client::exec::{ExecIn, ExecRequest};
use fleetdeck::client::{CONNECT_TIMEOUT, Connections, Credentials};
use fleetdeck::tui_exec::ExecLink;

use crate::exec_sim::{running_container, sim_agent};

/// Longest the link may take to report before the test calls it hung.
const BOUND: Duration = Duration::from_secs(20);

fn shell(container: &str) -> ExecRequest {
    ExecRequest {
        container: container.to_owned(),
        command: vec!["/bin/sh".into()],
        tty: true,
        stdin: true,
        rows: 24,
        cols: 80,
    }
}

/// Events until the session's exit or failure (inclusive).
async fn until_end(link: &mut ExecLink) -> Vec<ExecEvent> {
    let mut all = Vec::new();
    let mut batch = Vec::new();
    loop {
        let events = tokio::time::timeout(BOUND, link.next(&mut batch))
            .await
            .expect("the link reports");
        assert!(
            !events.is_empty(),
            "the output ended before an exit: {all:?}"
        );
        let end = events
            .iter()
            .any(|e| matches!(e, ExecEvent::Exit(_) | ExecEvent::Failed(_)));
        all.extend(events);
        if end {
            return all;
        }
    }
}

fn output(events: &[ExecEvent]) -> String {
    let bytes: Vec<u8> = events
        .iter()
        .filter_map(|e| match e {
            ExecEvent::Output(b) => Some(b.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_typed_while_opening_reaches_the_shell_and_the_exit_code_comes_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let agent = sim_agent(dir.path(), "link-1").await;
    let conns = Connections::new(Credentials::default(), CONNECT_TIMEOUT);
    let container = running_container(&agent);
    let mut link = ExecLink::open(
        &conns,
        7,
        agent.node_id().to_owned(),
        agent.addr().to_string(),
        shell(&container),
    );
    assert_eq!(link.session(), 7);
    // Typed before the agent has answered: queued, not dropped.
    for input in [
        ExecIn::Resize { rows: 30, cols: 90 },
        ExecIn::Stdin(b"echo early\r".to_vec()),
        ExecIn::Stdin(b"env\r".to_vec()),
        ExecIn::Stdin(b"exit 4\r".to_vec()),
    ] {
        assert_eq!(link.send(input), None);
    }
    let events = until_end(&mut link).await;
    assert_eq!(events.first(), Some(&ExecEvent::Opened), "{events:?}");
    assert_eq!(events.last(), Some(&ExecEvent::Exit(4)), "{events:?}");
    let text = output(&events);
    assert!(text.contains("\r\nearly\r\n"), "{text:?}");
    assert!(
        text.contains("COLUMNS=90") && text.contains("LINES=30"),
        "the resize went first: {text:?}"
    );
    agent.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_session_is_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let agent = sim_agent(dir.path(), "link-2").await;
    let conns = Connections::new(Credentials::default(), CONNECT_TIMEOUT);
    let mut link = ExecLink::open(
        &conns,
        1,
        agent.node_id().to_owned(),
        agent.addr().to_string(),
        shell("no-such-container"),
    );
    let events = until_end(&mut link).await;
    match events.as_slice() {
        [ExecEvent::Failed(why)] => {
            assert!(
                !why.contains('\n') && why.contains("no-such-container"),
                "{why}"
            );
        }
        other => panic!("one failure, got {other:?}"),
    }
    agent.shutdown().await;
}
