use std::io::Write;

use super::*;

const FULL: &str = r#"
agents = ["10.0.0.1:7000", "node-2.example:7000"]
failover_timeout_secs = 30
heartbeat_silence_secs = 9
refresh_interval_ms = 500
theme = "solarized"

[keys]
"<Ctrl-d>" = "page_down"
"dialog:<Ctrl-g>" = "cancel"
"#;

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn with_file(text: &str) -> (tempfile::NamedTempFile, Overrides) {
    let f = file(text);
    let o = Overrides {
        config: Some(f.path().to_path_buf()),
        ..Overrides::default()
    };
    (f, o)
}

fn one_line(e: &ConfigError) -> String {
    let text = e.to_string();
    assert!(!text.contains('\n'), "not one line: {text}");
    text
}

#[test]
fn an_empty_file_and_no_file_give_the_defaults() {
    let s = resolve(&Overrides::default(), None, None).unwrap();
    assert_eq!(s.failover_timeout, Duration::from_secs(10));
    assert_eq!(s.silence_timeout, Duration::from_secs(6));
    assert_eq!(s.refresh_interval, Duration::from_secs(1));
    assert!(s.agents.is_empty() && s.theme.is_none() && s.keys.is_empty());
    assert_eq!(s.agents_from, AgentSource::None);
    assert_eq!(parse("", Path::new("x")).unwrap(), Config::default());
    let missing_default = Path::new("/nonexistent/fleetdeck/config.toml");
    let s = resolve(&Overrides::default(), None, Some(missing_default)).unwrap();
    assert_eq!(s.config_path, None);
}

#[test]
fn every_setting_is_read() {
    let (f, o) = with_file(FULL);
    let s = resolve(&o, None, None).unwrap();
    assert_eq!(s.agents.len(), 2);
    assert_eq!(s.agents[1].to_string(), "node-2.example:7000");
    assert!(matches!(s.agents_from, AgentSource::File(_)));
    assert_eq!(s.failover_timeout, Duration::from_secs(30));
    assert_eq!(s.silence_timeout, Duration::from_secs(9));
    assert_eq!(s.watch_options().silence_timeout, Duration::from_secs(9));
    assert_eq!(s.refresh_interval, Duration::from_millis(500));
    assert_eq!(s.theme.as_deref(), Some("solarized"));
    assert_eq!(s.keys["<Ctrl-d>"], "page_down");
    assert_eq!(s.keys["dialog:<Ctrl-g>"], "cancel");
    let keymap = crate::keys::KeyMap::with_overrides(&s.keys).unwrap();
    let ctrl_g = crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('g'),
        crossterm::event::KeyModifiers::CONTROL,
    );
    assert_eq!(
        keymap.command_in(crate::keys::Mode::Dialog, ctrl_g),
        Some(crate::keys::Command::Cancel)
    );
    assert_eq!(s.config_path.as_deref(), Some(f.path()));
}

#[test]
fn log_lines_is_read_and_bounded() {
    let (_f, o) = with_file("log_lines = 2000\n");
    assert_eq!(resolve(&o, None, None).unwrap().log_lines, 2000);
    let s = resolve(&Overrides::default(), None, None).unwrap();
    assert_eq!(s.log_lines, crate::logs::DEFAULT_MAX_LINES);
    let (_f, o) = with_file("log_lines = 5\n");
    let e = one_line(&resolve(&o, None, None).unwrap_err());
    assert!(
        e.contains("log_lines") && e.contains("100 to 1000000"),
        "{e}"
    );
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let (_f, mut o) = with_file(FULL);
    let s = resolve(&o, Some(" a:1, b:2 ,,"), None).unwrap();
    assert_eq!(s.agents_from, AgentSource::Env);
    assert_eq!(
        s.agents.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        ["a:1", "b:2"]
    );
    o.agents = vec!["c:3".into()];
    o.failover_timeout_secs = Some(2);
    o.theme = Some("mono".into());
    let s = resolve(&o, Some("a:1"), None).unwrap();
    assert_eq!(s.agents_from, AgentSource::Flag);
    assert_eq!(s.agents.len(), 1);
    assert_eq!(s.failover_timeout, Duration::from_secs(2));
    assert_eq!(s.theme.as_deref(), Some("mono"));
    // An empty variable counts as unset.
    o.agents.clear();
    assert!(matches!(
        resolve(&o, Some(" "), None).unwrap().agents_from,
        AgentSource::File(_)
    ));
}

#[test]
fn an_unknown_key_is_an_error_naming_file_line_and_key() {
    let (f, o) = with_file("theme = \"dark\"\nfailover_timeout = 5\n");
    let e = resolve(&o, None, None).unwrap_err();
    let text = one_line(&e);
    assert!(text.contains(&f.path().display().to_string()), "{text}");
    assert!(
        text.contains("line 2") && text.contains("failover_timeout"),
        "{text}"
    );
    assert!(text.contains("unknown field"), "{text}");
    assert!(text.contains("fix or remove"), "{text}");
}

#[test]
fn a_wrong_type_is_an_error_at_its_line() {
    for (toml, line, key) in [
        (
            "\n\nfailover_timeout_secs = \"10s\"\n",
            3,
            "failover_timeout_secs",
        ),
        ("refresh_interval_ms = -5\n", 1, "refresh_interval_ms"),
        (
            "heartbeat_silence_secs = 1.5\n",
            1,
            "heartbeat_silence_secs",
        ),
        ("agents = \"a:1\"\n", 1, "agents"),
        ("[keys]\nq = 1\n", 2, "q"),
    ] {
        let (_f, o) = with_file(toml);
        let e = resolve(&o, None, None).unwrap_err();
        let text = one_line(&e);
        assert!(matches!(e, ConfigError::Parse { .. }), "{toml}: {text}");
        assert!(text.contains(&format!("line {line}")), "{toml}: {text}");
        assert!(text.contains(key), "{toml}: {text}");
    }
}

#[test]
fn durations_out_of_range_say_what_is_allowed() {
    for (toml, key) in [
        ("failover_timeout_secs = 0", "failover_timeout_secs"),
        ("heartbeat_silence_secs = 0", "heartbeat_silence_secs"),
        ("refresh_interval_ms = 5", "refresh_interval_ms"),
        ("refresh_interval_ms = 600000", "refresh_interval_ms"),
    ] {
        let (_f, o) = with_file(&format!("# fleetdeck\n{toml}\n"));
        let e = resolve(&o, None, None).unwrap_err();
        let text = one_line(&e);
        assert!(matches!(e, ConfigError::Invalid { .. }), "{text}");
        assert!(text.contains("line 2") && text.contains(key), "{text}");
        assert!(text.contains("out of range; use"), "{text}");
    }
    let o = Overrides {
        failover_timeout_secs: Some(0),
        ..Overrides::default()
    };
    let text = one_line(&resolve(&o, None, None).unwrap_err());
    assert!(text.contains("--failover-timeout"), "{text}");
}

#[test]
fn bad_toml_and_missing_files() {
    let (_f, o) = with_file("agents = [\n");
    assert!(matches!(
        resolve(&o, None, None).unwrap_err(),
        ConfigError::Parse { .. }
    ));
    let o = Overrides {
        config: Some("/nonexistent/x.toml".into()),
        ..Overrides::default()
    };
    let text = one_line(&resolve(&o, None, None).unwrap_err());
    assert!(
        text.contains("does not exist") && text.contains("--config"),
        "{text}"
    );
}

#[test]
fn bad_agents_say_where_they_came_from() {
    let (_f, o) = with_file("agents = [\n  \"a:1\",\n  \"nope\",\n]\n");
    let text = one_line(&resolve(&o, None, None).unwrap_err());
    assert!(text.contains("`nope`") && text.contains("line 3"), "{text}");
    let o = Overrides {
        agents: vec!["x".into()],
        ..Overrides::default()
    };
    let text = one_line(&resolve(&o, None, None).unwrap_err());
    assert!(
        text.contains("from --agent") && text.contains("HOST:PORT"),
        "{text}"
    );
    let text = one_line(&resolve(&Overrides::default(), Some("a:b"), None).unwrap_err());
    assert!(text.contains(AGENTS_ENV), "{text}");
}

#[test]
fn alert_rules_are_read_and_bad_ones_name_file_line_and_key() {
    let (_f, o) =
        with_file("[[alerts.rules]]\nname = \"cpu-warning\"\nthreshold = 70\nfor = \"2m\"\n");
    let s = resolve(&o, None, None).unwrap();
    let cpu = s
        .alert_rules
        .iter()
        .find(|r| r.name == "cpu-warning")
        .unwrap();
    assert_eq!(cpu.when.to_string(), "cpu > 70");
    assert_eq!(cpu.for_, Duration::from_secs(120));
    assert_eq!(
        resolve(&Overrides::default(), None, None)
            .unwrap()
            .alert_rules,
        crate::alerts::default_rules()
    );
    for (toml, line, key, what) in [
        (
            "theme = \"dark\"\n\n[[alerts.rules]]\nname = \"x\"\nwhen = \"cpu >> 3\"\n",
            5,
            "when",
            "not a number",
        ),
        (
            "[[alerts.rules]]\nname = \"x\"\nfor = \"soon\"\n",
            3,
            "for",
            "not a duration",
        ),
        (
            "[[alerts.rules]]\nname = \"cpu-warning\"\n\n[[alerts.rules]]\nname = \"mine\"\nfor = \"1m\"\n",
            5,
            "alerts.rules",
            "needs a `when`",
        ),
    ] {
        let (f, o) = with_file(toml);
        let e = resolve(&o, None, None).unwrap_err();
        let text = one_line(&e);
        assert!(text.contains(&f.path().display().to_string()), "{text}");
        assert!(text.contains(&format!("line {line}")), "{toml}: {text}");
        assert!(text.contains(&format!("`{key}`")), "{toml}: {text}");
        assert!(text.contains(what), "{toml}: {text}");
    }
}

#[test]
fn the_default_path_is_in_the_platform_config_dir() {
    if let Some(p) = default_path() {
        assert!(p.ends_with("config.toml"));
        assert!(p.to_string_lossy().contains("fleetdeck"));
    }
}

#[test]
fn notify_settings_are_checked_with_file_line_and_key() {
    let (_f, o) = with_file(
        "agents = [\"127.0.0.1:7070\"]\n\n[notify]\nalertmanager = [\"http://127.0.0.1:9093\"]\n\n\
         [[notify.webhook]]\nurl = \"https://hooks.example/T1\"\nformat = \"slack\"\n",
    );
    let s = resolve(&o, None, None).unwrap();
    assert_eq!(s.notify.alertmanagers.len(), 1);
    assert_eq!(s.notify.webhooks.len(), 1);

    let (f, o) = with_file("[notify]\nalertmanager = [\"127.0.0.1:9093\"]\n");
    let e = one_line(&resolve(&o, None, None).unwrap_err());
    assert!(e.contains(&f.path().display().to_string()), "{e}");
    assert!(
        e.contains("line 2") && e.contains("notify.alertmanager"),
        "{e}"
    );
    assert!(e.contains("http://"), "{e}");

    let (_f, o) =
        with_file("[notify]\n\n[[notify.webhook]]\nurl = \"http://h/x\"\nformat = \"teams\"\n");
    let e = one_line(&resolve(&o, None, None).unwrap_err());
    assert!(
        e.contains("line 5") && e.contains("format") && e.contains("teams"),
        "{e}"
    );

    let o = Overrides {
        alertmanagers: vec!["ftp://h".into()],
        ..Overrides::default()
    };
    let e = one_line(&resolve(&o, None, None).unwrap_err());
    assert!(e.contains("--alertmanager") && e.contains("http://"), "{e}");
}

#[test]
fn coordination_settings_are_checked_with_file_line_and_key() {
    let (_f, o) = with_file("[coordination]\netcd = [\"http://127.0.0.1:2379\"]\n");
    let s = resolve(&o, None, None).unwrap();
    let etcd = s.coordination.expect("etcd configured");
    assert_eq!(etcd.prefix(), "/fleetdeck/");

    let (f, o) = with_file("agents = []\n\n[coordination]\netcd = [\"127.0.0.1:2379\"]\n");
    let e = one_line(&resolve(&o, None, None).unwrap_err());
    assert!(e.contains(&f.path().display().to_string()), "{e}");
    assert!(
        e.contains("line 4") && e.contains("coordination.etcd"),
        "{e}"
    );

    // FLEETDECK_ETCD replaces the file's endpoints, and is named when it is wrong.
    let o = Overrides {
        etcd: vec!["ftp://h:1".into()],
        ..o
    };
    let e = one_line(&resolve(&o, None, None).unwrap_err());
    assert!(e.starts_with("FLEETDECK_ETCD"), "{e}");
    assert!(
        resolve(&Overrides::default(), None, None)
            .unwrap()
            .coordination
            .is_none()
    );
}

#[test]
fn the_exec_section_is_read_and_checked_with_file_line_and_key() {
    let s = resolve(&Overrides::default(), None, None).unwrap();
    assert_eq!(s.exec, crate::config_exec::ExecSettings::default());
    let (_f, o) = with_file("[exec]\ncommand = \"/bin/bash -l\"\ndetach_key = \"<F12>\"\n");
    let s = resolve(&o, None, None).unwrap();
    assert_eq!(s.exec.command, "/bin/bash -l");
    assert_eq!(s.exec.detach_key, crate::keys::parse_key("<F12>").unwrap());

    let (_f, o) = with_file("agents = []\n\n[exec]\ndetach_key = \"q\"\n");
    let e = one_line(&resolve(&o, None, None).unwrap_err());
    assert!(
        e.contains("line 4") && e.contains("`exec.detach_key`") && e.contains("<Ctrl-\\>"),
        "{e}"
    );
    let (_f, o) = with_file("[exec]\ncommand = \"sh -c 'echo\"\n");
    let e = one_line(&resolve(&o, None, None).unwrap_err());
    assert!(
        e.contains("line 2") && e.contains("`exec.command`") && e.contains("quote"),
        "{e}"
    );
    let (_f, o) = with_file("[exec]\nshell = \"/bin/sh\"\n");
    let e = one_line(&resolve(&o, None, None).unwrap_err());
    assert!(e.contains("shell"), "unknown keys are refused: {e}");
}
