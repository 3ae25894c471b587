//! Rollouts from the console: `U` on a selected container asks for an image and acts on
//! its service: Enter on the container's own image is a rolling restart, another image an
//! image update. The images of the nodes the
//! service runs on are asked first (the planner checks the new image is on each of them
//! and reads its health check timing); the plan's confirmation opens once they answered.

use std::collections::BTreeSet;

use fleetdeck_core::image::EngineImage;

use super::prompt::PromptKind;
use super::{App, Dialog, Effect, OpRequest};
use crate::ops::Proposal;

/// Replicas a rollout from the console may take down at once.
pub const TUI_MAX_UNAVAILABLE: usize = 1;

/// A rollout waiting for the nodes' image lists before it is planned.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingRollout {
    pub proposal: Proposal,
    /// Nodes not answered yet.
    pub waiting: BTreeSet<String>,
}

impl App {
    /// The selected container's service, or why there is none (for the refusal).
    fn selected_service(&self) -> Result<(String, String), String> {
        let Some((_, c)) = self
            .selected_container()
            .filter(|_| self.panes.tables.focus == super::Focus::Containers)
        else {
            return Err(
                "select a container of the service first (Tab to the container table)".into(),
            );
        };
        if c.spec.service.is_empty() {
            return Err(format!("{} belongs to no service", c.spec.name));
        }
        Ok((c.spec.service.to_string(), c.spec.image.to_string()))
    }

    /// `U`: asks for the image (the selected container's at first), then rolls its service
    /// out: the same image restarts every replica on its own, another moves them to it.
    pub(super) fn start_rollout(&mut self) {
        match self.selected_service() {
            Ok((service, image)) => {
                let kind = PromptKind::Image {
                    service,
                    current: image.clone(),
                };
                self.open_prompt_with(kind, image);
            }
            Err(m) => self.refuse_rollout(m),
        }
    }

    fn refuse_rollout(&mut self, message: String) {
        self.panes.open_dialog(Dialog::Refused {
            title: "Cannot roll out".into(),
            message,
        });
    }

    /// Asks the nodes running `service` for their images, then plans the rollout.
    pub(super) fn propose_rollout(&mut self, service: String, image: Option<String>) {
        let nodes: Vec<(String, String)> = self
            .fleet
            .nodes()
            .iter()
            .filter(|n| n.is_live() && n.containers.values().any(|c| *c.spec.service == *service))
            .map(|n| (n.name().to_string(), n.endpoint.clone()))
            .collect();
        let proposal = Proposal::Rollout {
            service: service.clone(),
            image,
            max_unavailable: TUI_MAX_UNAVAILABLE,
            rollback: true,
        };
        if nodes.is_empty() {
            // Nothing to ask: the planner says why.
            self.propose(proposal);
            return;
        }
        for (node, endpoint) in &nodes {
            self.emit(Effect::Op(OpRequest::ListImages {
                node: node.clone(),
                endpoint: endpoint.clone(),
            }));
        }
        self.ops.pending_rollout = Some(PendingRollout {
            proposal,
            waiting: nodes.into_iter().map(|(n, _)| n).collect(),
        });
        self.panes.open_dialog(Dialog::Waiting {
            title: format!("Rollout of {service}"),
            message: "asking the nodes which images their engines hold…".into(),
        });
    }

    /// A node's images arrived (or could not be read): recorded for the planner; the
    /// rollout waiting for them is planned once every node answered.
    pub(super) fn on_images(&mut self, node: &str, list: Result<Vec<EngineImage>, String>) {
        match list {
            Ok(list) => self.fleet.set_images(node, list),
            Err(e) => tracing::warn!("cannot list the images on {node}: {e}"),
        }
        let Some(pending) = &mut self.ops.pending_rollout else {
            return;
        };
        pending.waiting.remove(node);
        if !pending.waiting.is_empty() {
            return;
        }
        let Some(pending) = self.ops.pending_rollout.take() else {
            return;
        };
        // Only while the operator still waits for it: a closed dialog dropped the rollout.
        if matches!(self.panes.dialog_mut(), Some(Dialog::Waiting { .. })) {
            self.propose(pending.proposal);
        }
    }
}
