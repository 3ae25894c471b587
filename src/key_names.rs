//! Key names as the config file writes them (`j`, `<Ctrl-d>`, `<S-Tab>`): parsing, display,
//! and the normalised key a terminal event becomes. Part of `keys`.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key with its modifiers, normalised so lookups match what the terminal sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    /// Normalises a terminal key event (Shift is folded into letters, Shift-Tab is BackTab).
    pub fn from_event(event: KeyEvent) -> Self {
        let mut modifiers = event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let code = match event.code {
            KeyCode::Char(c) if event.modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(control_char(c))
            }
            KeyCode::BackTab => KeyCode::BackTab,
            other => other,
        };
        if matches!(code, KeyCode::Char(_)) || code == KeyCode::BackTab {
            // Shift is already in the character (or in BackTab).
        } else {
            modifiers |= event.modifiers & KeyModifiers::SHIFT;
        }
        Self { code, modifiers }
    }
}

/// The character of a Ctrl chord as bindings name it. A terminal sends one byte for
/// Ctrl-\ and Ctrl-4 (0x1c), Ctrl-] and Ctrl-5, Ctrl-^ and Ctrl-6, Ctrl-_ and Ctrl-7, and
/// crossterm reports the digit; `<Ctrl-\>` must match what the terminal sends.
fn control_char(c: char) -> char {
    match c {
        '4' => '\\',
        '5' => ']',
        '6' => '^',
        '7' => '_',
        c => c.to_ascii_lowercase(),
    }
}

/// Why a key name in the config did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error(
        "key name {0:?} is empty or not understood; write a character like \"j\" or a name like \"<Ctrl-d>\", \"<Enter>\", \"<F5>\""
    )]
    BadKey(String),
    #[error("unknown command {command:?} for key {key:?}; known commands: {known}")]
    BadCommand {
        key: String,
        command: String,
        known: String,
    },
}

/// Parses a key name: a single character (`j`, `?`, `G`) or `<[Ctrl-|Alt-|Shift-]NAME>`.
pub fn parse_key(text: &str) -> Result<Key, KeyError> {
    let bad = || KeyError::BadKey(text.to_string());
    let mut chars = text.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Ok(Key {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::NONE,
        });
    }
    let inner = text
        .strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .ok_or_else(bad)?;
    let mut modifiers = KeyModifiers::NONE;
    let mut rest = inner;
    loop {
        let lower = rest.to_ascii_lowercase();
        let (m, len) = if lower.starts_with("ctrl-") {
            (KeyModifiers::CONTROL, 5)
        } else if lower.starts_with("c-") {
            (KeyModifiers::CONTROL, 2)
        } else if lower.starts_with("alt-") {
            (KeyModifiers::ALT, 4)
        } else if lower.starts_with("a-") || lower.starts_with("m-") {
            (KeyModifiers::ALT, 2)
        } else if lower.starts_with("shift-") {
            (KeyModifiers::SHIFT, 6)
        } else if lower.starts_with("s-") {
            (KeyModifiers::SHIFT, 2)
        } else {
            break;
        };
        if rest.len() == len {
            break;
        }
        modifiers |= m;
        rest = &rest[len..];
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) => {
            if modifiers.contains(KeyModifiers::SHIFT) {
                modifiers -= KeyModifiers::SHIFT;
                KeyCode::Char(c.to_ascii_uppercase())
            } else if modifiers.contains(KeyModifiers::CONTROL) {
                KeyCode::Char(control_char(c))
            } else {
                KeyCode::Char(c)
            }
        }
        _ => named_key(&rest.to_ascii_lowercase()).ok_or_else(bad)?,
    };
    let code = if code == KeyCode::Tab && modifiers.contains(KeyModifiers::SHIFT) {
        modifiers -= KeyModifiers::SHIFT;
        KeyCode::BackTab
    } else {
        code
    };
    Ok(Key { code, modifiers })
}

fn named_key(name: &str) -> Option<KeyCode> {
    Some(match name {
        "enter" | "cr" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "space" => KeyCode::Char(' '),
        "bs" | "backspace" => KeyCode::Backspace,
        "del" | "delete" => KeyCode::Delete,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" | "pgup" => KeyCode::PageUp,
        "pagedown" | "pgdn" => KeyCode::PageDown,
        "lt" => KeyCode::Char('<'),
        "gt" => KeyCode::Char('>'),
        f if f.starts_with('f') => {
            KeyCode::F(f[1..].parse().ok().filter(|n| (1..=24).contains(n))?)
        }
        _ => return None,
    })
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut prefix = String::new();
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            prefix.push_str("Ctrl-");
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            prefix.push_str("Alt-");
        }
        if self.modifiers.contains(KeyModifiers::SHIFT) {
            prefix.push_str("Shift-");
        }
        let name = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) if prefix.is_empty() => return write!(f, "{c}"),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "Shift-Tab".into(),
            KeyCode::Backspace => "Backspace".into(),
            KeyCode::Delete => "Del".into(),
            KeyCode::Up => "Up".into(),
            KeyCode::Down => "Down".into(),
            KeyCode::Left => "Left".into(),
            KeyCode::Right => "Right".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        write!(f, "<{prefix}{name}>")
    }
}
