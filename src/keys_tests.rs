//! The keymap: defaults, config patches per mode, key names.

use crossterm::event::{KeyCode, KeyModifiers};

use super::*;

fn ev(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, modifiers)
}

#[test]
fn parses_characters_and_named_keys() {
    assert_eq!(
        parse_key("j").unwrap(),
        Key {
            code: KeyCode::Char('j'),
            modifiers: KeyModifiers::NONE
        }
    );
    assert_eq!(
        parse_key("<Ctrl-d>").unwrap(),
        Key {
            code: KeyCode::Char('d'),
            modifiers: KeyModifiers::CONTROL
        }
    );
    assert_eq!(
        parse_key("<C-D>").unwrap(),
        Key {
            code: KeyCode::Char('d'),
            modifiers: KeyModifiers::CONTROL
        }
    );
    assert_eq!(parse_key("<S-Tab>").unwrap().code, KeyCode::BackTab);
    assert_eq!(parse_key("<Shift-g>").unwrap(), parse_key("G").unwrap());
    assert_eq!(parse_key("<F5>").unwrap().code, KeyCode::F(5));
    assert_eq!(parse_key("<pagedown>").unwrap().code, KeyCode::PageDown);
    assert_eq!(parse_key("<Alt-x>").unwrap().modifiers, KeyModifiers::ALT);
    assert_eq!(
        parse_key("<Ctrl-->").unwrap(),
        Key {
            code: KeyCode::Char('-'),
            modifiers: KeyModifiers::CONTROL
        }
    );
}

#[test]
fn rejects_what_it_does_not_understand() {
    for bad in ["", "jj", "<Hyper-x>", "<F99>", "<>", "<Ctrl->", "Enter"] {
        assert!(parse_key(bad).is_err(), "{bad:?} should not parse");
    }
}

#[test]
fn terminal_events_match_bindings() {
    let map = KeyMap::default();
    assert_eq!(
        map.command(ev(KeyCode::Char('G'), KeyModifiers::SHIFT)),
        Some(Command::Bottom)
    );
    assert_eq!(
        map.command(ev(KeyCode::Char('d'), KeyModifiers::CONTROL)),
        Some(Command::PageDown)
    );
    assert_eq!(
        map.command(ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
        Some(Command::FocusPrev)
    );
    assert_eq!(
        map.command(ev(KeyCode::Char('?'), KeyModifiers::SHIFT)),
        Some(Command::Help)
    );
    assert_eq!(
        map.command(ev(KeyCode::Char('z'), KeyModifiers::NONE)),
        None
    );
}

#[test]
fn config_overrides_patch_the_defaults() {
    let overrides = BTreeMap::from([
        ("<Ctrl-n>".to_string(), "down".to_string()),
        ("q".to_string(), "none".to_string()),
    ]);
    let map = KeyMap::with_overrides(&overrides).unwrap();
    assert_eq!(
        map.command(ev(KeyCode::Char('n'), KeyModifiers::CONTROL)),
        Some(Command::Down)
    );
    assert_eq!(
        map.command(ev(KeyCode::Char('q'), KeyModifiers::NONE)),
        None
    );
    assert_eq!(map.hint(Command::Quit), "<Ctrl-c>");
    let bad = BTreeMap::from([("x".to_string(), "explode".to_string())]);
    let err = KeyMap::with_overrides(&bad).unwrap_err().to_string();
    assert!(err.contains("unknown command \"explode\""), "{err}");
}

#[test]
fn dialog_prompt_and_log_keys_are_patched_by_mode() {
    let map = KeyMap::default();
    let esc = ev(KeyCode::Esc, KeyModifiers::NONE);
    assert_eq!(map.command_in(Mode::Dialog, esc), Some(Command::Cancel));
    assert_eq!(map.command_in(Mode::Prompt, esc), Some(Command::Cancel));
    assert_eq!(map.command_in(Mode::Log, esc), Some(Command::Cancel));
    assert_eq!(map.command(esc), Some(Command::Back));
    let ctrl_u = ev(KeyCode::Char('u'), KeyModifiers::CONTROL);
    assert_eq!(
        map.command_in(Mode::Prompt, ctrl_u),
        Some(Command::ClearInput)
    );
    assert_eq!(map.command_in(Mode::Log, ctrl_u), Some(Command::PageUp));
    assert_eq!(
        map.command_in(Mode::Prompt, ev(KeyCode::Char('q'), KeyModifiers::NONE)),
        None,
        "typed, not a command"
    );

    let overrides = BTreeMap::from([
        ("dialog:<Ctrl-g>".to_string(), "cancel".to_string()),
        ("prompt:<Ctrl-w>".to_string(), "clear_input".to_string()),
        ("log:p".to_string(), "follow".to_string()),
        ("log:f".to_string(), "none".to_string()),
    ]);
    let map = KeyMap::with_overrides(&overrides).unwrap();
    let ctrl = |c| ev(KeyCode::Char(c), KeyModifiers::CONTROL);
    let plain = |c| ev(KeyCode::Char(c), KeyModifiers::NONE);
    assert_eq!(
        map.command_in(Mode::Dialog, ctrl('g')),
        Some(Command::Cancel)
    );
    assert_eq!(map.command(ctrl('g')), None, "only in dialogs");
    assert_eq!(
        map.command_in(Mode::Prompt, ctrl('w')),
        Some(Command::ClearInput)
    );
    assert_eq!(map.command_in(Mode::Log, plain('p')), Some(Command::Follow));
    assert_eq!(map.command_in(Mode::Log, plain('f')), None);
    assert_eq!(map.command(plain('f')), Some(Command::Failover));

    for (key, command) in [
        ("dialog:x", "failover"),
        ("log:x", "confirm"),
        ("x", "wrap"),
    ] {
        let bad = BTreeMap::from([(key.to_string(), command.to_string())]);
        let err = KeyMap::with_overrides(&bad).unwrap_err().to_string();
        assert!(err.contains("unknown command"), "{key}: {err}");
    }
    let bad = BTreeMap::from([("dialog:<Nope>".to_string(), "cancel".to_string())]);
    assert!(KeyMap::with_overrides(&bad).is_err());
    // A colon alone is still the palette's key.
    let colon = BTreeMap::from([(":".to_string(), "help".to_string())]);
    let map = KeyMap::with_overrides(&colon).unwrap();
    assert_eq!(map.command(plain(':')), Some(Command::Help));
}

#[test]
fn key_names_round_trip() {
    for name in [
        "j",
        "?",
        "<Ctrl-d>",
        "<Enter>",
        "<Shift-Tab>",
        "<F5>",
        "<PgDn>",
        "<Space>",
    ] {
        let key = parse_key(name).unwrap();
        assert_eq!(parse_key(&key.to_string()).unwrap(), key, "{name}");
    }
}

#[test]
fn ctrl_backslash_matches_what_the_terminal_sends() {
    // The terminal sends 0x1c for Ctrl-\ and crossterm reports it as Ctrl-4.
    let sent = ev(KeyCode::Char('4'), KeyModifiers::CONTROL);
    assert_eq!(Key::from_event(sent), parse_key("<Ctrl-\\>").unwrap());
    assert_eq!(
        parse_key("<Ctrl-5>").unwrap(),
        parse_key("<Ctrl-]>").unwrap()
    );
    let map = KeyMap::default();
    assert_eq!(map.command_in(Mode::Exec, sent), Some(Command::Detach));
    assert_eq!(map.hint_in(Mode::Exec, Command::Detach), "<Ctrl-\\>");
}

#[test]
fn the_exec_mode_has_only_its_own_keys_and_takes_the_configured_detach_key() {
    let map = KeyMap::default();
    let plain = |c| ev(KeyCode::Char(c), KeyModifiers::NONE);
    for key in [
        plain('q'),
        ev(KeyCode::Char('c'), KeyModifiers::CONTROL),
        ev(KeyCode::Esc, KeyModifiers::NONE),
        ev(KeyCode::PageUp, KeyModifiers::NONE),
    ] {
        assert_eq!(
            map.command_in(Mode::Exec, key),
            None,
            "{key:?} is the shell's"
        );
    }
    let shift_pgup = ev(KeyCode::PageUp, KeyModifiers::SHIFT);
    assert_eq!(
        map.command_in(Mode::Exec, shift_pgup),
        Some(Command::PageUp)
    );
    assert_eq!(map.command(plain('e')), Some(Command::Exec));

    // `[exec] detach_key` replaces the default; `[keys]` patches on top of it.
    let f12 = parse_key("<F12>").unwrap();
    let map = KeyMap::default().with_detach_key(f12);
    let ctrl_backslash = ev(KeyCode::Char('\\'), KeyModifiers::CONTROL);
    assert_eq!(map.command_in(Mode::Exec, ctrl_backslash), None);
    assert_eq!(
        map.command_in(Mode::Exec, ev(KeyCode::F(12), KeyModifiers::NONE)),
        Some(Command::Detach)
    );
    let overrides = BTreeMap::from([("exec:<Alt-d>".to_string(), "detach".to_string())]);
    let map = map.patched(&overrides).unwrap();
    assert_eq!(map.keys_in(Mode::Exec, Command::Detach).len(), 2);
    let bad = BTreeMap::from([("exec:x".to_string(), "quit".to_string())]);
    let err = KeyMap::with_overrides(&bad).unwrap_err().to_string();
    assert!(err.contains("detach, page_up, page_down"), "{err}");
}
