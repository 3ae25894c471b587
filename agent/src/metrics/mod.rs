//! The agent's Prometheus exposition: what is counted while the agent runs (`Telemetry`),
//! what is read from the node's current state at each scrape (`collector`), and the HTTP
//! endpoint serving `/metrics`, `/healthz` and `/readyz` (`http`).
//!
//! Container series are rendered from the hub's state at scrape time, never kept between
//! scrapes, so a removed container's series go with it and the series count is bounded by
//! the containers that exist. The agent's own series have fixed label sets.

pub mod collector;
pub mod http;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::hub::Hub;
use crate::model::{ActErrorKind, Action};
use crate::server::limits::StreamCap;

pub use http::{MetricsConfig, MetricsServer};

/// Upper bounds of the sample-duration histogram, seconds: a pass takes a few
/// milliseconds on a quiet node and seconds when the engine struggles.
const SAMPLE_BUCKETS_SECONDS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Labels of `fleetdeck_agent_actions_total`: a closed set of action names and outcomes.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    /// e.g. `container.stop`, `node.cordon`; `invalid` for a request that named none.
    pub action: String,
    /// `ok`, or the error kind (`invalid`, `not_found`, `conflict`, ...).
    pub outcome: &'static str,
}

/// Figures the agent counts as it runs; clones share the same counters.
#[derive(Debug, Clone)]
pub struct Telemetry {
    actions: Family<ActionLabels, Counter>,
    audit_lines: Counter,
    sample_seconds: Histogram,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self {
            actions: Family::default(),
            audit_lines: Counter::default(),
            sample_seconds: Histogram::new(SAMPLE_BUCKETS_SECONDS),
        }
    }
}

impl Telemetry {
    /// Counts one Act request that ended with `outcome` (`action` is `None` when the
    /// request was invalid before it named one).
    pub fn action_done(&self, action: Option<&Action>, outcome: Result<(), ActErrorKind>) {
        let labels = ActionLabels {
            action: action.map_or_else(|| "invalid".to_owned(), action_label),
            outcome: match outcome {
                Ok(()) => "ok",
                Err(kind) => error_kind_label(kind),
            },
        };
        self.actions.get_or_create(&labels).inc();
    }

    /// The counter of audit lines written (the audit log increments it).
    pub fn audit_lines(&self) -> Counter {
        self.audit_lines.clone()
    }

    /// Records how long one sampling pass took.
    pub fn sample_took(&self, took: std::time::Duration) {
        self.sample_seconds.observe(took.as_secs_f64());
    }
}

/// An action's name for a label; free text (a note's kind) is left out so the label set
/// stays closed.
fn action_label(action: &Action) -> String {
    match action {
        Action::Container { verb, .. } => format!("container.{}", verb.name()),
        Action::Node { verb } => format!("node.{}", verb.name()),
        Action::Create { .. } => "container.create".to_owned(),
        Action::Backup { .. } => "container.backup".to_owned(),
        Action::Restore { .. } => "backup.restore".to_owned(),
        Action::Note { .. } => "note".to_owned(),
        Action::SimFault { kind, .. } => format!("sim_fault.{}", kind.name()),
    }
}

/// The snake_case name of an error kind, as the audit log writes it.
pub fn error_kind_label(kind: ActErrorKind) -> &'static str {
    match kind {
        ActErrorKind::Invalid => "invalid",
        ActErrorKind::NotFound => "not_found",
        ActErrorKind::Conflict => "conflict",
        ActErrorKind::NoCapacity => "no_capacity",
        ActErrorKind::Runtime => "runtime",
        ActErrorKind::Cancelled => "cancelled",
        ActErrorKind::Unsupported => "unsupported",
        ActErrorKind::Denied => "denied",
    }
}

/// The registry one scrape encodes: the node's state from `hub`, open streams from the
/// caps, and the agent's own counters from `telemetry`.
pub fn registry(hub: Hub, streams: collector::Streams, telemetry: &Telemetry) -> Registry {
    let mut registry = Registry::default();
    registry.register(
        "fleetdeck_agent_actions",
        "Act requests handled, by action and outcome (dry runs and replays included)",
        telemetry.actions.clone(),
    );
    registry.register(
        "fleetdeck_agent_audit_lines",
        "Lines written to the audit log",
        telemetry.audit_lines.clone(),
    );
    registry.register_with_unit(
        "fleetdeck_agent_sample_duration",
        "Time one sampling pass of the runtime and host took",
        Unit::Seconds,
        telemetry.sample_seconds.clone(),
    );
    registry.register_collector(Box::new(collector::NodeCollector::new(hub, streams)));
    registry
}

/// The Watch and Logs stream caps, read for the open-stream gauge.
pub fn streams(watch: StreamCap, logs: StreamCap) -> collector::Streams {
    collector::Streams { watch, logs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContainerVerb, NodeVerb};

    #[test]
    fn action_labels_are_a_closed_set() {
        let note = Action::Note {
            kind: "anything\n\"at all\"".into(),
            target: "t".into(),
            message: "m".into(),
        };
        assert_eq!(action_label(&note), "note");
        let stop = Action::Container {
            verb: ContainerVerb::Stop,
            target: "web".into(),
        };
        assert_eq!(action_label(&stop), "container.stop");
        let cordon = Action::Node {
            verb: NodeVerb::Cordon,
        };
        assert_eq!(action_label(&cordon), "node.cordon");
    }

    #[test]
    fn error_kinds_match_the_audit_log() {
        for kind in [
            ActErrorKind::Invalid,
            ActErrorKind::NotFound,
            ActErrorKind::NoCapacity,
            ActErrorKind::Denied,
        ] {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json.trim_matches('"'), error_kind_label(kind));
        }
    }
}
