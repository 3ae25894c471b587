//! The `[exec]` settings: what `e` offers to run in a container, and the key that leaves
//! the terminal pane. Part of `config`.

use serde::Deserialize;

use crate::keys::{Key, parse_key};

/// What `e` runs when the prompt is left as it is.
pub const DEFAULT_EXEC_COMMAND: &str = "/bin/sh";
/// The key that leaves the terminal pane: one a shell never needs (telnet's and ssh's
/// habit of Ctrl-] is taken by some editors; Ctrl-\ only sends SIGQUIT).
pub const DEFAULT_DETACH_KEY: &str = "<Ctrl-\\>";

/// `[exec]` as written; absent settings take their defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExecConfig {
    /// The command the `e` prompt is filled with, split like a shell would.
    pub command: String,
    /// Leaves the terminal pane (every other key goes to the shell).
    pub detach_key: String,
}

impl Default for ExecConfig {
    fn default() -> Self {
        Self {
            command: DEFAULT_EXEC_COMMAND.to_string(),
            detach_key: DEFAULT_DETACH_KEY.to_string(),
        }
    }
}

/// `[exec]`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSettings {
    /// The command as written, to fill the prompt with.
    pub command: String,
    /// The key that leaves the terminal pane.
    pub detach_key: Key,
}

impl Default for ExecSettings {
    fn default() -> Self {
        Self {
            command: DEFAULT_EXEC_COMMAND.to_string(),
            detach_key: default_detach_key(),
        }
    }
}

/// The default detach key, parsed.
pub fn default_detach_key() -> Key {
    // The constant is a valid key name; the test below holds it to that.
    parse_key(DEFAULT_DETACH_KEY).unwrap_or(Key {
        code: crossterm::event::KeyCode::Char('\\'),
        modifiers: crossterm::event::KeyModifiers::CONTROL,
    })
}

/// Splits a command line into its words as a POSIX shell would (quotes, backslashes), so
/// `sh -c 'echo hi'` runs `sh` with two arguments. No expansion: the words go to the
/// container's runtime as they are.
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    let words = shell_words::split(line)
        .map_err(|_| "a quote is not closed; close it or remove it".to_string())?;
    if words.is_empty() {
        return Err(format!("no command; type one, e.g. {DEFAULT_EXEC_COMMAND}"));
    }
    Ok(words)
}

/// Checks `[exec]`; an error names the setting and says what to write instead.
pub fn resolve(config: &ExecConfig) -> Result<ExecSettings, (&'static str, String)> {
    split_command(&config.command).map_err(|e| ("exec.command", e))?;
    let detach_key =
        parse_key(&config.detach_key).map_err(|e| ("exec.detach_key", e.to_string()))?;
    if !can_detach(detach_key) {
        return Err((
            "exec.detach_key",
            format!(
                "{} is a key the shell needs; use a Ctrl, Alt or function key such as {DEFAULT_DETACH_KEY} or <F12>",
                config.detach_key
            ),
        ));
    }
    Ok(ExecSettings {
        command: config.command.clone(),
        detach_key,
    })
}

/// A detach key must leave every key a shell is typed with to the shell: a Ctrl or Alt
/// chord, or a function key.
fn can_detach(key: Key) -> bool {
    use crossterm::event::{KeyCode, KeyModifiers};
    key.modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        || matches!(key.code, KeyCode::F(_))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        let s = resolve(&ExecConfig::default()).unwrap();
        assert_eq!(s, ExecSettings::default());
        assert_eq!(s.detach_key, parse_key("<Ctrl-\\>").unwrap());
    }

    #[test]
    fn commands_split_like_a_shell_and_empty_ones_are_refused() {
        assert_eq!(split_command("/bin/sh").unwrap(), ["/bin/sh"]);
        assert_eq!(
            split_command(r#"sh -c 'echo "hi there"; exit 7'"#).unwrap(),
            ["sh", "-c", r#"echo "hi there"; exit 7"#]
        );
        assert!(split_command("   ").unwrap_err().contains("no command"));
        assert!(split_command("sh -c 'echo").unwrap_err().contains("quote"));
    }

    #[test]
    fn a_detach_key_the_shell_needs_is_refused() {
        for (key, ok) in [
            ("<F12>", true),
            ("<Alt-q>", true),
            ("<Ctrl-]>", true),
            ("q", false),
            ("<Enter>", false),
            ("<Esc>", false),
        ] {
            let config = ExecConfig {
                detach_key: key.into(),
                ..ExecConfig::default()
            };
            let result = resolve(&config);
            assert_eq!(result.is_ok(), ok, "{key}: {result:?}");
            if let Err((setting, message)) = result {
                assert_eq!(setting, "exec.detach_key");
                assert!(message.contains("<F12>"), "{message}");
            }
        }
        let bad = ExecConfig {
            detach_key: "<Hyper-x>".into(),
            ..ExecConfig::default()
        };
        assert_eq!(resolve(&bad).unwrap_err().0, "exec.detach_key");
    }
}
