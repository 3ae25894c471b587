//! The pane stack on a bare `App`: no terminal, no agents.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::app::{
    Action, App, Dialog, DialogCtx, DialogOutcome, Focus, LogOutcome, Ops, PromptKind,
    PromptOutcome,
};
use crate::fixtures;
use crate::keys::{Command, KeyMap};
use crate::logs::LogView;

fn app() -> App {
    let now = Instant::now();
    let mut app = App::new(fixtures::fleet(4, 6, now), now);
    app.update(Action::Drawn(crate::ui::DrawInfo {
        node_rows: 5,
        container_rows: 8,
        ..Default::default()
    }));
    app
}

fn press(app: &mut App, code: KeyCode) {
    press_with(app, code, KeyModifiers::NONE);
}

fn press_with(app: &mut App, code: KeyCode, modifiers: KeyModifiers) {
    app.update(Action::Key(KeyEvent::new(code, modifiers)));
}

fn kinds(app: &App) -> Vec<PaneKind> {
    app.panes.stack().iter().map(Pane::kind).collect()
}

#[test]
fn a_view_under_another_gets_no_keys_and_is_not_refreshed() {
    let mut app = app();
    press(&mut app, KeyCode::Char('M'));
    let kind = app.panes.heatmap.kind;
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(kinds(&app), [PaneKind::Heatmap, PaneKind::Alerts]);
    assert!(
        !app.panes.heatmap_shown(),
        "the heatmap under the alert view is not drawn"
    );
    // Tab is not the alert view's: it goes to the tables, not to the hidden heatmap.
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.panes.heatmap.kind, kind);
    assert_eq!(app.panes.tables.focus, Focus::Containers);
    // Closing the alert view shows the heatmap again, as it was.
    press(&mut app, KeyCode::Esc);
    assert_eq!(kinds(&app), [PaneKind::Heatmap]);
    assert!(app.panes.heatmap_shown());
}

#[test]
fn keys_go_to_the_pane_on_top() {
    let mut app = app();
    press(&mut app, KeyCode::Char('H'));
    assert_eq!(kinds(&app), [PaneKind::History]);
    // The history on top takes the movement keys: the node cursor stays.
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.panes.tables.nodes.cursor.row, 0);
    // The alert view pushed over it takes them next, and is what is drawn.
    press(&mut app, KeyCode::Char('a'));
    assert_eq!(kinds(&app), [PaneKind::History, PaneKind::Alerts]);
    assert_eq!(app.panes.screen(), Screen::Alerts);
    assert!(!app.panes.history_shown());
    // A key the top pane does not take goes down to the tables.
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.panes.tables.focus, Focus::Containers);
    // The filter on top gets every key as text, `j` included.
    press(&mut app, KeyCode::Char('/'));
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.panes.tables.containers.filter, "j");
    assert_eq!(app.panes.top_kind(), Some(PaneKind::Filter));
}

#[test]
fn escape_pops_the_pane_on_top_only() {
    let mut app = app();
    press(&mut app, KeyCode::Char('H'));
    press(&mut app, KeyCode::Char('a'));
    press(&mut app, KeyCode::Char(':'));
    assert_eq!(app.panes.top_kind(), Some(PaneKind::Prompt));
    press(&mut app, KeyCode::Esc);
    assert_eq!(kinds(&app), [PaneKind::History, PaneKind::Alerts]);
    press(&mut app, KeyCode::Esc);
    assert_eq!(kinds(&app), [PaneKind::History]);
    assert!(app.panes.history_shown());
    press(&mut app, KeyCode::Esc);
    assert!(kinds(&app).is_empty());
    // With nothing above them, Esc is the tables' back: focus returns to the nodes.
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.panes.tables.focus, Focus::Containers);
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.panes.tables.focus, Focus::Nodes);
    assert!(kinds(&app).is_empty());
}

#[test]
fn a_remapped_dialog_key_works_and_the_old_one_no_longer_does() {
    let mut app = app();
    app.keymap = KeyMap::with_overrides(&BTreeMap::from([
        ("dialog:<Ctrl-g>".to_string(), "cancel".to_string()),
        ("dialog:<Esc>".to_string(), "none".to_string()),
        ("dialog:=".to_string(), "more".to_string()),
    ]))
    .expect("keymap");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('s'));
    let replicas = |app: &App| match app.panes.dialog() {
        Some(Dialog::Scale { replicas, .. }) => Some(*replicas),
        _ => None,
    };
    let before = replicas(&app).expect("the scale dialog is open");
    press(&mut app, KeyCode::Char('='));
    assert_eq!(replicas(&app), Some(before + 1));
    press(&mut app, KeyCode::Esc);
    assert!(
        app.panes.dialog().is_some(),
        "Esc is unbound in dialogs now"
    );
    press_with(&mut app, KeyCode::Char('g'), KeyModifiers::CONTROL);
    assert!(app.panes.dialog().is_none());
    assert!(kinds(&app).is_empty());
    assert!(app.take_requests().is_empty());
}

#[test]
fn a_remapped_prompt_key_edits_the_filter() {
    let mut app = app();
    app.keymap = KeyMap::with_overrides(&BTreeMap::from([(
        "prompt:<Ctrl-w>".to_string(),
        "clear_input".to_string(),
    )]))
    .expect("keymap");
    press(&mut app, KeyCode::Char('/'));
    for c in "node".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    assert_eq!(app.panes.tables.nodes.filter, "node");
    press_with(&mut app, KeyCode::Char('w'), KeyModifiers::CONTROL);
    assert_eq!(app.panes.tables.nodes.filter, "");
    assert!(app.panes.filtering());
}

#[test]
fn the_wall_refuses_action_keys_and_keeps_its_place() {
    let mut app = app();
    app.make_wall(Duration::ZERO);
    assert_eq!(kinds(&app), [PaneKind::Wall]);
    for code in ['m', 'f', 'd', 'X', 'H', 'A', 'S', 'x', ':', 'l'] {
        press(&mut app, KeyCode::Char(code));
        assert_eq!(kinds(&app), [PaneKind::Wall], "{code} changed the stack");
        assert!(app.take_effects().is_empty(), "{code} asked for work");
        let status = app.status_message().unwrap_or_default();
        assert!(status.contains("read-only"), "{code}: {status}");
    }
    // Esc never pops the wall, and Tab turns its rotation.
    press(&mut app, KeyCode::Esc);
    assert_eq!(kinds(&app), [PaneKind::Wall]);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.panes.wall().map(|w| w.index), Some(1));
    // Help is for viewing: it opens over the wall and a key that does not scroll closes it.
    press(&mut app, KeyCode::Char('?'));
    assert_eq!(kinds(&app), [PaneKind::Wall, PaneKind::Help]);
    press(&mut app, KeyCode::Char('o'));
    assert_eq!(kinds(&app), [PaneKind::Wall]);
}

#[test]
fn dialog_hints_name_the_remapped_keys() {
    let mut app = app();
    app.keymap = KeyMap::with_overrides(&BTreeMap::from([
        ("dialog:<Ctrl-g>".to_string(), "cancel".to_string()),
        ("dialog:<Esc>".to_string(), "none".to_string()),
    ]))
    .expect("keymap");
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('s'));
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("terminal");
    crate::tui::draw(&mut terminal, &mut app).expect("draw");
    let buffer = terminal.backend().buffer();
    let text: String = buffer.content().iter().map(|c| c.symbol()).collect();
    assert!(text.contains("Enter plan · Ctrl-g cancel"), "{text}");
}

fn keymap(overrides: &[(&str, &str)]) -> KeyMap {
    let overrides = overrides
        .iter()
        .map(|(k, c)| (k.to_string(), c.to_string()))
        .collect::<BTreeMap<_, _>>();
    KeyMap::with_overrides(&overrides).expect("keymap")
}

fn screen_text(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height))
        .expect("terminal");
    crate::tui::draw(&mut terminal, app).expect("draw");
    let buffer = terminal.backend().buffer();
    buffer.content().iter().map(|c| c.symbol()).collect()
}

#[test]
fn the_scale_hint_names_remapped_more_and_fewer_keys() {
    let mut app = app();
    app.keymap = keymap(&[("dialog:+", "none"), ("dialog:=", "more")]);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('s'));
    let text = screen_text(&mut app, 120, 40);
    assert!(text.contains("=/- or digits · Enter plan"), "{text}");
}

#[test]
fn help_lists_the_mode_keys_as_remapped() {
    let mut app = app();
    app.keymap = keymap(&[
        ("dialog:<Esc>", "none"),
        ("dialog:<Ctrl-g>", "cancel"),
        ("log:F", "none"),
        ("log:f", "none"),
        ("log:p", "follow"),
    ]);
    press(&mut app, KeyCode::Char('?'));
    let text = screen_text(&mut app, 160, 60);
    assert!(
        text.contains("dialog: Ctrl-c quit Enter confirm Ctrl-g cancel"),
        "{text}"
    );
    assert!(text.contains("p follow"), "{text}");
    assert!(text.contains("prompt:"), "{text}");
    // The log line, not the dialog line (whose name also ends in "log:").
    assert!(
        text.lines()
            .any(|l| l.contains(" log:") && l.contains("p follow")),
        "{text}"
    );
}

#[test]
fn the_log_footer_names_remapped_keys() {
    let mut app = app();
    app.keymap = keymap(&[
        ("log:<Esc>", "none"),
        ("log:q", "none"),
        ("log:<Ctrl-g>", "cancel"),
        ("log:F", "none"),
        ("log:f", "none"),
        ("log:p", "follow"),
        ("log:j", "none"),
        ("log:k", "none"),
    ]);
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('l'));
    assert_eq!(app.panes.top_kind(), Some(PaneKind::Logs));
    let text = screen_text(&mut app, 120, 40);
    assert!(text.contains("Down/Up scroll"), "{text}");
    assert!(text.contains("p pause"), "{text}");
    assert!(text.contains("Ctrl-g close"), "{text}");
    // The search prompt names the prompt mode's keys.
    app.keymap = keymap(&[("prompt:<Esc>", "none"), ("prompt:<Ctrl-g>", "cancel")]);
    press(&mut app, KeyCode::Char('/'));
    let text = screen_text(&mut app, 120, 40);
    assert!(text.contains("Enter find · Ctrl-g cancel"), "{text}");
}

#[test]
fn the_detail_pane_and_the_console_log_are_splits_not_stack_entries() {
    let mut app = app();
    assert_eq!(app.panes.splits, Splits::default());
    press(&mut app, KeyCode::Char('L'));
    press(&mut app, KeyCode::Char('i'));
    assert!(app.panes.splits.console_log && !app.panes.splits.detail);
    assert!(
        kinds(&app).is_empty(),
        "nothing pushed: the tables keep the keys"
    );
    // Over another view they still toggle (the tables take the command passed down).
    press(&mut app, KeyCode::Char('M'));
    press(&mut app, KeyCode::Char('L'));
    assert!(!app.panes.splits.console_log);
    assert_eq!(kinds(&app), [PaneKind::Heatmap]);
}

#[test]
fn help_scrolls_itself_and_closes_on_any_other_command() {
    let g = crate::ui::help_geometry(&KeyMap::default(), 80, 24);
    let mut help = HelpPane::default();
    assert_eq!(help.on_command(Command::Bottom, &g, true), Outcome::Taken);
    assert_eq!(help.offset, g.max_offset());
    assert_eq!(help.on_command(Command::Down, &g, true), Outcome::Taken);
    assert_eq!(help.offset, g.max_offset(), "never past the last row");
    assert_eq!(help.on_command(Command::SortNext, &g, true), Outcome::Close);
    let tall = crate::ui::help_geometry(&KeyMap::default(), 200, 80);
    assert_eq!(
        HelpPane::default().on_command(Command::Down, &tall, true),
        Outcome::Close,
        "nothing to scroll: it closes"
    );
}

#[test]
fn the_log_pane_handles_its_keys_through_the_log_mode() {
    let pane = LogsPane::new(100);
    let mut view = LogView::new("node-00", "api-1", 100);
    let keymap = keymap(&[("log:p", "wrap")]);
    let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(pane.on_key(&mut view, &keymap, key('p')), LogOutcome::Done);
    assert!(view.wrap);
    assert_eq!(pane.on_key(&mut view, &keymap, key('q')), LogOutcome::Close);
    assert!(matches!(
        pane.on_key(&mut view, &keymap, key('n')),
        LogOutcome::Status(_)
    ));
}

#[test]
fn a_prompt_edits_itself_and_leaves_submitting_to_the_console() {
    let keymap = keymap(&[("prompt:<Ctrl-w>", "clear_input")]);
    let mut prompt = Prompt {
        kind: PromptKind::Palette,
        text: String::new(),
        choice: 0,
        error: Some("nothing matches".into()),
    };
    let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
    assert_eq!(
        prompt.on_key(&keymap, key(KeyCode::Char('h'))),
        PromptOutcome::Edited
    );
    assert_eq!((prompt.text.as_str(), prompt.error.as_deref()), ("h", None));
    let ctrl_w = KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL);
    assert_eq!(prompt.on_key(&keymap, ctrl_w), PromptOutcome::Edited);
    assert!(prompt.text.is_empty());
    assert_eq!(
        prompt.on_key(&keymap, key(KeyCode::Enter)),
        PromptOutcome::Submit
    );
    assert_eq!(
        prompt.on_key(&keymap, key(KeyCode::Esc)),
        PromptOutcome::Cancel
    );
}

#[test]
fn a_dialog_handles_its_keys_and_asks_the_console_to_plan() {
    let (mut ops, mut outbox) = (Ops::default(), Vec::new());
    let mut ctx = DialogCtx {
        ops: &mut ops,
        outbox: &mut outbox,
        now: Instant::now(),
        now_unix_ms: 0,
    };
    let keymap = KeyMap::default();
    let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
    let scale = Dialog::Scale {
        service: "web".into(),
        current: 2,
        replicas: 2,
    };
    let DialogOutcome::Keep(scale) = scale.on_key(&keymap, key(KeyCode::Char('+')), &mut ctx)
    else {
        panic!("+ keeps the dialog");
    };
    match scale.on_key(&keymap, key(KeyCode::Enter), &mut ctx) {
        DialogOutcome::Propose(crate::ops::Proposal::Scale { replicas, .. }) => {
            assert_eq!(replicas, 3)
        }
        other => panic!("{other:?}"),
    }
    assert!(outbox.is_empty(), "planning is the console's, nothing ran");
}

/// `e` then Enter on the selected container: the exec pane on top.
fn open_exec(app: &mut App) {
    press(app, KeyCode::Tab);
    press(app, KeyCode::Char('e'));
    assert_eq!(kinds(app), [PaneKind::Prompt]);
    press(app, KeyCode::Enter);
    assert_eq!(kinds(app), [PaneKind::Exec]);
    assert_eq!(app.panes.screen(), Screen::Exec);
    assert!(matches!(
        app.take_effects().as_slice(),
        [crate::app::Effect::OpenExec { .. }]
    ));
}

#[test]
fn the_exec_pane_takes_every_key_but_its_own() {
    let mut app = app();
    open_exec(&mut app);
    // Keys that quit, close or move elsewhere are the shell's here.
    for code in [
        KeyCode::Char('q'),
        KeyCode::Esc,
        KeyCode::Tab,
        KeyCode::Char('?'),
    ] {
        press(&mut app, code);
    }
    press_with(&mut app, KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(!app.should_quit);
    assert_eq!(kinds(&app), [PaneKind::Exec]);
    assert_eq!(
        app.panes.tables.focus,
        Focus::Containers,
        "Tab went to the shell"
    );
    let sent = app.take_effects();
    assert_eq!(sent.len(), 5, "{sent:?}");
    // A click lands on nothing under the shell.
    app.update(Action::Mouse(crossterm::event::MouseEvent {
        kind: crossterm::event::MouseEventKind::Down(crossterm::event::MouseButton::Left),
        column: 5,
        row: 5,
        modifiers: KeyModifiers::NONE,
    }));
    assert_eq!(app.panes.tables.nodes.cursor.row, 0);
    // The detach key, remapped, pops it.
    app.keymap = keymap(&[("exec:<F12>", "detach")]);
    press(&mut app, KeyCode::F(12));
    assert_eq!(kinds(&app), []);
    assert!(matches!(
        app.take_effects().as_slice(),
        [crate::app::Effect::CloseExec { .. }]
    ));
}

#[test]
fn the_exec_prompt_is_filled_with_the_configured_command_and_refuses_an_empty_one() {
    let mut app = app();
    app.panes.exec.command = "/bin/bash -l".into();
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Char('e'));
    assert_eq!(
        app.panes.prompt().map(|p| p.text.as_str()),
        Some("/bin/bash -l")
    );
    press_with(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    press(&mut app, KeyCode::Enter);
    let prompt = app.panes.prompt().expect("still open");
    assert!(
        prompt
            .error
            .as_deref()
            .is_some_and(|e| e.contains("no command")),
        "{prompt:?}"
    );
    for c in "sh -c 'echo hi'".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    match app.take_effects().as_slice() {
        [crate::app::Effect::OpenExec { request, .. }] => {
            assert_eq!(request.command, ["sh", "-c", "echo hi"]);
        }
        other => panic!("{other:?}"),
    }
    // The palette opens it too.
    app.panes.pop();
    press(&mut app, KeyCode::Char(':'));
    for c in "exec".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    press(&mut app, KeyCode::Enter);
    assert!(matches!(
        app.panes.prompt().map(|p| &p.kind),
        Some(PromptKind::Exec(_))
    ));
}
