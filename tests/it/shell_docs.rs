//! Shell completions and man pages of both binaries, as they print them: every shell's
//! script comes out, bash's parses with `bash -n`, zsh's with `zsh -n` and fish's with
//! `fish -n` where those shells are installed, and the man pages render through `man -l`
//! where man is installed, without a warning.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail the test on unexpected errors"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::support::binaries;

const SHELLS: [&str; 5] = ["bash", "zsh", "fish", "elvish", "powershell"];

fn both() -> [(&'static str, PathBuf); 2] {
    [
        ("fleetdeck", PathBuf::from(binaries::CONSOLE)),
        ("fleetdeck-agent", binaries::agent()),
    ]
}

fn run(bin: &Path, args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(bin)
        .args(args)
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env_remove("FLEETDECK_AGENTS")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout_of(bin: &Path, args: &[&str]) -> String {
    let out = run(bin, args);
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `shell -n FILE`: parse without running.
fn parses(shell: &str, file: &Path) {
    let out = Command::new(shell)
        .arg("-n")
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{shell} -n {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn completions_are_printed_for_every_shell_and_parse() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bin) in both() {
        for shell in SHELLS {
            let script = stdout_of(&bin, &["completions", shell]);
            assert!(script.contains(name), "{name} {shell}: {script}");
            // The subcommands and their flags are in it, so they come from the clap
            // definition and not from a copy.
            let (sub, flag) = if name == "fleetdeck" {
                ("get", "--agent")
            } else {
                ("pki", "--san")
            };
            // (fish names long flags without their dashes: `-l agent`.)
            let words: Vec<&str> = script
                .split(|c: char| !c.is_alphanumeric() && c != '-')
                .collect();
            let flag_word = if shell == "fish" {
                flag.trim_start_matches('-')
            } else {
                flag
            };
            assert!(
                words.contains(&sub) && words.contains(&flag_word),
                "{name} {shell}"
            );
            let file = dir.path().join(format!("{name}.{shell}"));
            std::fs::write(&file, &script).unwrap();
            let checker = match shell {
                "bash" | "zsh" | "fish" => shell,
                _ => continue,
            };
            if shell == "bash" || binaries::installed(checker) {
                parses(checker, &file);
            } else {
                eprintln!("{checker} is not installed: its completions are not parsed");
            }
        }
    }
}

#[test]
fn an_unknown_shell_is_refused_in_one_line() {
    for (name, bin) in both() {
        let out = run(&bin, &["completions", "tcsh"]);
        assert!(!out.status.success(), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.contains("tcsh") && first.contains("invalid value"),
            "{name}: {err}"
        );
        assert!(out.stdout.is_empty(), "{name}");
    }
}

#[test]
fn man_pages_are_roff_and_render() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bin) in both() {
        let page = stdout_of(&bin, &["man"]);
        assert!(page.contains(&format!(".TH {name} 1")), "{name}: {page}");
        let file = dir.path().join(format!("{name}.1"));
        std::fs::write(&file, &page).unwrap();
        if !binaries::installed("man") {
            eprintln!("man is not installed: the pages are not rendered");
            continue;
        }
        let out = Command::new("man")
            .arg("-l")
            .arg(&file)
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .env("MANWIDTH", "100")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "man -l {name}: {err}");
        assert!(err.trim().is_empty(), "man -l {name} warned: {err}");
        // Rendered, not echoed: no roff requests left, the sections are there.
        assert!(!text.contains(".TH") && !text.contains(".SH"), "{text}");
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SUBCOMMANDS"] {
            assert!(text.contains(section), "{name}: no {section} in\n{text}");
        }
        let (sub, flag) = if name == "fleetdeck" {
            ("completions", "--config")
        } else {
            ("pki", "--tls-cert")
        };
        assert!(text.contains(sub) && text.contains(flag), "{name}: {text}");
    }
}
