//! Keys while an action dialog is open: the dialog has the keyboard. Picking a target or a
//! backup, setting replicas, typing the confirmation, cancelling a running action.

use crossterm::event::KeyEvent;

use super::filter::typed;
use super::panes::{Pane, PaneKind};
use super::{App, Dialog, Effect, OpRequest};
use crate::keys::{Command, Mode};
use crate::ops::history::{self, Started};
use crate::ops::{BackupInfo, EntryState, Proposal};

impl App {
    /// Keys while a dialog is on top; the dialog has the keyboard. The dialog mode of the
    /// keymap moves and confirms; the typed confirmation of a plan is the prompt mode.
    pub(super) fn on_dialog_key(&mut self, key: KeyEvent) {
        let Some(Pane::Dialog(dialog)) = self.panes.remove(PaneKind::Dialog) else {
            return;
        };
        let command = self.keymap.command_in(Mode::Dialog, key);
        let typing = self.keymap.command_in(Mode::Prompt, key);
        let up = command == Some(Command::Up);
        let down = command == Some(Command::Down);
        let next = match dialog {
            _ if command == Some(Command::Quit) => {
                self.should_quit = true;
                None
            }
            Dialog::Refused { .. } => None,
            Dialog::PickTarget {
                node,
                container,
                choices,
                mut selected,
            } => match command {
                Some(Command::Cancel) => None,
                Some(Command::Confirm) => {
                    let to = choices.get(selected).map(|c| c.name.clone());
                    self.propose(Proposal::Migrate {
                        node,
                        container,
                        to,
                    });
                    return;
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
                    self.propose(Proposal::Scale { service, replicas });
                    return;
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
                        self.propose(Proposal::Restore { node: on, backup });
                        return;
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
                        let op = self.ops.new_op();
                        let started = Started {
                            action: plan.proposal.kind().to_string(),
                            target: history::target_of(&plan.proposal),
                            title: plan.title.clone(),
                        };
                        self.ops.log.start(op, started, self.now, self.now_unix_ms);
                        self.emit(Effect::Op(OpRequest::Run { op, plan }));
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
                    self.ops.log.get(op).map(|e| &e.state),
                    Some(EntryState::Finished(_)) | None
                );
                match command {
                    _ if finished => None,
                    Some(Command::Cancel) => {
                        self.ops.log.cancelling(op);
                        self.emit(Effect::Op(OpRequest::Cancel { op }));
                        Some(Dialog::Running { op })
                    }
                    // Confirm hides the dialog; the action goes on and shows in the history.
                    Some(Command::Confirm) => None,
                    _ => Some(Dialog::Running { op }),
                }
            }
        };
        if let Some(dialog) = next {
            self.panes.push(Pane::Dialog(dialog));
        }
    }
}
