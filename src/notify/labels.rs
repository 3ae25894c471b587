//! The labels an alert carries outside the console: what Alertmanager routes, groups,
//! dedups and silences on. The monitor posts them and the console's silences match them,
//! so both sides must build them here.

use std::collections::BTreeMap;

use crate::alerts::Alert;

/// Label naming the rule, as Prometheus alerts do.
pub const ALERTNAME: &str = "alertname";
/// Labels every fleetdeck alert may carry, in the order the README documents them.
pub const LABEL_NAMES: [&str; 5] = [ALERTNAME, "severity", "node", "container", "service"];

/// `alertname` (the rule id, `node-unreachable`), `severity`, `node`, and `container` and
/// `service` where the alert is about a container (`service` when it has one).
pub fn labels(alert: &Alert, service: Option<&str>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert(ALERTNAME.to_string(), alert.rule.clone());
    out.insert("severity".to_string(), alert.severity.as_str().to_string());
    out.insert("node".to_string(), alert.node.clone());
    if let Some(container) = &alert.container {
        out.insert("container".to_string(), container.clone());
        if let Some(service) = service.filter(|s| !s.is_empty()) {
            out.insert("service".to_string(), service.to_string());
        }
    }
    out
}
