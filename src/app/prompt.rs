//! The prompt pane: one line typed into, through the prompt mode of the keymap, to
//! acknowledge an alert (with an optional note), silence it (for how long), run any
//! command or view by name (the palette), or say what to run in a container (exec).

use std::time::Duration;

use crossterm::event::KeyEvent;

use super::filter::typed;
use super::palette::{self, Target};
use super::panes::{Pane, PaneKind};
use super::{App, Redraw, View};
use crate::alerts::{AlertKey, AlertState, parse_duration};
use crate::keys::{Command, KeyMap, Mode};

/// Silence lengths offered by `S`, first = default.
pub const SILENCE_CHOICES: [(Duration, &str); 3] = [
    (Duration::from_secs(15 * 60), "15m"),
    (Duration::from_secs(3600), "1h"),
    (Duration::from_secs(4 * 3600), "4h"),
];

/// What a one-line prompt is asking for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    /// An optional note for acknowledging this alert.
    Ack(AlertKey),
    /// How long to silence this alert.
    Silence(AlertKey),
    /// A command or view by name.
    Palette,
    /// What to run in a container (filled with the configured command).
    Exec(Box<super::exec::ExecTarget>),
    /// The image to roll `service` out to; `current` (the selected replica's) restarts it.
    Image { service: String, current: String },
}

/// A prompt being typed into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub text: String,
    /// Highlighted choice (silence length, palette match).
    pub choice: usize,
    /// Why the last Enter was refused.
    pub error: Option<String>,
}

/// What a key did to a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptOutcome {
    /// The text or the choice changed (or nothing did); the prompt stays.
    Edited,
    /// Closed without acting.
    Cancel,
    /// Quit the console.
    Quit,
    /// Act on what was typed; the console does it, and the prompt stays if it is refused.
    Submit,
}

impl Prompt {
    /// A key while the prompt is on top: it takes them all, through the prompt mode of
    /// `keymap`; keys not bound there are typed.
    pub fn on_key(&mut self, keymap: &KeyMap, key: KeyEvent) -> PromptOutcome {
        match keymap.command_in(Mode::Prompt, key) {
            Some(Command::Cancel) => return PromptOutcome::Cancel,
            Some(Command::Quit) => return PromptOutcome::Quit,
            Some(Command::Confirm) => return PromptOutcome::Submit,
            Some(Command::DeleteChar) => {
                self.text.pop();
            }
            Some(Command::ClearInput) => self.text.clear(),
            Some(Command::Up) => self.choice = self.choice.saturating_sub(1),
            Some(Command::Down | Command::Complete) => self.choice += 1,
            Some(_) => {}
            None => {
                if let Some(c) = typed(key) {
                    self.text.push(c);
                    if self.kind == PromptKind::Palette {
                        self.choice = 0;
                    }
                }
            }
        }
        let limit = match self.kind {
            PromptKind::Silence(_) => SILENCE_CHOICES.len(),
            PromptKind::Palette => palette::matches(&self.text, keymap).len(),
            PromptKind::Ack(_) | PromptKind::Exec(_) | PromptKind::Image { .. } => 1,
        };
        self.choice = self.choice.min(limit.saturating_sub(1));
        self.error = None;
        PromptOutcome::Edited
    }
}

impl App {
    /// A key while a prompt is on top: the prompt handles it; submitting it acts on the
    /// alert book or runs a command, which the console does.
    pub(super) fn on_prompt_key(&mut self, key: KeyEvent) {
        let Some(Pane::Prompt(mut prompt)) = self.panes.remove(PaneKind::Prompt) else {
            return;
        };
        match prompt.on_key(&self.keymap, key) {
            PromptOutcome::Cancel => {}
            PromptOutcome::Quit => self.should_quit = true,
            PromptOutcome::Submit => {
                if let Err(e) = self.submit(&prompt) {
                    prompt.error = Some(e);
                    self.panes.push(Pane::Prompt(prompt));
                }
            }
            PromptOutcome::Edited => self.panes.push(Pane::Prompt(prompt)),
        }
    }

    fn submit(&mut self, prompt: &Prompt) -> Result<(), String> {
        let now = self.stamp();
        match &prompt.kind {
            PromptKind::Ack(key) => {
                if !self.alerts.acknowledge(key, &prompt.text, now) {
                    self.set_status("that alert resolved before it was acknowledged");
                } else {
                    self.set_status("acknowledged");
                }
            }
            PromptKind::Silence(key) => {
                let text = prompt.text.trim();
                let duration = if text.is_empty() {
                    SILENCE_CHOICES[prompt.choice.min(SILENCE_CHOICES.len() - 1)].0
                } else {
                    match parse_duration(text) {
                        Ok(d) if !d.is_zero() => d,
                        Ok(_) => return Err("a silence must last longer than 0s".into()),
                        Err(e) => return Err(e),
                    }
                };
                self.alerts.silence_for(key, duration, now);
                let mut status =
                    format!("silenced for {}", crate::alerts::format_duration(duration));
                if self.silence_in_alertmanager(*key, duration) {
                    status.push_str("; making it in Alertmanager…");
                }
                self.set_status(status);
            }
            PromptKind::Image { service, current } => {
                let image = prompt.text.trim();
                if image.is_empty() {
                    return Err("type the image to roll out, e.g. acme/api:2.5".into());
                }
                let image = (image != current).then(|| image.to_string());
                self.propose_rollout(service.clone(), image);
            }
            PromptKind::Palette => {
                let found = palette::matches(&prompt.text, &self.keymap);
                let Some(entry) = found.get(prompt.choice).or(found.first()) else {
                    return Err(format!("nothing matches `{}`", prompt.text));
                };
                match entry.target {
                    Target::View(View::Main) => {
                        self.panes.remove(PaneKind::Alerts);
                    }
                    Target::View(View::Alerts) => {
                        if self.panes.view() != View::Alerts {
                            self.panes.remove(PaneKind::Alerts);
                            self.panes.push(Pane::Alerts);
                        }
                    }
                    Target::Command(command) => self.run_command(command),
                }
            }
            PromptKind::Exec(target) => self.open_exec(target, &prompt.text)?,
        }
        self.request(Redraw::Now);
        Ok(())
    }

    /// `A`: asks for an optional note, then acknowledges the selected alert.
    pub(super) fn start_ack(&mut self) {
        match self
            .selected_alert()
            .filter(|a| a.state != AlertState::Resolved)
        {
            Some(a) => self.open_prompt(PromptKind::Ack(a.key)),
            None => self.set_status("no active alert selected: Tab to the alert pane or press a"),
        }
    }

    /// `S`: asks how long, then silences the selected alert.
    pub(super) fn start_silence(&mut self) {
        match self.selected_alert() {
            Some(a) => self.open_prompt(PromptKind::Silence(a.key)),
            None => self.set_status("no alert selected: Tab to the alert pane or press a"),
        }
    }

    /// `:`: opens the command palette.
    pub(super) fn start_palette(&mut self) {
        self.open_prompt(PromptKind::Palette);
    }

    fn open_prompt(&mut self, kind: PromptKind) {
        self.open_prompt_with(kind, String::new());
    }

    /// Opens a prompt with `text` already typed.
    pub(super) fn open_prompt_with(&mut self, kind: PromptKind, text: String) {
        self.panes.push(Pane::Prompt(Prompt {
            kind,
            text,
            choice: 0,
            error: None,
        }));
    }
}
