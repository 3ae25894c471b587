//! The exec pane on TestBackend: the remote terminal drawn through the VT parser (text,
//! colours, cursor), the exited and failed states, and what keys, pastes and resizes send.

use crate::support::screen;

use screen::{find, press, text};
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fleetdeck::app::{Action, App, Effect, ExecEvent, PaneKind};
use fleetdeck::client::exec::{ExecIn, ExecRequest};
use fleetdeck::fixtures::{self, FIXTURE_TIME_UNIX_MS};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Position;
use ratatui::style::{Color, Modifier};

const WIDTH: u16 = 100;
const HEIGHT: u16 = 20;

/// A shell prompt, `ls --color` output (directories bold blue, an executable bold green)
/// and the next prompt with the cursor after it, as busybox sh and ls write them.
const SESSION: &[u8] = b"\x1b[1;32mroot@web-1\x1b[0m:\x1b[1;34m/data\x1b[0m# ls -l --color\r\n\
\x1b[1;34mbackups\x1b[0m  \x1b[1;32mentrypoint.sh\x1b[0m  orders.db  \x1b[7mREADME\x1b[0m\r\n\
\x1b[41;97m ALERT \x1b[0m disk 91% full\r\n\
\x1b[1;32mroot@web-1\x1b[0m:\x1b[1;34m/data\x1b[0m# ";

fn console() -> App {
    let t0 = Instant::now();
    let mut app = App::new(fixtures::fleet(3, 4, t0), t0);
    app.set_clock(t0, FIXTURE_TIME_UNIX_MS);
    app.title = "demo".into();
    app.update(Action::Resize {
        width: WIDTH,
        height: HEIGHT,
    });
    app
}

fn key(app: &mut App, code: KeyCode, modifiers: KeyModifiers) {
    app.update(Action::Key(KeyEvent::new(code, modifiers)));
}

/// Draws like the run loop; returns the screen and where the terminal's cursor is.
fn render(app: &mut App) -> (Buffer, Option<Position>) {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test terminal");
    fleetdeck::tui::draw(&mut terminal, app).expect("draw");
    let backend = terminal.backend();
    let cursor = backend.cursor_visible().then(|| backend.cursor_position());
    (backend.buffer().clone(), cursor)
}

/// `e`, then Enter on the prompt as it is filled: returns the session asked for.
fn open(app: &mut App) -> u64 {
    press(app, KeyCode::Char('e'));
    assert_eq!(app.panes.top_kind(), Some(PaneKind::Prompt));
    let (buf, _) = render(app);
    assert!(text(&buf).contains("run: /bin/sh"), "{}", text(&buf));
    press(app, KeyCode::Enter);
    assert_eq!(app.panes.top_kind(), Some(PaneKind::Exec));
    match app.take_effects().as_slice() {
        [
            Effect::OpenExec {
                session,
                node,
                endpoint,
                request,
            },
        ] => {
            let (n, c) = app.selected_container().expect("a container");
            assert_eq!(
                (node.as_str(), endpoint.as_str()),
                (n.name(), n.endpoint.as_str())
            );
            // A TTY of the whole screen but the title bar, with stdin.
            let want = ExecRequest {
                container: c.spec.id.clone(),
                command: vec!["/bin/sh".into()],
                tty: true,
                stdin: true,
                rows: HEIGHT - 1,
                cols: WIDTH,
            };
            assert_eq!(request, &want);
            *session
        }
        other => panic!("Enter must ask the run loop for a session, got {other:?}"),
    }
}

/// The session reported `event` through the run loop.
fn report(app: &mut App, session: u64, event: ExecEvent) {
    app.update(Action::Exec { session, event });
}

fn sent(app: &mut App) -> Vec<ExecIn> {
    app.take_effects()
        .into_iter()
        .map(|e| match e {
            Effect::ExecInput { input, .. } => input,
            other => panic!("only input for the shell, got {other:?}"),
        })
        .collect()
}

fn bytes(input: &[u8]) -> Vec<ExecIn> {
    vec![ExecIn::Stdin(input.to_vec())]
}

#[test]
fn the_remote_terminal_is_drawn_with_its_colours_and_cursor() {
    let mut app = console();
    let session = open(&mut app);
    let (buf, _) = render(&mut app);
    assert!(text(&buf).contains("connecting…"), "{}", text(&buf));
    report(&mut app, session, ExecEvent::Opened);
    report(&mut app, session, ExecEvent::Output(SESSION.to_vec()));
    let (buf, cursor) = render(&mut app);
    insta::assert_snapshot!("exec_pane_100x20_ls_colours", text(&buf));

    let dir = find(&buf, "backups", "orders.db");
    assert_eq!(buf[dir].fg, Color::Indexed(4), "directory in blue");
    assert!(buf[dir].modifier.contains(Modifier::BOLD));
    let exe = find(&buf, "entrypoint.sh", "orders.db");
    assert_eq!(buf[exe].fg, Color::Indexed(2), "executable in green");
    let plain = find(&buf, "orders.db", "backups");
    assert_eq!(
        buf[plain].fg,
        Color::Reset,
        "plain file in the default colour"
    );
    let inverse = find(&buf, "README", "orders.db");
    assert!(buf[inverse].modifier.contains(Modifier::REVERSED));
    let alert = find(&buf, " ALERT ", "disk");
    assert_eq!(
        (buf[alert].fg, buf[alert].bg),
        (Color::Indexed(15), Color::Indexed(1))
    );
    // The cursor is where the shell left it: after the second prompt, under the bar.
    let prompt = "root@web-1:/data# ";
    assert_eq!(
        cursor,
        Some(Position::new(prompt.len() as u16, 1 + 3)),
        "{}",
        text(&buf)
    );
    // Output of another session is not drawn here.
    report(
        &mut app,
        session + 1,
        ExecEvent::Output(b"\x1b[2J\x1b[Hstale".to_vec()),
    );
    assert!(!text(&render(&mut app).0).contains("stale"));
}

#[test]
fn keys_go_to_the_shell_as_xterm_bytes_and_the_detach_key_returns() {
    let mut app = console();
    let session = open(&mut app);
    report(&mut app, session, ExecEvent::Output(b"$ ".to_vec()));
    for c in "ls".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    let ctrl = KeyModifiers::CONTROL;
    key(&mut app, KeyCode::Char('c'), ctrl);
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Esc);
    // `q` and Ctrl-c are the shell's here, not the console's quit.
    press(&mut app, KeyCode::Char('q'));
    key(&mut app, KeyCode::Char('b'), KeyModifiers::ALT);
    assert!(!app.should_quit);
    assert_eq!(
        sent(&mut app),
        [
            b"l".as_slice(),
            b"s",
            b"\r",
            b"\x03",
            b"\x1b[A",
            b"\x1b",
            b"q",
            b"\x1bb"
        ]
        .iter()
        .flat_map(|b| bytes(b))
        .collect::<Vec<_>>()
    );
    // A paste is one input, bracketed once the shell asked for it.
    app.update(Action::Paste("echo one\necho two".into()));
    assert_eq!(sent(&mut app), bytes(b"echo one\recho two"));
    report(
        &mut app,
        session,
        ExecEvent::Output(b"\x1b[?2004h".to_vec()),
    );
    app.update(Action::Paste("ls".into()));
    assert_eq!(sent(&mut app), bytes(b"\x1b[200~ls\x1b[201~"));

    // crossterm reports Ctrl-\ (0x1c) as Ctrl-4: that is the default detach key.
    key(&mut app, KeyCode::Char('4'), ctrl);
    assert_eq!(app.panes.exec_view().map(|v| v.session), None);
    assert_eq!(app.take_effects(), [Effect::CloseExec { session }]);
    assert_eq!(
        app.status_message(),
        Some("detached: the shell in api-1 was closed")
    );
    let (buf, _) = render(&mut app);
    assert!(text(&buf).contains("Nodes (3)"), "{}", text(&buf));
}

#[test]
fn the_exit_code_is_shown_and_any_key_returns() {
    let mut app = console();
    let session = open(&mut app);
    report(
        &mut app,
        session,
        ExecEvent::Output(b"$ exit 3\r\n".to_vec()),
    );
    report(&mut app, session, ExecEvent::Exit(3));
    let (buf, cursor) = render(&mut app);
    insta::assert_snapshot!("exec_pane_100x20_exited", text(&buf));
    assert!(text(&buf).contains("exited with code 3"));
    assert!(text(&buf).contains("any key returns"));
    assert_eq!(cursor, None, "no cursor once the shell is gone");
    // No key goes to a shell that has ended: the first one returns.
    press(&mut app, KeyCode::Char('x'));
    assert_eq!(app.panes.exec_view().map(|v| v.session), None);
    assert_eq!(app.take_effects(), [Effect::CloseExec { session }]);
    assert_eq!(app.status_message(), None, "nothing was detached");
}

#[test]
fn a_failed_session_says_why_in_one_line() {
    let mut app = console();
    let session = open(&mut app);
    report(
        &mut app,
        session,
        ExecEvent::Failed("the agent refused: exec needs the operator role".into()),
    );
    let (buf, _) = render(&mut app);
    let screen = text(&buf);
    assert!(
        screen.contains("failed: the agent refused: exec needs the operator role"),
        "{screen}"
    );
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.panes.top_kind(), None);
}

#[test]
fn resizing_the_console_resizes_the_remote_terminal() {
    let mut app = console();
    let session = open(&mut app);
    app.update(Action::Resize {
        width: 132,
        height: 43,
    });
    assert_eq!(
        app.take_effects(),
        [Effect::ExecInput {
            session,
            input: ExecIn::Resize {
                rows: 42,
                cols: 132
            }
        }]
    );
    assert_eq!(app.panes.exec_view().map(|v| v.size()), Some((42, 132)));
    // The same size again sends nothing.
    app.update(Action::Resize {
        width: 132,
        height: 43,
    });
    assert_eq!(app.take_effects(), []);
}

#[test]
fn queries_are_answered_and_scrollback_is_bounded_and_scrolls() {
    let mut app = console();
    let session = open(&mut app);
    // "Where is the cursor?" after a prompt of 5 columns: row 1, column 6.
    report(
        &mut app,
        session,
        ExecEvent::Output(b"sh-5$\x1b[6n".to_vec()),
    );
    assert_eq!(sent(&mut app), bytes(b"\x1b[1;6R"));

    let many: Vec<u8> = (0..3000)
        .flat_map(|i| format!("line {i}\r\n").into_bytes())
        .collect();
    report(&mut app, session, ExecEvent::Output(many));
    let (buf, _) = render(&mut app);
    assert!(text(&buf).contains("line 2999"));
    // Shift-PgUp scrolls back a page; far back, the scrollback ends where it is bounded.
    for _ in 0..200 {
        key(&mut app, KeyCode::PageUp, KeyModifiers::SHIFT);
    }
    assert_eq!(sent(&mut app), [], "scrolling sends nothing to the shell");
    let back = app.panes.exec_view().map(|v| v.scrolled_back());
    assert_eq!(back, Some(fleetdeck::app::EXEC_SCROLLBACK_ROWS));
    let (buf, cursor) = render(&mut app);
    let screen = text(&buf);
    assert!(screen.contains("1000 rows back"), "{screen}");
    // 18 rows on screen (the cursor's row is empty) and 1000 above them.
    assert!(screen.contains("line 1982\n"), "oldest row kept: {screen}");
    assert!(!screen.contains("line 1981\n"), "{screen}");
    assert_eq!(cursor, None, "no cursor while scrolled back");
    // Typing brings the live screen back.
    press(&mut app, KeyCode::Char('x'));
    assert_eq!(app.panes.exec_view().map(|v| v.scrolled_back()), Some(0));
    assert_eq!(sent(&mut app), bytes(b"x"));
}

#[test]
fn a_full_input_queue_is_said_on_the_bar() {
    let mut app = console();
    let session = open(&mut app);
    report(&mut app, session, ExecEvent::InputDropped(12));
    let (buf, _) = render(&mut app);
    assert!(
        text(&buf).contains("the shell is not reading its input: 12 bytes dropped"),
        "{}",
        text(&buf)
    );
}

#[test]
fn read_only_and_wall_consoles_refuse_e_with_one_line() {
    let refusal = "read-only console: `exec` is not available here";
    let mut app = console();
    app.read_only = true;
    press(&mut app, KeyCode::Char('e'));
    assert_eq!(app.panes.top_kind(), None);
    assert_eq!(app.take_effects(), []);
    assert_eq!(app.status_message(), Some(refusal));

    // The wall says it on its own status line, and keeps its view.
    let mut wall = console();
    wall.make_wall(std::time::Duration::from_secs(20));
    press(&mut wall, KeyCode::Char('e'));
    assert_eq!(wall.panes.top_kind(), Some(PaneKind::Wall));
    assert_eq!(wall.take_effects(), []);
    let (buf, _) = render(&mut wall);
    let status = screen::lines(&buf).pop().unwrap_or_default();
    assert!(status.contains(refusal), "{status}");
}
