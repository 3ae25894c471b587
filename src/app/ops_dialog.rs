//! Keys while an action dialog is open: the dialog has the keyboard. Picking a target or a
//! backup, setting replicas, typing the confirmation, cancelling a running action.

use std::time::Instant;

use crossterm::event::KeyEvent;

use super::filter::typed;
use super::panes::{Pane, PaneKind};
use super::{App, Dialog, Effect, OpRequest, Ops};
use crate::keys::{Command, KeyMap, Mode};
use crate::ops::history::{self, Started};
use crate::ops::{BackupInfo, EntryState, Proposal};

/// What a dialog's keys may touch beyond the dialog: the action log it starts and
/// cancels actions in, the outbox it hands them to the runner through, and the clock.
pub struct DialogCtx<'a> {
    pub ops: &'a mut Ops,
    pub outbox: &'a mut Vec<Effect>,
    pub now: Instant,
    pub now_unix_ms: u64,
}

/// What a key did to a dialog.
#[derive(Debug)]
pub enum DialogOutcome {
    /// The dialog stays, as it is now.
    Keep(Dialog),
    /// The dialog closes.
    Close,
    /// The dialog closes and the console quits.
    Quit,
    /// The dialog closes and this action is planned (the planner reads the fleet, so the
    /// console does it; it opens the plan's confirmation).
    Propose(Proposal),
}

impl App {
    /// Keys while a dialog is on top; the dialog has the keyboard and the console follows
    /// up what it asks for.
    pub(super) fn on_dialog_key(&mut self, key: KeyEvent) {
        let Some(Pane::Dialog(dialog)) = self.panes.remove(PaneKind::Dialog) else {
            return;
        };
        let mut ctx = DialogCtx {
            ops: &mut self.ops,
            outbox: &mut self.outbox,
            now: self.now,
            now_unix_ms: self.now_unix_ms,
        };
        match dialog.on_key(&self.keymap, key, &mut ctx) {
            DialogOutcome::Keep(dialog) => self.panes.push(Pane::Dialog(dialog)),
            DialogOutcome::Close => {}
            DialogOutcome::Quit => self.should_quit = true,
            DialogOutcome::Propose(proposal) => self.propose(proposal),
        }
    }
}

impl Dialog {
    /// A key while the dialog is on top. The dialog mode of the keymap moves and
    /// confirms; the typed confirmation of a plan is the prompt mode.
    pub fn on_key(self, keymap: &KeyMap, key: KeyEvent, ctx: &mut DialogCtx) -> DialogOutcome {
        let command = keymap.command_in(Mode::Dialog, key);
        let typing = keymap.command_in(Mode::Prompt, key);
        let up = command == Some(Command::Up);
        let down = command == Some(Command::Down);
        let next = match self {
            _ if command == Some(Command::Quit) => return DialogOutcome::Quit,
            Dialog::Refused { .. } | Dialog::Waiting { .. } => None,
            Dialog::PickTarget {
                node,
                container,
                choices,
                mut selected,
            } => match command {
                Some(Command::Cancel) => None,
                Some(Command::Confirm) => {
                    let to = choices.get(selected).map(|c| c.name.clone());
                    return DialogOutcome::Propose(Proposal::Migrate {
                        node,
                        container,
                        to,
                    });
                }
                _ => {
                    if up {
                        selected = selected.saturating_sub(1);
                    } else if down {
                        selected = (selected + 1).min(choices.len().saturating_sub(1));
                    }
                    Some(Dialog::PickTarget {
                        node,
                        container,
                        choices,
                        selected,
                    })
                }
            },
            Dialog::Scale {
                service,
                current,
                mut replicas,
            } => match command {
                Some(Command::Cancel) => None,
                Some(Command::Confirm) => {
                    return DialogOutcome::Propose(Proposal::Scale { service, replicas });
                }
                Some(Command::DeleteChar) => {
                    replicas /= 10;
                    Some(Dialog::Scale {
                        service,
                        current,
                        replicas,
                    })
                }
                _ => {
                    match (command, typed(key)) {
                        (Some(Command::More | Command::Up), _) => {
                            replicas = replicas.saturating_add(1)
                        }
                        (Some(Command::Less | Command::Down), _) => {
                            replicas = replicas.saturating_sub(1)
                        }
                        (None, Some(d @ '0'..='9')) => {
                            replicas = (replicas * 10 + d as usize - '0' as usize).min(9999)
                        }
                        _ => {}
                    }
                    Some(Dialog::Scale {
                        service,
                        current,
                        replicas,
                    })
                }
            },
            Dialog::PickBackup {
                node,
                list,
                mut selected,
                targets,
                mut to,
            } => match command {
                Some(Command::Cancel) => None,
                Some(Command::Confirm) => {
                    if let Some(Ok(list)) = &list
                        && let Some(b) = list.get(selected)
                    {
                        let backup = BackupInfo {
                            node: node.clone(),
                            ..b.clone()
                        };
                        let on = targets.get(to).cloned().unwrap_or(node);
                        return DialogOutcome::Propose(Proposal::Restore { node: on, backup });
                    }
                    Some(Dialog::PickBackup {
                        node,
                        list,
                        selected,
                        targets,
                        to,
                    })
                }
                _ => {
                    let len = list
                        .as_ref()
                        .and_then(|l| l.as_ref().ok())
                        .map_or(0, Vec::len);
                    let left = command == Some(Command::Left);
                    let right = command == Some(Command::Right);
                    if up {
                        selected = selected.saturating_sub(1);
                    } else if down {
                        selected = (selected + 1).min(len.saturating_sub(1));
                    } else if left {
                        to = to.saturating_sub(1);
                    } else if right {
                        to = (to + 1).min(targets.len().saturating_sub(1));
                    }
                    Some(Dialog::PickBackup {
                        node,
                        list,
                        selected,
                        targets,
                        to,
                    })
                }
            },
            Dialog::Confirm {
                plan,
                typed: mut name,
            } => match typing {
                Some(Command::Cancel) => None,
                Some(Command::Confirm) => {
                    if plan.confirm.as_deref().is_none_or(|n| name == n) {
                        let op = ctx.ops.new_op();
                        let started = Started {
                            action: plan.proposal.kind().to_string(),
                            target: history::target_of(&plan.proposal),
                            title: plan.title.clone(),
                        };
                        ctx.ops.log.start(op, started, ctx.now, ctx.now_unix_ms);
                        let (intent, skip) = ctx
                            .ops
                            .resume
                            .take()
                            .filter(|(p, _, _)| *p == plan.proposal)
                            .map_or((None, Vec::new()), |(_, id, skip)| (Some(id), skip));
                        ctx.outbox.push(Effect::Op(OpRequest::Run {
                            op,
                            plan,
                            intent,
                            skip,
                        }));
                        Some(Dialog::Running { op })
                    } else {
                        Some(Dialog::Confirm { plan, typed: name })
                    }
                }
                Some(Command::DeleteChar) => {
                    name.pop();
                    Some(Dialog::Confirm { plan, typed: name })
                }
                // Complete (Tab) writes the name out, so the engineer reads exactly what
                // they confirm but a 3 a.m. failover is not held up by typing a long name.
                Some(Command::Complete) => {
                    if let Some(confirm) = &plan.confirm {
                        name.clone_from(confirm);
                    }
                    Some(Dialog::Confirm { plan, typed: name })
                }
                Some(_) => Some(Dialog::Confirm { plan, typed: name }),
                None => {
                    if plan.confirm.is_some()
                        && let Some(c) = typed(key)
                    {
                        name.push(c);
                    }
                    Some(Dialog::Confirm { plan, typed: name })
                }
            },
            Dialog::Running { op } => {
                let finished = matches!(
                    ctx.ops.log.get(op).map(|e| &e.state),
                    Some(EntryState::Finished(_)) | None
                );
                match command {
                    _ if finished => None,
                    Some(Command::Cancel) => {
                        ctx.ops.log.cancelling(op);
                        ctx.outbox.push(Effect::Op(OpRequest::Cancel { op }));
                        Some(Dialog::Running { op })
                    }
                    // Confirm hides the dialog; the action goes on and shows in the history.
                    Some(Command::Confirm) => None,
                    _ => Some(Dialog::Running { op }),
                }
            }
        };
        match next {
            Some(dialog) => DialogOutcome::Keep(dialog),
            None => DialogOutcome::Close,
        }
    }
}
