//! Keys while an action dialog is open: the dialog has the keyboard. Picking a target or a
//! backup, setting replicas, typing the confirmation, cancelling a running action.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Dialog, OpRequest};
use crate::ops::history::{self, Started};
use crate::ops::{BackupInfo, EntryState, Proposal};

fn key_char(key: &KeyEvent) -> Option<char> {
    match key.code {
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => Some(c),
        _ => None,
    }
}

impl App {
    /// Keys while a dialog is open; the dialog has the keyboard.
    pub(super) fn on_dialog_key(&mut self, key: KeyEvent) {
        let Some(dialog) = self.ops.dialog.take() else {
            return;
        };
        let up = matches!(key.code, KeyCode::Up | KeyCode::Char('k'));
        let down = matches!(key.code, KeyCode::Down | KeyCode::Char('j'));
        self.ops.dialog = match dialog {
            _ if key.code == KeyCode::Char('c')
                && key.modifiers.contains(KeyModifiers::CONTROL) =>
            {
                self.should_quit = true;
                None
            }
            Dialog::Refused { .. } => None,
            Dialog::PickTarget {
                node,
                container,
                choices,
                mut selected,
            } => match key.code {
                KeyCode::Esc => None,
                KeyCode::Enter => {
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
            } => match key.code {
                KeyCode::Esc => None,
                KeyCode::Enter => {
                    self.propose(Proposal::Scale { service, replicas });
                    return;
                }
                KeyCode::Backspace => {
                    replicas /= 10;
                    Some(Dialog::Scale {
                        service,
                        current,
                        replicas,
                    })
                }
                _ => {
                    match key_char(&key) {
                        Some('+') => replicas = replicas.saturating_add(1),
                        Some('-') => replicas = replicas.saturating_sub(1),
                        Some(d @ '0'..='9') => {
                            replicas = (replicas * 10 + d as usize - '0' as usize).min(9999)
                        }
                        _ if up => replicas = replicas.saturating_add(1),
                        _ if down => replicas = replicas.saturating_sub(1),
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
            } => match key.code {
                KeyCode::Esc => None,
                KeyCode::Enter => {
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
                    let left = matches!(key.code, KeyCode::Left | KeyCode::Char('h'));
                    let right = matches!(key.code, KeyCode::Right | KeyCode::Char('l'));
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
            Dialog::Confirm { plan, mut typed } => match key.code {
                KeyCode::Esc => None,
                KeyCode::Enter => {
                    if plan.confirm.as_deref().is_none_or(|name| typed == name) {
                        let op = self.ops.new_op();
                        let started = Started {
                            action: plan.proposal.kind().to_string(),
                            target: history::target_of(&plan.proposal),
                            title: plan.title.clone(),
                        };
                        self.ops.log.start(op, started, self.now, self.now_unix_ms);
                        self.ops.outbox.push(OpRequest::Run { op, plan });
                        Some(Dialog::Running { op })
                    } else {
                        Some(Dialog::Confirm { plan, typed })
                    }
                }
                KeyCode::Backspace => {
                    typed.pop();
                    Some(Dialog::Confirm { plan, typed })
                }
                // Tab writes the name out, so the engineer reads exactly what they confirm
                // but a 3 a.m. failover is not held up by typing a long node name.
                KeyCode::Tab => {
                    if let Some(name) = &plan.confirm {
                        typed.clone_from(name);
                    }
                    Some(Dialog::Confirm { plan, typed })
                }
                _ => {
                    if plan.confirm.is_some()
                        && let Some(c) = key_char(&key)
                    {
                        typed.push(c);
                    }
                    Some(Dialog::Confirm { plan, typed })
                }
            },
            Dialog::Running { op } => {
                let finished = matches!(
                    self.ops.log.get(op).map(|e| &e.state),
                    Some(EntryState::Finished(_)) | None
                );
                match key.code {
                    _ if finished => None,
                    KeyCode::Esc => {
                        self.ops.log.cancelling(op);
                        self.ops.outbox.push(OpRequest::Cancel { op });
                        Some(Dialog::Running { op })
                    }
                    // Enter hides the dialog; the action goes on and shows in the history.
                    KeyCode::Enter => None,
                    _ => Some(Dialog::Running { op }),
                }
            }
        };
    }
}
