//! The console's incident keys: the alert pane and view, acknowledge, silence, jump,
//! recommendations, timeline export and the command palette. Part of `App::update`: no
//! I/O here; the export is handed to the run loop as an `Effect`.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::palette::{self, Target};
use super::{Action, App, ContainerRef, Cursor, Focus, Redraw, Scope};
use crate::alerts::{AlertKey, AlertState, EntryKind, Proposal, Stamp, Subject, parse_duration};

/// Silence lengths offered by `S`, first = default.
pub const SILENCE_CHOICES: [(Duration, &str); 3] = [
    (Duration::from_secs(15 * 60), "15m"),
    (Duration::from_secs(3600), "1h"),
    (Duration::from_secs(4 * 3600), "4h"),
];

/// Which screen fills the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// Tables, detail and the alert pane.
    #[default]
    Main,
    /// Every alert, its details, recommendations and the timeline.
    Alerts,
}

impl View {
    /// Every view, for the palette.
    pub const ALL: [View; 2] = [View::Main, View::Alerts];

    /// Name in the palette.
    pub fn name(self) -> &'static str {
        match self {
            Self::Main => "main",
            Self::Alerts => "alerts",
        }
    }

    /// What the view shows.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Main => "nodes, containers and the alert pane",
            Self::Alerts => "all alerts, recommendations and the incident timeline",
        }
    }
}

/// What a one-line prompt is asking for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    /// An optional note for acknowledging this alert.
    Ack(AlertKey),
    /// How long to silence this alert.
    Silence(AlertKey),
    /// A command or view by name.
    Palette,
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

/// Work `update` asks the run loop to do (it may not do I/O itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Write the timeline as Markdown to the state dir under this file name.
    ExportTimeline { file_name: String, markdown: String },
}

/// State of the incident UI.
#[derive(Debug, Clone, Default)]
pub struct AlertUi {
    pub view: View,
    pub cursor: Cursor,
    /// Alert under the cursor, kept across re-sorts.
    pub selected: Option<(AlertKey, AlertState)>,
    pub prompt: Option<Prompt>,
    /// A recommendation opened with `x`, waiting for the action dialog.
    pub proposal: Option<Proposal>,
    pub effects: Vec<Effect>,
}

impl App {
    /// The clock as the alert book wants it.
    pub fn stamp(&self) -> Stamp {
        Stamp {
            at: self.now,
            unix_ms: self.now_unix_ms,
        }
    }

    /// Work for the run loop; clears it.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.alert_ui.effects)
    }

    /// The alert under the alert cursor.
    pub fn selected_alert(&self) -> Option<&crate::alerts::Alert> {
        self.alerts.rows().get(self.alert_ui.cursor.row)
    }

    /// True when keys move the alert cursor (pane focused or the alert view open).
    pub fn alerts_have_keys(&self) -> bool {
        self.alert_ui.view == View::Alerts || self.focus == Focus::Alerts
    }

    /// Re-sorts the alert rows and keeps the cursor on the same alert.
    pub(super) fn refresh_alerts(&mut self) {
        if !self.alerts.is_dirty() {
            return;
        }
        self.alerts.refresh(self.now);
        let rows = self.alerts.rows();
        if let Some((key, state)) = self.alert_ui.selected {
            let same = rows.iter().position(|a| a.key == key && a.state == state);
            let active = || {
                rows.iter()
                    .any(|a| a.key == key && a.state != AlertState::Resolved)
            };
            match same {
                // The cursor follows an active alert as rows move; a resolved one is
                // history and does not hold it (a new alert may take the top row).
                Some(pos) if state != AlertState::Resolved => self.alert_ui.cursor.row = pos,
                Some(_) => {}
                // It resolved (or was dropped): back to the top, the most urgent alert.
                None if state != AlertState::Resolved && !active() => {
                    self.alert_ui.cursor.row = 0;
                }
                None => {}
            }
        }
        self.alert_ui.cursor.clamp(rows.len());
        self.alert_ui.selected = rows.get(self.alert_ui.cursor.row).map(|a| (a.key, a.state));
    }

    /// Moves the alert cursor.
    pub(super) fn step_alerts(&mut self, delta: isize) {
        let len = self.alerts.rows().len();
        self.alert_ui.cursor.step(delta, len);
        self.alert_ui.selected = self
            .alerts
            .rows()
            .get(self.alert_ui.cursor.row)
            .map(|a| (a.key, a.state));
    }

    /// Handles a key while a prompt or proposal is open; false if none is.
    pub(super) fn on_prompt_key(&mut self, key: KeyEvent) -> bool {
        if self.alert_ui.proposal.is_some() {
            if matches!(key.code, KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q')) {
                self.alert_ui.proposal = None;
            }
            return true;
        }
        let Some(mut prompt) = self.alert_ui.prompt.take() else {
            return false;
        };
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return true,
            KeyCode::Char('c') if ctrl => {
                self.should_quit = true;
                return true;
            }
            KeyCode::Enter => {
                if let Err(e) = self.submit(&prompt) {
                    prompt.error = Some(e);
                    self.alert_ui.prompt = Some(prompt);
                }
                return true;
            }
            KeyCode::Backspace => {
                prompt.text.pop();
            }
            KeyCode::Char('u') if ctrl => prompt.text.clear(),
            KeyCode::Up | KeyCode::Left | KeyCode::BackTab => {
                prompt.choice = prompt.choice.saturating_sub(1);
            }
            KeyCode::Down | KeyCode::Right | KeyCode::Tab => prompt.choice += 1,
            KeyCode::Char(c) if !ctrl => {
                prompt.text.push(c);
                if prompt.kind == PromptKind::Palette {
                    prompt.choice = 0;
                }
            }
            _ => {}
        }
        let limit = match prompt.kind {
            PromptKind::Silence(_) => SILENCE_CHOICES.len(),
            PromptKind::Palette => palette::matches(&prompt.text, &self.keymap).len(),
            PromptKind::Ack(_) => 1,
        };
        prompt.choice = prompt.choice.min(limit.saturating_sub(1));
        prompt.error = None;
        self.alert_ui.prompt = Some(prompt);
        true
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
                self.set_status(format!(
                    "silenced for {}",
                    crate::alerts::format_duration(duration)
                ));
            }
            PromptKind::Palette => {
                let found = palette::matches(&prompt.text, &self.keymap);
                let Some(entry) = found.get(prompt.choice).or(found.first()) else {
                    return Err(format!("nothing matches `{}`", prompt.text));
                };
                match entry.target {
                    Target::View(view) => {
                        self.alert_ui.view = view;
                    }
                    Target::Command(command) => self.run_command(command),
                }
            }
        }
        self.request(Redraw::Now);
        Ok(())
    }

    /// Opens the alert view, or goes back to the main view.
    pub(super) fn toggle_alert_view(&mut self) {
        self.alert_ui.view = match self.alert_ui.view {
            View::Main => View::Alerts,
            View::Alerts => View::Main,
        };
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
        self.alert_ui.prompt = Some(Prompt {
            kind,
            text: String::new(),
            choice: 0,
            error: None,
        });
    }

    /// `x`: opens the selected alert's recommended action.
    pub(super) fn propose_selected(&mut self) {
        match self.selected_alert().and_then(|a| a.proposal.clone()) {
            Some(p) => self.update(Action::Recommendation(p)),
            None => self.set_status("the selected alert recommends no action"),
        }
    }

    /// A recommendation's action was asked for: record it and open it.
    pub(super) fn on_recommendation(&mut self, proposal: Proposal) {
        let now = self.stamp();
        self.alerts
            .record(EntryKind::Proposed, proposal.to_string(), now);
        // The action framework plans it and opens its pre-filled confirmation dialog.
        self.propose(crate::ops::Proposal::from(&proposal));
        self.request(Redraw::Now);
    }

    /// `E`: hands the timeline to the run loop to write as Markdown.
    pub(super) fn export_timeline(&mut self) {
        let markdown = self
            .alerts
            .timeline()
            .to_markdown(&self.title, self.now_unix_ms);
        let file_name = crate::alerts::export_file_name(self.now_unix_ms);
        self.alert_ui.effects.push(Effect::ExportTimeline {
            file_name,
            markdown,
        });
    }

    /// The run loop wrote (or failed to write) the export.
    pub(super) fn on_exported(&mut self, result: Result<std::path::PathBuf, String>) {
        match result {
            Ok(path) => self.set_status(format!("timeline exported to {}", path.display())),
            Err(e) => self.set_status(format!("timeline export failed: {e}")),
        }
        self.request(Redraw::Now);
    }

    /// `Enter` on an alert: the node or container it is about, in the main view.
    pub(super) fn jump_to_selected(&mut self) {
        let Some(alert) = self.selected_alert() else {
            return;
        };
        let target = match (alert.key.subject(), &alert.proposal) {
            (Subject::Node(slot), _) => Some((slot, None)),
            (Subject::Container { slot, key }, _) => Some((slot, Some(key))),
            (Subject::Fleet, Some(Proposal::Migrate { from, .. })) => self
                .fleet
                .nodes()
                .iter()
                .position(|n| n.name() == from)
                .map(|s| (s, None)),
            (Subject::Fleet, _) => None,
        };
        let Some((slot, container)) = target else {
            self.set_status("a fleet-wide alert: no single node to show");
            return;
        };
        self.alert_ui.view = View::Main;
        if !self.nodes.filter.is_empty() {
            self.nodes.filter.clear();
        }
        self.nodes.selected = Some(slot);
        self.nodes.pinned = true;
        self.nodes.dirty = true;
        match container {
            None => self.focus = Focus::Nodes,
            Some(key) => {
                self.containers.scope = Scope::SelectedNode;
                self.containers.filter.clear();
                self.containers.selected = Some(ContainerRef { slot, key });
                self.containers.pinned = true;
                self.containers.dirty = true;
                self.focus = Focus::Containers;
            }
        }
    }
}
