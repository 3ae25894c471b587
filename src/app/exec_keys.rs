//! Keys as the bytes an xterm sends for them, for the remote shell of the exec pane: Ctrl
//! chords as control bytes, Alt as an ESC prefix, cursor and editing keys as xterm escape
//! sequences (with the modifier parameter when Shift, Alt or Ctrl is held), pastes as text.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// The bytes `key` sends; `app_cursor` is the remote's cursor-key mode (DECCKM: full-screen
/// programs such as `vi` and `less` ask for `ESC O A` instead of `ESC [ A`). None for keys
/// a terminal sends nothing for (releases, bare modifiers, media keys).
pub fn encode(key: KeyEvent, app_cursor: bool) -> Option<Vec<u8>> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let mods = key.modifiers;
    let alt = mods.contains(KeyModifiers::ALT);
    let ctrl = mods.contains(KeyModifiers::CONTROL);
    let mut out = Vec::new();
    match key.code {
        KeyCode::Char(c) => {
            if alt {
                out.push(0x1b);
            }
            match ctrl.then(|| control_byte(c)).flatten() {
                Some(b) => out.push(b),
                None => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        KeyCode::Enter => prefixed(&mut out, alt, b"\r"),
        KeyCode::Tab => prefixed(&mut out, alt, b"\t"),
        KeyCode::BackTab => out.extend_from_slice(b"\x1b[Z"),
        // Ctrl-Backspace is ^H, as xterm sends it.
        KeyCode::Backspace => prefixed(&mut out, alt, if ctrl { b"\x08" } else { b"\x7f" }),
        KeyCode::Esc => prefixed(&mut out, alt, b"\x1b"),
        KeyCode::Up => cursor(&mut out, b'A', mods, app_cursor),
        KeyCode::Down => cursor(&mut out, b'B', mods, app_cursor),
        KeyCode::Right => cursor(&mut out, b'C', mods, app_cursor),
        KeyCode::Left => cursor(&mut out, b'D', mods, app_cursor),
        KeyCode::Home => cursor(&mut out, b'H', mods, app_cursor),
        KeyCode::End => cursor(&mut out, b'F', mods, app_cursor),
        KeyCode::Insert => tilde(&mut out, 2, mods),
        KeyCode::Delete => tilde(&mut out, 3, mods),
        KeyCode::PageUp => tilde(&mut out, 5, mods),
        KeyCode::PageDown => tilde(&mut out, 6, mods),
        KeyCode::F(n @ 1..=4) => {
            let last = b'P' + (n - 1);
            match modifier_param(mods) {
                Some(m) => out.extend_from_slice(format!("\x1b[1;{m}{}", last as char).as_bytes()),
                None => out.extend_from_slice(&[0x1b, b'O', last]),
            }
        }
        KeyCode::F(n @ 5..=12) => {
            // xterm skips 16 and 22.
            const CODES: [u16; 8] = [15, 17, 18, 19, 20, 21, 23, 24];
            tilde(&mut out, CODES[usize::from(n - 5)], mods);
        }
        _ => return None,
    }
    Some(out)
}

/// A paste, as the shell should get it: wrapped in the bracketed-paste markers when the
/// remote asked for them (so a pasted newline is not Enter), with the end marker taken out
/// of the text so a paste cannot end the bracket early. Line ends become CR, as typed.
pub fn paste(text: &str, bracketed: bool) -> Vec<u8> {
    let text = text.replace("\r\n", "\r").replace('\n', "\r");
    if bracketed {
        let inner = text.replace("\x1b[201~", "");
        let mut out = Vec::with_capacity(inner.len() + 12);
        out.extend_from_slice(b"\x1b[200~");
        out.extend_from_slice(inner.as_bytes());
        out.extend_from_slice(b"\x1b[201~");
        out
    } else {
        text.into_bytes()
    }
}

/// The control byte Ctrl+`c` sends, as xterm maps it: letters to 1-26, `@`/space/`2` to
/// NUL, `[`/`3` to ESC, `\`/`4`, `]`/`5`, `^`/`6`, `_`/`7`/`/` to 28-31, `?`/`8` to DEL.
fn control_byte(c: char) -> Option<u8> {
    let b = u8::try_from(c).ok()?;
    Some(match b {
        b'a'..=b'z' => b - b'a' + 1,
        b'A'..=b'Z' => b - b'A' + 1,
        b'@' | b' ' | b'2' => 0,
        b'[' | b'3' => 0x1b,
        b'\\' | b'4' => 0x1c,
        b']' | b'5' => 0x1d,
        b'^' | b'6' => 0x1e,
        b'_' | b'7' | b'/' | b'-' => 0x1f,
        b'?' | b'8' => 0x7f,
        _ => return None,
    })
}

fn prefixed(out: &mut Vec<u8>, alt: bool, bytes: &[u8]) {
    if alt {
        out.push(0x1b);
    }
    out.extend_from_slice(bytes);
}

/// xterm's modifier parameter: 1 + Shift 1 + Alt 2 + Ctrl 4; None without modifiers.
fn modifier_param(mods: KeyModifiers) -> Option<u8> {
    let mut m = 1;
    if mods.contains(KeyModifiers::SHIFT) {
        m += 1;
    }
    if mods.contains(KeyModifiers::ALT) {
        m += 2;
    }
    if mods.contains(KeyModifiers::CONTROL) {
        m += 4;
    }
    (m > 1).then_some(m)
}

/// Arrows, Home and End: `ESC [ A`, `ESC O A` in cursor-key mode, `ESC [ 1 ; m A` with
/// modifiers.
fn cursor(out: &mut Vec<u8>, last: u8, mods: KeyModifiers, app_cursor: bool) {
    match modifier_param(mods) {
        Some(m) => out.extend_from_slice(format!("\x1b[1;{m}{}", last as char).as_bytes()),
        None if app_cursor => out.extend_from_slice(&[0x1b, b'O', last]),
        None => out.extend_from_slice(&[0x1b, b'[', last]),
    }
}

/// Editing and function keys: `ESC [ n ~`, `ESC [ n ; m ~` with modifiers.
fn tilde(out: &mut Vec<u8>, n: u16, mods: KeyModifiers) {
    let text = match modifier_param(mods) {
        Some(m) => format!("\x1b[{n};{m}~"),
        None => format!("\x1b[{n}~"),
    };
    out.extend_from_slice(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> Vec<u8> {
        encode(KeyEvent::new(code, modifiers), false).unwrap_or_default()
    }

    #[test]
    fn text_and_control_chords_are_the_bytes_a_terminal_sends() {
        let none = KeyModifiers::NONE;
        let ctrl = KeyModifiers::CONTROL;
        assert_eq!(key(KeyCode::Char('l'), none), b"l");
        assert_eq!(key(KeyCode::Char('L'), KeyModifiers::SHIFT), b"L");
        assert_eq!(key(KeyCode::Char('é'), none), "é".as_bytes());
        assert_eq!(key(KeyCode::Char('c'), ctrl), [0x03]);
        assert_eq!(key(KeyCode::Char('d'), ctrl), [0x04]);
        assert_eq!(key(KeyCode::Char('z'), ctrl), [0x1a]);
        // crossterm reports the byte 0x1c as Ctrl-4; both are Ctrl-\.
        assert_eq!(key(KeyCode::Char('\\'), ctrl), [0x1c]);
        assert_eq!(key(KeyCode::Char('4'), ctrl), [0x1c]);
        assert_eq!(key(KeyCode::Char(' '), ctrl), [0x00]);
        assert_eq!(key(KeyCode::Char('b'), KeyModifiers::ALT), b"\x1bb");
        assert_eq!(
            key(KeyCode::Char('x'), KeyModifiers::ALT | ctrl),
            [0x1b, 0x18]
        );
        assert_eq!(key(KeyCode::Enter, none), b"\r");
        assert_eq!(key(KeyCode::Backspace, none), [0x7f]);
        assert_eq!(key(KeyCode::Tab, none), b"\t");
        assert_eq!(key(KeyCode::BackTab, KeyModifiers::SHIFT), b"\x1b[Z");
        assert_eq!(key(KeyCode::Esc, none), b"\x1b");
    }

    #[test]
    fn cursor_and_editing_keys_are_xterm_sequences() {
        let none = KeyModifiers::NONE;
        assert_eq!(key(KeyCode::Up, none), b"\x1b[A");
        assert_eq!(key(KeyCode::Left, none), b"\x1b[D");
        assert_eq!(key(KeyCode::Home, none), b"\x1b[H");
        assert_eq!(key(KeyCode::End, none), b"\x1b[F");
        assert_eq!(key(KeyCode::PageUp, none), b"\x1b[5~");
        assert_eq!(key(KeyCode::PageDown, none), b"\x1b[6~");
        assert_eq!(key(KeyCode::Delete, none), b"\x1b[3~");
        assert_eq!(key(KeyCode::Insert, none), b"\x1b[2~");
        assert_eq!(key(KeyCode::F(1), none), b"\x1bOP");
        assert_eq!(key(KeyCode::F(5), none), b"\x1b[15~");
        assert_eq!(key(KeyCode::F(12), none), b"\x1b[24~");
        // With modifiers: the xterm parameter.
        assert_eq!(key(KeyCode::Right, KeyModifiers::CONTROL), b"\x1b[1;5C");
        assert_eq!(key(KeyCode::Up, KeyModifiers::SHIFT), b"\x1b[1;2A");
        assert_eq!(key(KeyCode::Delete, KeyModifiers::ALT), b"\x1b[3;3~");
        assert_eq!(key(KeyCode::F(2), KeyModifiers::CONTROL), b"\x1b[1;5Q");
        // Cursor-key mode, asked for by full-screen programs.
        let up = KeyEvent::new(KeyCode::Up, none);
        assert_eq!(encode(up, true).unwrap(), b"\x1bOA");
        let release = KeyEvent {
            kind: KeyEventKind::Release,
            ..up
        };
        assert_eq!(encode(release, false), None);
        assert_eq!(encode(KeyEvent::new(KeyCode::CapsLock, none), false), None);
    }

    #[test]
    fn pastes_are_bracketed_when_asked_and_cannot_close_the_bracket() {
        assert_eq!(paste("ls\n", false), b"ls\r");
        assert_eq!(paste("a\r\nb", true), b"\x1b[200~a\rb\x1b[201~");
        assert_eq!(
            paste("x\x1b[201~rm -rf /\n", true),
            b"\x1b[200~xrm -rf /\r\x1b[201~"
        );
    }
}
