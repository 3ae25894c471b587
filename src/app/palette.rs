//! The command palette (`:`): every keymap command and every view, by name, with fuzzy
//! matching like k9s. A new `Command` (in `Command::ALL`) or `View` appears here by itself.

use super::alerts::View;
use crate::keys::{Command, KeyMap};

/// What a palette entry does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Command(Command),
    View(View),
}

/// One entry of the palette.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What is typed to find it (`ack`, `view alerts`).
    pub name: String,
    pub describe: &'static str,
    /// Its key, if bound (`A`), so the palette also teaches the keymap.
    pub key: String,
    pub target: Target,
}

/// Every entry, views first.
pub fn entries(keymap: &KeyMap) -> Vec<Entry> {
    let views = View::ALL.iter().map(|v| Entry {
        name: format!("view {}", v.name()),
        describe: v.describe(),
        key: String::new(),
        target: Target::View(*v),
    });
    let commands = Command::ALL.iter().map(|c| Entry {
        name: c.name().replace('_', " "),
        describe: c.describe(),
        key: keymap.hint(*c),
        target: Target::Command(*c),
    });
    views.chain(commands).collect()
}

/// Entries matching `query`, best first; all of them for an empty query.
pub fn matches(query: &str, keymap: &KeyMap) -> Vec<Entry> {
    let mut scored: Vec<(i64, usize, Entry)> = entries(keymap)
        .into_iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let in_name = score(query, &e.name);
            let in_text = score(query, e.describe).map(|s| s - 50);
            in_name.max(in_text).map(|s| (s, i, e))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, _, e)| e).collect()
}

/// Fuzzy score of `query` in `text`: every query character must appear in order (case
/// ignored); runs of consecutive characters and matches at word starts score higher.
pub fn score(query: &str, text: &str) -> Option<i64> {
    let query: Vec<char> = query
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if query.is_empty() {
        return Some(0);
    }
    let text: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let mut score = 0i64;
    let mut qi = 0;
    let mut prev: Option<usize> = None;
    for (ti, c) in text.iter().enumerate() {
        if qi == query.len() {
            break;
        }
        if *c != query[qi] {
            continue;
        }
        score += 1;
        if prev.is_some_and(|p| p + 1 == ti) {
            score += 5;
        }
        if ti == 0 || matches!(text[ti - 1], ' ' | '_' | '-' | ':') {
            score += 8;
        }
        prev = Some(ti);
        qi += 1;
    }
    // Shorter names win ties: `ack` beats `back` for "ack".
    (qi == query.len()).then(|| score * 100 - text.len() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_matching_finds_by_initials_and_prefers_tight_matches() {
        assert!(score("alr", "view alerts").is_some());
        assert!(score("xyz", "view alerts").is_none());
        assert!(score("", "anything").is_some());
        assert!(score("ack", "acknowledge").unwrap() > score("ack", "back").unwrap());
        let keymap = KeyMap::default();
        let first = |q: &str| matches(q, &keymap).first().map(|e| e.target);
        assert_eq!(first("view alerts"), Some(Target::View(View::Alerts)));
        assert_eq!(first("vwal"), Some(Target::View(View::Alerts)));
        assert_eq!(first("silence"), Some(Target::Command(Command::Silence)));
        assert_eq!(first("exp"), Some(Target::Command(Command::ExportTimeline)));
        assert_eq!(first("q"), Some(Target::Command(Command::Quit)));
        assert_eq!(matches("zzzz", &keymap), Vec::new());
    }

    #[test]
    fn every_command_and_view_is_listed_with_its_key() {
        let keymap = KeyMap::default();
        let all = entries(&keymap);
        assert_eq!(all.len(), Command::ALL.len() + View::ALL.len());
        let ack = all
            .iter()
            .find(|e| e.target == Target::Command(Command::Acknowledge))
            .unwrap();
        assert_eq!(ack.key, "A");
    }
}
