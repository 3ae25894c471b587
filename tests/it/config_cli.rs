//! `fleetdeck config path|check|init` and theme/config errors, through the real binary
//! with fixture files: one clear line, the file, the line, the key, a non-zero status.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_fleetdeck");

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

/// Runs the binary with its config dir in `home` and no agents from the environment.
fn run(home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("FLEETDECK_AGENTS")
        .output()
        .expect("run fleetdeck")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The one line on stderr (asserting it is one line).
fn error_line(o: &Output) -> String {
    let text = String::from_utf8_lossy(&o.stderr).trim_end().to_string();
    assert_eq!(text.lines().count(), 1, "one line on stderr: {text}");
    assert_eq!(o.status.code(), Some(1), "exit status for: {text}");
    text
}

#[test]
fn path_init_check_and_no_overwrite() {
    let home = tempfile::tempdir().unwrap();
    let expected = home.path().join("config/fleetdeck/config.toml");
    let o = run(home.path(), &["config", "path"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o).trim(), expected.display().to_string());

    let o = run(home.path(), &["config", "check"]);
    assert!(o.status.success(), "no file is fine");
    assert!(
        stdout(&o).contains("no file, the defaults apply: OK"),
        "{}",
        stdout(&o)
    );

    let o = run(home.path(), &["config", "init"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let written = std::fs::read_to_string(&expected).unwrap();
    assert!(written.contains("# fleetdeck configuration"), "{written}");
    assert!(written.contains("wall_rotate_secs = 20"), "{written}");

    let o = run(home.path(), &["config", "check"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o).trim(), format!("{}: OK", expected.display()));

    std::fs::write(&expected, "theme = \"light\"\n").unwrap();
    let line = error_line(&run(home.path(), &["config", "init"]));
    assert!(
        line.contains("already exists") && line.contains("--force"),
        "{line}"
    );
    assert_eq!(
        std::fs::read_to_string(&expected).unwrap(),
        "theme = \"light\"\n"
    );
    let o = run(home.path(), &["config", "init", "--force"]);
    assert!(o.status.success());
    assert!(
        std::fs::read_to_string(&expected)
            .unwrap()
            .contains("# fleetdeck configuration")
    );
}

#[test]
fn check_names_the_file_the_line_and_the_key() {
    let home = tempfile::tempdir().unwrap();
    for (file, wants) in [
        (
            "wrong-type.toml",
            vec!["line 3", "refresh_interval_ms", "a whole number"],
        ),
        (
            "unknown-key.toml",
            vec!["line 2", "wall_rotate_seconds", "unknown field"],
        ),
        (
            "out-of-range.toml",
            vec!["line 1", "heatmap_window_mins", "use 1 to 60"],
        ),
        (
            "bad-key-binding.toml",
            vec!["[keys]", "unknown command \"explode\""],
        ),
        (
            "unknown-theme.toml",
            vec!["unknown theme `solarized`", "high-contrast"],
        ),
    ] {
        let path = fixture(&format!("config/{file}"));
        let line = error_line(&run(
            home.path(),
            &["config", "check", "--config", path.to_str().unwrap()],
        ));
        assert!(line.starts_with("fleetdeck: "), "{line}");
        for want in wants {
            assert!(line.contains(want), "{file}: want {want:?} in: {line}");
        }
        if file != "unknown-theme.toml" {
            assert!(line.contains(file), "{file}: names the file: {line}");
        }
    }
}

#[test]
fn a_broken_theme_is_one_line_naming_file_line_and_key() {
    let home = tempfile::tempdir().unwrap();
    for (file, line_no, key, what) in [
        (
            "bad-colour.toml",
            3,
            "crit.fg",
            "`vermilion` is not a colour",
        ),
        (
            "unknown-style.toml",
            3,
            "warn.blink",
            "unknown field `blink`",
        ),
    ] {
        let path = fixture(&format!("themes/{file}"));
        let path = path.to_str().unwrap();
        // Through `config check --theme` and when the console starts.
        for args in [
            vec!["config", "check", "--theme", path],
            vec!["--agent", "127.0.0.1:9", "--theme", path],
        ] {
            let line = error_line(&run(home.path(), &args));
            assert!(
                line.contains(&format!("theme file {path}, line {line_no} (`{key}`)")),
                "{line}"
            );
            assert!(line.contains(what), "{line}");
        }
    }
}

#[test]
fn user_themes_load_by_name_from_the_config_dir() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("config/fleetdeck/themes");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture("themes/ops.toml"), dir.join("ops.toml")).unwrap();
    let o = run(home.path(), &["config", "check", "--theme", "ops"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = error_line(&run(home.path(), &["config", "check", "--theme", "nope"]));
    assert!(
        line.contains(&dir.display().to_string()),
        "says where to put it: {line}"
    );
}

#[test]
fn check_refuses_bad_notify_settings_with_file_line_and_key() {
    let home = tempfile::tempdir().unwrap();
    for (file, wants) in [
        (
            "notify-bad-url.toml",
            vec![
                "line 4",
                "notify.alertmanager",
                "\"127.0.0.1:9094\"",
                "http://",
            ],
        ),
        (
            "notify-unknown-format.toml",
            vec!["line 6", "format", "teams", "slack"],
        ),
        (
            "notify-webhook-scheme.toml",
            vec!["line 4", "notify.webhook.url", "ftp", "http://"],
        ),
    ] {
        let path = fixture(&format!("config/{file}"));
        let line = error_line(&run(
            home.path(),
            &["config", "check", "--config", path.to_str().unwrap()],
        ));
        assert!(line.starts_with("fleetdeck: "), "{line}");
        assert!(line.contains(file), "{file}: names the file: {line}");
        for want in wants {
            assert!(line.contains(want), "{file}: want {want:?} in: {line}");
        }
    }
    // The same check stops the monitor before it starts.
    let path = fixture("config/notify-bad-url.toml");
    let line = error_line(&run(
        home.path(),
        &["monitor", "--config", path.to_str().unwrap()],
    ));
    assert!(
        line.contains("line 4") && line.contains("notify.alertmanager"),
        "{line}"
    );
    let line = error_line(&run(
        home.path(),
        &[
            "monitor",
            "--agent",
            "127.0.0.1:7070",
            "--alertmanager",
            "am:9093",
        ],
    ));
    assert!(
        line.contains("--alertmanager") && line.contains("http://"),
        "{line}"
    );
}
