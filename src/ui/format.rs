//! Figures as text: sizes in binary units, compact durations, ages, UTC times, key names.

use std::time::Duration;

use crate::keys::Key;

/// A size in bytes with a binary unit: `512B`, `1.5K`, `64M`, `1.0G`.
pub fn bytes(n: u64) -> String {
    fleetdeck_core::format::bytes_short(n)
}

/// A duration in at most two units: `45s`, `12m`, `3h12m`, `5d3h`.
pub fn duration(d: Duration) -> String {
    fleetdeck_core::format::duration(d)
}

/// How long ago something happened: `12s ago`, `3m ago`.
pub fn ago(d: Duration) -> String {
    format!("{} ago", duration(d))
}

/// Milliseconds between two wall-clock times, never negative.
pub fn since_ms(then_unix_ms: u64, now_unix_ms: u64) -> Duration {
    Duration::from_millis(now_unix_ms.saturating_sub(then_unix_ms))
}

/// A percentage with one decimal, without the sign (the column header carries it).
pub fn pct(p: f32) -> String {
    format!("{p:.1}")
}

/// A wall-clock time in UTC to the second, `2026-11-24 11:00:00`.
pub fn utc(unix_ms: u64) -> String {
    i64::try_from(unix_ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || "-".to_string(),
            |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
        )
}

/// The first 12 characters of a container id, as `docker ps` shows it.
pub fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// A key name as the user reads it, without the config file's angle brackets: `Tab`, `Ctrl-d`.
pub fn key_text(name: &str) -> String {
    match name.strip_prefix('<').and_then(|t| t.strip_suffix('>')) {
        Some(inner) if !inner.is_empty() => inner.to_string(),
        _ => name.to_string(),
    }
}

/// The key for `command` in `mode` as the user reads it (`Esc`, `Enter`), for the hints
/// of dialogs and prompts; `?` when the command is unbound there.
pub fn mode_key(
    keymap: &crate::keys::KeyMap,
    mode: crate::keys::Mode,
    command: crate::keys::Command,
) -> String {
    match keymap.hint_in(mode, command) {
        hint if hint.is_empty() => "?".to_string(),
        hint => key_text(&hint),
    }
}

/// The key for `command` in `mode` as a hint names it: `usual` (the default the hint was
/// written for, as a key name) while it is still bound to the command, else the key that is.
pub fn mode_key_or(
    keymap: &crate::keys::KeyMap,
    mode: crate::keys::Mode,
    command: crate::keys::Command,
    usual: &str,
) -> String {
    if bound(keymap, mode, command, usual) {
        key_text(usual)
    } else {
        mode_key(keymap, mode, command)
    }
}

/// The two keys of a paired hint (`j/k`, `+/-`, the arrows): `usual` while both default keys
/// (`usual_keys`, as key names) are still bound to `commands`, else the keys that are,
/// as `a/b`.
pub fn mode_pair(
    keymap: &crate::keys::KeyMap,
    mode: crate::keys::Mode,
    commands: (crate::keys::Command, crate::keys::Command),
    usual_keys: (&str, &str),
    usual: &str,
) -> String {
    if bound(keymap, mode, commands.0, usual_keys.0)
        && bound(keymap, mode, commands.1, usual_keys.1)
    {
        usual.to_string()
    } else {
        format!(
            "{}/{}",
            mode_key(keymap, mode, commands.0),
            mode_key(keymap, mode, commands.1)
        )
    }
}

/// True when the key named `name` runs `command` in `mode`.
fn bound(
    keymap: &crate::keys::KeyMap,
    mode: crate::keys::Mode,
    command: crate::keys::Command,
    name: &str,
) -> bool {
    crate::keys::parse_key(name).is_ok_and(|k| keymap.binds(mode, k, command))
}

/// A key as the user reads it.
pub fn key(key: &Key) -> String {
    key_text(&key.to_string())
}

/// Cuts `text` to at most `width` columns, marking the cut with an ellipsis.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::parse_key;

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(bytes(0), "0B");
        assert_eq!(bytes(1023), "1023B");
        assert_eq!(bytes(1536), "1.5K");
        assert_eq!(bytes(64 << 20), "64M");
        assert_eq!(bytes(512 << 20), "512M");
        assert_eq!(bytes(1 << 30), "1.0G");
        assert_eq!(bytes(500 << 30), "500G");
        assert_eq!(bytes(3 << 40), "3.0T");
    }

    #[test]
    fn durations_use_two_units_at_most() {
        assert_eq!(duration(Duration::from_secs(0)), "0s");
        assert_eq!(duration(Duration::from_secs(59)), "59s");
        assert_eq!(duration(Duration::from_secs(180)), "3m");
        assert_eq!(duration(Duration::from_secs(3 * 3600 + 12 * 60)), "3h12m");
        assert_eq!(duration(Duration::from_secs(5 * 86_400 + 3 * 3600)), "5d3h");
        assert_eq!(ago(Duration::from_secs(12)), "12s ago");
        assert_eq!(since_ms(10_000, 4_000), Duration::ZERO);
    }

    #[test]
    fn times_ids_and_keys() {
        assert_eq!(
            utc(crate::fixtures::FIXTURE_TIME_UNIX_MS),
            "2026-11-24 12:00:00"
        );
        assert_eq!(short_id("0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(key(&parse_key("<Tab>").unwrap()), "Tab");
        assert_eq!(key(&parse_key("<Ctrl-d>").unwrap()), "Ctrl-d");
        assert_eq!(key(&parse_key("?").unwrap()), "?");
        assert_eq!(key(&parse_key("<lt>").unwrap()), "<");
        assert_eq!(key_text(""), "");
        assert_eq!(fit("postgres:16", 6), "postg…");
        assert_eq!(fit("web", 6), "web");
    }
}
