//! Checks on every request field that reaches the engine, the filesystem or a log, before
//! anything else reads it: lengths, NUL and control characters, `..`, shell metacharacters.
//! Each error is one line naming the field and what is allowed.

use fleetdeck_proto as pb;

/// Longest action id.
pub const MAX_ACTION_ID_BYTES: usize = 128;
/// Longest `requested_by`.
pub const MAX_REQUESTED_BY_BYTES: usize = 256;
/// Longest container reference (a full engine id is 64 hex digits; names are shorter).
pub const MAX_CONTAINER_REF_BYTES: usize = 255;
/// Longest client name kept for the log.
pub const MAX_CLIENT_NAME_CHARS: usize = 128;
/// Longest label key.
pub const MAX_LABEL_KEY_BYTES: usize = 128;
/// Longest label value.
pub const MAX_LABEL_VALUE_BYTES: usize = 1024;
/// Most of a caller's text an error message echoes (then `…`).
pub const SHOWN_MAX_BYTES: usize = 64;

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Free text kept for the record (action id, requested_by): no control characters
/// (NUL, line breaks, escapes that would forge log lines), bounded length.
pub fn text(field: &str, s: &str, max: usize, required: bool) -> Result<(), String> {
    if required && s.trim().is_empty() {
        return Err(format!("{field} is empty"));
    }
    if s.len() > max {
        return Err(format!("{field} is longer than {max} bytes"));
    }
    if has_control(s) {
        return Err(format!(
            "{field} contains control characters (NUL, line breaks, escapes); use printable text"
        ));
    }
    Ok(())
}

/// A container id or name as a client may give it: an optional leading `/` (the engine's
/// form), then a letter or digit, then letters, digits, `_`, `.`, `-`; no `..`.
pub fn container_ref(field: &str, s: &str) -> Result<(), String> {
    let body = s.strip_prefix('/').unwrap_or(s);
    let ok = !body.is_empty()
        && s.len() <= MAX_CONTAINER_REF_BYTES
        && body.starts_with(|c: char| c.is_ascii_alphanumeric())
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && !body.contains("..");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{field} `{}` is not a container id or name: use up to {MAX_CONTAINER_REF_BYTES} letters, digits, `_`, `.`, `-` (no `..`)",
            shown(s)
        ))
    }
}

/// A label (`--label`, `--scope-label`): key of letters, digits, `.`, `_`, `-`, `/`, not
/// starting with `/` or holding `..`; value printable text.
pub fn label(key: &str, value: &str) -> Result<(), String> {
    let key_ok = !key.is_empty()
        && key.len() <= MAX_LABEL_KEY_BYTES
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
        && !key.starts_with('/')
        && !key.contains("..");
    if !key_ok {
        return Err(format!(
            "label key `{}` is not valid: use up to {MAX_LABEL_KEY_BYTES} letters, digits, `.`, `_`, `-`, `/`",
            shown(key)
        ));
    }
    text(
        &format!("label `{key}`"),
        value,
        MAX_LABEL_VALUE_BYTES,
        false,
    )
}

/// `s` as an error message may echo it: printable ASCII, everything else escaped (`\0`
/// as `\u{0}`, a line break as `\n`), at most [`SHOWN_MAX_BYTES`] then `…`. Replies
/// carry messages in a header the client caps, and logs are read line by line.
pub fn shown(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let plain = c == ' ' || (c.is_ascii_graphic() && c != '\\');
        let width = if plain { 1 } else { c.escape_default().len() };
        // Whole escapes only: a cut `\u{` would read as something else.
        if out.len() + width > SHOWN_MAX_BYTES {
            out.push('…');
            break;
        }
        if plain {
            out.push(c);
        } else {
            out.extend(c.escape_default());
        }
    }
    out
}

/// A client's self-chosen name, made safe for the log (never refused: it is only a label).
pub fn client_name(s: &str) -> String {
    s.chars()
        .take(MAX_CLIENT_NAME_CHARS)
        .flat_map(char::escape_debug)
        .collect()
}

/// Checks an Act request's free fields and its target.
pub fn act_request(req: &pb::ActRequest) -> Result<(), String> {
    use pb::act_request::Action as A;
    text("action_id", &req.action_id, MAX_ACTION_ID_BYTES, true)?;
    text(
        "requested_by",
        &req.requested_by,
        MAX_REQUESTED_BY_BYTES,
        false,
    )?;
    match &req.action {
        Some(A::Container(c)) => container_ref("container", c.container.trim()),
        Some(A::Backup(b)) => container_ref("container", b.container.trim()),
        Some(A::SimFault(f)) => container_ref("container", f.container.trim()),
        Some(A::Restore(r)) => backup_id(&r.backup_id),
        Some(A::Note(n)) => {
            text("note kind", &n.kind, 64, true)?;
            text("note target", &n.target, MAX_CONTAINER_REF_BYTES, false)?;
            text("note message", &n.message, 4096, false)
        }
        Some(A::Create(c)) => {
            for (k, v) in &c.labels {
                label(k, v)?;
            }
            c.spec.as_ref().map_or(Ok(()), spec)
        }
        Some(A::Node(_)) | None => Ok(()),
    }
}

/// A backup id: it names a file in the backup registry, so no separators, no `..`.
pub fn backup_id(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= MAX_CONTAINER_REF_BYTES
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && !s.contains("..")
        && !s.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "backup id `{}` is not valid: use the id `fleetdeck` lists (letters, digits, `_`, `.`, `-`)",
            shown(s)
        ))
    }
}

/// A container spec to create: its name and volume names reach the engine and the
/// filesystem; NUL cannot be passed to either.
pub fn spec(s: &pb::PortableSpec) -> Result<(), String> {
    if !s.name.is_empty() {
        container_ref("spec name", &s.name)?;
    }
    text("spec image", &s.image, 512, false)?;
    for v in &s.volumes {
        // A mount below the top level (`/etc/app`) is named with `~` between its parts.
        if v.split('~')
            .any(|part| container_ref("volume name", part).is_err())
        {
            return Err(format!(
                "volume name `{}` is not valid: use letters, digits, `_`, `.`, `-`, with `~` between the parts of a nested mount path",
                shown(v)
            ));
        }
        if v.starts_with('/') {
            return Err(format!("volume name `{}` must be a plain name", shown(v)));
        }
    }
    for (k, v) in &s.labels {
        label(k, v)?;
    }
    for (k, v) in &s.env {
        if k.is_empty() || k.contains(['=', '\0']) || has_control(k) || v.contains('\0') {
            return Err(format!("environment variable `{}` is not valid", shown(k)));
        }
    }
    Ok(())
}

/// Checks a Logs request: its container reference and tail; returns the reference, trimmed.
pub fn logs_request(req: &pb::LogsRequest) -> Result<&str, String> {
    let target = req.container.trim();
    container_ref("container", target)?;
    if req.tail > crate::logs::MAX_TAIL_LINES {
        return Err(format!(
            "tail {} is more than the {} lines allowed",
            req.tail,
            crate::logs::MAX_TAIL_LINES
        ));
    }
    Ok(target)
}

/// A History request within what the agent keeps, as the bounds it asks for (0 = all
/// held, none for containers).
pub fn history_request(req: &pb::HistoryRequest) -> Result<crate::history::Wanted, String> {
    use crate::history::{FINE_SAMPLES, MINUTES, Wanted};
    let within = |field: &str, v: u32, max: usize, zero: usize| {
        let v = v as usize;
        if v > max {
            Err(format!(
                "{field} {v} is more than the {max} this agent keeps; ask for at most {max}"
            ))
        } else {
            Ok(if v == 0 { zero } else { v })
        }
    };
    Ok(Wanted {
        since_unix_ms: req.since_unix_ms,
        node_samples: within("node_samples", req.node_samples, FINE_SAMPLES, FINE_SAMPLES)?,
        container_samples: within("container_samples", req.container_samples, FINE_SAMPLES, 0)?,
        minutes: within("minutes", req.minutes, MINUTES, MINUTES)?,
    })
}

/// Most arguments an exec command may have (the command included).
pub const MAX_EXEC_ARGS: usize = 256;
/// Longest exec argument, bytes.
pub const MAX_EXEC_ARG_BYTES: usize = 4096;
/// Most bytes of all exec arguments together.
pub const MAX_EXEC_ARGV_BYTES: usize = 64 * 1024;
/// Most stdin bytes in one exec message.
pub const MAX_EXEC_STDIN_BYTES: usize = 64 * 1024;
/// Largest terminal side, rows or columns.
pub const MAX_TERMINAL_SIDE: u32 = 1000;
/// Signals a client may send an exec session, by name without `SIG`.
pub const EXEC_SIGNALS: &[&str] = &[
    "INT", "TERM", "HUP", "QUIT", "KILL", "USR1", "USR2", "WINCH", "TSTP", "CONT",
];

/// An exec session's first message: the container it names (trimmed) and what to run.
pub fn exec_start(start: &pb::ExecStart) -> Result<(&str, crate::exec::ExecSpec), String> {
    let target = start.container.trim();
    container_ref("container", target)?;
    if start.command.is_empty() {
        return Err("exec needs a command: give at least its name".into());
    }
    if start.command.len() > MAX_EXEC_ARGS {
        return Err(format!(
            "the command has {} arguments; at most {MAX_EXEC_ARGS}",
            start.command.len()
        ));
    }
    let mut total = 0;
    for arg in &start.command {
        if arg.len() > MAX_EXEC_ARG_BYTES || arg.contains('\0') {
            return Err(format!(
                "argument `{}` is not usable: at most {MAX_EXEC_ARG_BYTES} bytes and no NUL",
                shown(arg)
            ));
        }
        total += arg.len();
    }
    if total > MAX_EXEC_ARGV_BYTES {
        return Err(format!(
            "the command is {total} bytes long; at most {MAX_EXEC_ARGV_BYTES}"
        ));
    }
    if start.command[0].is_empty() {
        return Err("the command's name is empty".into());
    }
    let (rows, cols) = terminal_size(start.rows, start.cols)?;
    Ok((
        target,
        crate::exec::ExecSpec {
            command: start.command.clone(),
            tty: start.tty,
            stdin: start.stdin,
            rows,
            cols,
        },
    ))
}

/// A terminal size from the wire: each side at most [`MAX_TERMINAL_SIDE`] (0 = default).
fn terminal_size(rows: u32, cols: u32) -> Result<(u16, u16), String> {
    let side = |n: u32| {
        u16::try_from(n)
            .ok()
            .filter(|&n| u32::from(n) <= MAX_TERMINAL_SIDE)
    };
    match (side(rows), side(cols)) {
        (Some(r), Some(c)) => Ok((r, c)),
        _ => Err(format!(
            "terminal size {rows}x{cols} is not usable: at most {MAX_TERMINAL_SIDE} rows and columns"
        )),
    }
}

/// An exec session's later message, as what it asks of the command.
pub fn exec_input(input: &pb::ExecInput) -> Result<crate::exec::ExecControl, String> {
    use crate::exec::ExecControl;
    use pb::exec_input::Input;
    match &input.input {
        None => Err("an exec message carried nothing".into()),
        Some(Input::Start(_)) => Err("the session is already open; send start only once".into()),
        Some(Input::Stdin(b)) if b.len() > MAX_EXEC_STDIN_BYTES => Err(format!(
            "{} stdin bytes in one message; at most {MAX_EXEC_STDIN_BYTES}",
            b.len()
        )),
        Some(Input::Stdin(b)) => Ok(ExecControl::Stdin(b.clone())),
        Some(Input::Resize(r)) => {
            let (rows, cols) = terminal_size(r.rows, r.cols)?;
            Ok(ExecControl::Resize { rows, cols })
        }
        Some(Input::Signal(name)) => {
            let name = name.trim().trim_start_matches("SIG");
            if EXEC_SIGNALS.contains(&name) {
                Ok(ExecControl::Signal(name.to_owned()))
            } else {
                Err(format!(
                    "signal `{}` is not one exec sends; use one of {}",
                    shown(name),
                    EXEC_SIGNALS.join(", ")
                ))
            }
        }
        Some(Input::CloseStdin(_)) => Ok(ExecControl::CloseStdin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stop(container: &str, id: &str) -> pb::ActRequest {
        pb::ActRequest {
            action_id: id.into(),
            action: Some(pb::act_request::Action::Container(pb::ContainerAction {
                verb: pb::container_action::Verb::Stop as i32,
                container: container.into(),
            })),
            ..Default::default()
        }
    }

    #[test]
    fn history_requests_stay_within_what_is_kept() {
        let ok = history_request(&pb::HistoryRequest::default()).unwrap();
        assert_eq!(
            (ok.node_samples, ok.container_samples, ok.minutes),
            (600, 0, 1440)
        );
        let err = history_request(&pb::HistoryRequest {
            container_samples: 601,
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.contains("container_samples 601"), "{err}");
        assert!(
            history_request(&pb::HistoryRequest {
                minutes: u32::MAX,
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn hostile_container_refs_are_refused() {
        for bad in [
            "..",
            "../etc/passwd",
            "a/../b",
            "a..b",
            "web\0",
            "web;rm -rf /",
            "$(reboot)",
            "`id`",
            "a|b",
            "a&b",
            "a b",
            "a\nb",
            "/",
            "",
            ".hidden",
            "-rf",
            &"a".repeat(256),
        ] {
            assert!(container_ref("container", bad).is_err(), "{bad:?}");
            assert!(act_request(&stop(bad, "a1")).is_err(), "{bad:?}");
            let logs = pb::LogsRequest {
                container: bad.into(),
                ..Default::default()
            };
            assert!(logs_request(&logs).is_err(), "{bad:?}");
        }
        for good in ["web-1", "/web_1", "0123456789abcdef", "db.primary"] {
            assert!(container_ref("container", good).is_ok(), "{good}");
        }
    }

    #[test]
    fn specs_to_create_are_checked() {
        let ok = pb::PortableSpec {
            name: "web-2".into(),
            image: "app:1".into(),
            volumes: vec!["data".into(), "etc~app".into()],
            env: [("A".to_string(), "x=y; $(z)".to_string())].into(),
            ..Default::default()
        };
        assert!(spec(&ok).is_ok());
        for bad in [
            pb::PortableSpec {
                volumes: vec!["../etc".into()],
                ..ok.clone()
            },
            pb::PortableSpec {
                volumes: vec!["/data".into()],
                ..ok.clone()
            },
            pb::PortableSpec {
                volumes: vec!["etc~..~x".into()],
                ..ok.clone()
            },
            pb::PortableSpec {
                volumes: vec!["etc~~x".into()],
                ..ok.clone()
            },
            pb::PortableSpec {
                name: "a/../b".into(),
                ..ok.clone()
            },
            pb::PortableSpec {
                image: "img\0".into(),
                ..ok.clone()
            },
            pb::PortableSpec {
                env: [("A=B".to_string(), String::new())].into(),
                ..ok.clone()
            },
            pb::PortableSpec {
                env: [("A".to_string(), "\0".to_string())].into(),
                ..ok.clone()
            },
        ] {
            assert!(spec(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn action_ids_and_labels() {
        assert!(act_request(&stop("web", "")).is_err());
        assert!(act_request(&stop("web", "a\0b")).is_err());
        assert!(act_request(&stop("web", "a\nforged")).is_err());
        assert!(act_request(&stop("web", &"x".repeat(129))).is_err());
        assert!(
            act_request(&stop("web", "ok-1; rm")).is_ok(),
            "ids are only recorded"
        );
        assert!(label("team", "a b c").is_ok());
        for (k, v) in [
            ("", "x"),
            ("../k", "x"),
            ("/k", "x"),
            ("k;", "x"),
            ("k", "\0"),
        ] {
            assert!(label(k, v).is_err(), "{k:?}={v:?}");
        }
        let e = container_ref("container", "a\u{1b}[2J").unwrap_err();
        assert!(!e.contains('\u{1b}') && !e.contains('\n'), "{e}");
        assert_eq!(client_name("x\ny"), "x\\ny");
    }

    #[test]
    fn shown_is_short_printable_ascii() {
        assert_eq!(shown("web-1"), "web-1");
        assert_eq!(shown("a\0b\nc\\"), "a\\u{0}b\\nc\\\\");
        assert_eq!(shown("é"), "\\u{e9}");
        let long = shown(&"x".repeat(100 * 1024));
        assert_eq!(long, format!("{}…", "x".repeat(SHOWN_MAX_BYTES)));
        // An escape is kept whole or left out, never cut.
        let nuls = shown(&"\0".repeat(100));
        assert!(nuls.ends_with("\\u{0}…"), "{nuls}");
        assert!(nuls.len() <= SHOWN_MAX_BYTES + '…'.len_utf8(), "{nuls}");
    }

    proptest! {
        #[test]
        fn shown_is_bounded(s in "\\PC{0,200}|[\\x00-\\x1f\\\\]{0,100}|.{0,200}") {
            let out = shown(&s);
            prop_assert!(out.len() <= SHOWN_MAX_BYTES + '…'.len_utf8());
            prop_assert!(out.trim_end_matches('…').chars().all(|c| c.is_ascii() && !c.is_ascii_control()));
        }

        #[test]
        fn accepted_refs_are_inert(s in "\\PC{0,300}|[a-z0-9./;$`|&\\x00-\\x1f -]{0,40}") {
            if container_ref("c", &s).is_ok() {
                prop_assert!(!s.contains(".."));
                prop_assert!(!s[1..].contains('/'));
                prop_assert!(s.len() <= MAX_CONTAINER_REF_BYTES);
                prop_assert!(s.chars().all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c)));
            }
        }

        #[test]
        fn decoding_any_bytes_then_validating_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            use prost::Message;
            if let Ok(req) = pb::ActRequest::decode(bytes.as_slice()) {
                let verdict = act_request(&req);
                if verdict.is_ok() {
                    prop_assert!(!req.action_id.contains('\0'));
                    prop_assert!(req.action_id.len() <= MAX_ACTION_ID_BYTES);
                }
                let _ = crate::convert::action(&req);
                let _ = crate::server::auth::action_role(&req);
            }
            if let Ok(req) = pb::LogsRequest::decode(bytes.as_slice()) {
                let _ = logs_request(&req);
            }
        }

        #[test]
        fn labels_never_accept_control_or_traversal(k in "\\PC{0,40}|[a-z./\\x00]{0,10}", v in "\\PC{0,40}|[\\x00-\\x1f]{0,3}") {
            if label(&k, &v).is_ok() {
                prop_assert!(!k.contains("..") && !k.starts_with('/'));
                prop_assert!(!v.chars().any(char::is_control));
            }
        }
    }
}
