//! The history pane: the action history under the tables. While it is the top view it has
//! the movement keys; Back or the history key closes it.

use super::App;
use super::panes::{Outcome, PaneKind};
use crate::keys::Command;

/// The history pane's scroll.
#[derive(Debug, Clone, Default)]
pub struct HistoryPane {
    /// History rows scrolled past, counted from the newest.
    pub offset: usize,
    /// History rows the last frame showed (0 before one did: paging then estimates it
    /// from the terminal's height).
    pub page: usize,
}

impl HistoryPane {
    /// Scrolls by `delta` rows (positive: older), `page` rows shown, `len` entries.
    pub fn scroll(&mut self, delta: isize, page: usize, len: usize) {
        let max = len.saturating_sub(page.max(1));
        self.offset = self.offset.saturating_add_signed(delta).min(max);
    }

    /// A command while the history is drawn, `page` rows a page, `len` entries.
    pub fn on_command(&mut self, command: Command, page: usize, len: usize) -> Outcome {
        match command {
            Command::Up => self.scroll(-1, page, len),
            Command::Down => self.scroll(1, page, len),
            Command::PageUp => self.scroll(-(page as isize), page, len),
            Command::PageDown => self.scroll(page as isize, page, len),
            Command::Top => self.offset = 0,
            Command::Bottom => self.scroll(isize::MAX / 2, page, len),
            Command::Back | Command::History => return Outcome::Close,
            _ => return Outcome::Pass,
        }
        Outcome::Taken
    }
}

impl App {
    /// The newest interrupted action, which the history pane's keys resume or roll back.
    pub fn interrupted_intent(&self) -> Option<&crate::ops::intent::IntentInfo> {
        self.ops.intents.iter().find(|i| i.is_interrupted())
    }

    /// Open resumes the newest interrupted action (its recorded plan from the step it
    /// reached, or planned again when it recorded none; confirmed in its dialog, run under
    /// its id); Stop rolls it back. True when taken.
    fn on_intent_command(&mut self, command: Command) -> bool {
        if !matches!(command, Command::Open | Command::Stop) {
            return false;
        }
        let Some(intent) = self.interrupted_intent().cloned() else {
            return false;
        };
        if command == Command::Stop {
            if !self.read_only {
                self.emit(super::Effect::Op(super::OpRequest::Abort {
                    intent: Box::new(intent),
                }));
            }
            return true;
        }
        // The recorded plan from the step it reached; planned again when it recorded none.
        let recorded = crate::ops::intent::resume::prepare(&intent, &self.fleet, &self.ops.specs)
            .filter(|_| !self.read_only);
        if let Some(r) = recorded {
            self.ops.resume = Some((r.plan.proposal.clone(), intent.id.clone(), r.skip));
            self.panes.open_dialog(
                match crate::ops::intent::refusal(&self.ops.intents, &r.plan) {
                    None => super::Dialog::Confirm {
                        plan: Box::new(r.plan),
                        typed: String::new(),
                    },
                    Some(line) => super::Dialog::Refused {
                        title: "Cannot resume".into(),
                        message: line,
                    },
                },
            );
            return true;
        }
        match intent.proposal() {
            Some(p) => {
                self.ops.resume = Some((p.clone(), intent.id.clone(), Vec::new()));
                self.propose(p);
            }
            None => tracing::warn!(
                "action {} does not say what it proposed: roll it back and plan it again",
                intent.id
            ),
        }
        true
    }

    /// A command reaching the history pane; true when it took it.
    pub(super) fn on_history_command(&mut self, command: Command) -> bool {
        let page = match self.panes.history.page {
            0 => crate::ui::history_page(self, self.screen_height),
            drawn => drawn,
        };
        if self.on_intent_command(command) {
            return true;
        }
        let len = self.ops.log.len();
        match self.panes.history.on_command(command, page, len) {
            Outcome::Pass => return false,
            Outcome::Taken => {}
            Outcome::Close => {
                self.panes.remove(PaneKind::History);
            }
        }
        true
    }
}
