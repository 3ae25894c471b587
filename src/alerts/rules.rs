//! Alert rules: what is measured, the condition, how long it must hold, how bad it is.
//!
//! Rules are data. The defaults follow DESIGN.md; the config file's `[[alerts.rules]]`
//! entries override a default by name (any field) or add new rules (with a `when`).

use std::time::Duration;

use serde::Deserialize;

pub use super::condition::{
    Condition, HumanDuration, Join, Op, Term, format_duration, parse_duration,
};

/// How bad an alert is; the order is the sort order (critical first when reversed).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    /// Name shown on screen, in the config and in exports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    /// Short label for narrow columns.
    pub fn short(self) -> &'static str {
        match self {
            Self::Info => "INFO",
            Self::Warning => "WARN",
            Self::Critical => "CRIT",
        }
    }
}

/// What a rule is about: decides which metrics it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Node,
    Container,
    Fleet,
}

/// A measured value a condition can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Node CPU, percent.
    Cpu,
    /// Node memory used, percent.
    Memory,
    /// Node disk used, percent.
    Disk,
    /// Node derived load, 0-100.
    Load,
    /// 1 while the node's agent cannot be reached, else 0.
    Unreachable,
    /// Agent checks failing on the node.
    FailingChecks,
    /// 1 while the container's health check fails, else 0.
    Unhealthy,
    /// Container restarts seen within the rule's window.
    Restarts,
    /// Container CPU, percent of one core.
    ContainerCpu,
    /// Max minus min derived load over live nodes, points.
    LoadSpread,
    /// Average CPU over live nodes, percent.
    FleetCpu,
    /// Average memory over live nodes, percent.
    FleetMemory,
    /// Containers still running on a node that came back after a failover although they
    /// were re-created elsewhere (fed by the console's fencing check, not by the agent).
    StaleCopies,
}

impl Metric {
    pub(super) const ALL: [Metric; 13] = [
        Metric::Cpu,
        Metric::Memory,
        Metric::Disk,
        Metric::Load,
        Metric::Unreachable,
        Metric::FailingChecks,
        Metric::Unhealthy,
        Metric::Restarts,
        Metric::ContainerCpu,
        Metric::LoadSpread,
        Metric::FleetCpu,
        Metric::FleetMemory,
        Metric::StaleCopies,
    ];

    /// Name used in `when` expressions.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Memory => "memory",
            Self::Disk => "disk",
            Self::Load => "load",
            Self::Unreachable => "unreachable",
            Self::FailingChecks => "failing_checks",
            Self::Unhealthy => "unhealthy",
            Self::Restarts => "restarts",
            Self::ContainerCpu => "container_cpu",
            Self::LoadSpread => "load_spread",
            Self::FleetCpu => "fleet_cpu",
            Self::FleetMemory => "fleet_memory",
            Self::StaleCopies => "stale_copies",
        }
    }

    /// What the metric is measured on.
    pub fn scope(self) -> Scope {
        match self {
            Self::Cpu
            | Self::Memory
            | Self::Disk
            | Self::Load
            | Self::Unreachable
            | Self::FailingChecks
            | Self::StaleCopies => Scope::Node,
            Self::Unhealthy | Self::Restarts | Self::ContainerCpu => Scope::Container,
            Self::LoadSpread | Self::FleetCpu | Self::FleetMemory => Scope::Fleet,
        }
    }

    /// Formats a value of this metric with its unit.
    pub fn format(self, value: f64) -> String {
        match self {
            Self::Cpu
            | Self::Memory
            | Self::Disk
            | Self::ContainerCpu
            | Self::FleetCpu
            | Self::FleetMemory => format!("{value:.1}%"),
            Self::Load => format!("load {value:.0}"),
            Self::LoadSpread => format!("{value:.0} pts"),
            Self::Unreachable => "down".to_string(),
            Self::FailingChecks => format!("{value:.0} failing"),
            Self::Unhealthy => "unhealthy".to_string(),
            Self::Restarts => format!("{value:.0} restarts"),
            Self::StaleCopies => format!("{value:.0} copies"),
        }
    }
}

/// What a rule recommends doing when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommend {
    /// Move a container from the most to the least loaded node.
    Rebalance,
    /// Add a replica of the busiest service on the node.
    ScaleUp,
    /// Remove a replica of the most replicated service.
    ScaleDown,
    /// Re-create the node's containers elsewhere.
    Failover,
}

/// One rule, ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Unique name (`cpu-critical`); config entries with this name patch it.
    pub name: String,
    /// What the alert says, e.g. "CPU high".
    pub summary: String,
    pub when: Condition,
    /// How long the condition must hold before the alert fires.
    pub for_: Duration,
    pub severity: Severity,
    /// Window of the `restarts` metric.
    pub window: Duration,
    pub recommend: Option<Recommend>,
    pub enabled: bool,
}

/// Default window of the `restarts` metric.
pub const DEFAULT_RESTART_WINDOW: Duration = Duration::from_secs(300);

/// A `[[alerts.rules]]` entry as written: every field optional.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleConfig {
    pub name: String,
    pub summary: Option<String>,
    pub when: Option<Condition>,
    /// Replaces the threshold of the first term of `when` (handy to patch a default).
    pub threshold: Option<f64>,
    #[serde(rename = "for")]
    pub for_: Option<HumanDuration>,
    pub severity: Option<Severity>,
    pub window: Option<HumanDuration>,
    pub recommend: Option<Recommend>,
    pub enabled: Option<bool>,
}

/// The `[alerts]` table of the config file.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    pub rules: Vec<RuleConfig>,
}

/// A rule entry that parses but cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alert rule `{name}`: {message}")]
pub struct RuleError {
    /// The rule's name as written (empty when missing).
    pub name: String,
    pub message: String,
}

fn rule(
    name: &str,
    summary: &str,
    when: &str,
    for_secs: u64,
    severity: Severity,
    recommend: Option<Recommend>,
) -> Rule {
    Rule {
        name: name.to_string(),
        summary: summary.to_string(),
        // The defaults are written in this file and covered by a test.
        when: when.parse().unwrap_or(Condition {
            terms: Vec::new(),
            join: Join::All,
        }),
        for_: Duration::from_secs(for_secs),
        severity,
        window: DEFAULT_RESTART_WINDOW,
        recommend,
        enabled: true,
    }
}

/// The rules of DESIGN.md.
pub fn default_rules() -> Vec<Rule> {
    use Severity::{Critical, Info, Warning};
    vec![
        rule("cpu-warning", "CPU high", "cpu > 80", 60, Warning, None),
        rule(
            "cpu-critical",
            "CPU critical",
            "cpu > 95",
            30,
            Critical,
            None,
        ),
        rule(
            "memory-warning",
            "memory high",
            "memory > 85",
            60,
            Warning,
            None,
        ),
        rule(
            "memory-critical",
            "memory critical",
            "memory > 95",
            30,
            Critical,
            None,
        ),
        rule(
            "disk-full",
            "disk nearly full",
            "disk > 90",
            60,
            Warning,
            None,
        ),
        rule(
            "node-unreachable",
            "node unreachable",
            "unreachable > 0",
            5,
            Critical,
            Some(Recommend::Failover),
        ),
        rule(
            "stale-copies",
            "stale copies running",
            "stale_copies > 0",
            0,
            Critical,
            None,
        ),
        rule(
            "node-check-failing",
            "agent check failing",
            "failing_checks > 0",
            30,
            Warning,
            None,
        ),
        rule(
            "health-check-failing",
            "health check failing",
            "unhealthy > 0",
            15,
            Warning,
            None,
        ),
        rule(
            "restart-loop",
            "restart loop",
            "restarts >= 3",
            0,
            Critical,
            None,
        ),
        rule(
            "load-imbalance",
            "load imbalance",
            "load_spread > 30",
            60,
            Info,
            Some(Recommend::Rebalance),
        ),
        rule(
            "scale-up",
            "scale up: node hot",
            "cpu > 85 or memory > 90",
            120,
            Info,
            Some(Recommend::ScaleUp),
        ),
        rule(
            "scale-down",
            "scale down: fleet idle",
            "fleet_cpu < 30 and fleet_memory < 40",
            600,
            Info,
            Some(Recommend::ScaleDown),
        ),
    ]
}

/// The default rules patched and extended by config entries, in order: defaults first,
/// then new rules in the order written.
pub fn rules_from_config(entries: &[RuleConfig]) -> Result<Vec<Rule>, RuleError> {
    let mut rules = default_rules();
    let mut seen = std::collections::HashSet::new();
    for entry in entries {
        let err = |message: String| RuleError {
            name: entry.name.clone(),
            message,
        };
        if entry.name.trim().is_empty() {
            return Err(err(
                "every rule needs a `name` (a default's name patches it)".into(),
            ));
        }
        if !seen.insert(entry.name.clone()) {
            return Err(err("the name is used twice; give each rule its own".into()));
        }
        let index = match rules.iter().position(|r| r.name == entry.name) {
            Some(i) => i,
            None => {
                let when = entry.when.clone().ok_or_else(|| {
                    err("is not a default rule, so it needs a `when` such as \"cpu > 80\"".into())
                })?;
                rules.push(Rule {
                    name: entry.name.clone(),
                    summary: entry.name.replace(['-', '_'], " "),
                    when,
                    for_: Duration::ZERO,
                    severity: Severity::Warning,
                    window: DEFAULT_RESTART_WINDOW,
                    recommend: None,
                    enabled: true,
                });
                rules.len() - 1
            }
        };
        let r = &mut rules[index];
        if let Some(when) = &entry.when {
            r.when = when.clone();
        }
        if let Some(threshold) = entry.threshold {
            if !threshold.is_finite() {
                return Err(err("`threshold` must be a finite number".into()));
            }
            if let Some(t) = r.when.terms.first_mut() {
                t.threshold = threshold;
            }
        }
        if let Some(summary) = &entry.summary {
            r.summary = summary.clone();
        }
        if let Some(d) = entry.for_ {
            r.for_ = d.0;
        }
        if let Some(s) = entry.severity {
            r.severity = s;
        }
        if let Some(w) = entry.window {
            if w.0.is_zero() {
                return Err(err("`window` must be longer than 0s".into()));
            }
            r.window = w.0;
        }
        if let Some(rec) = entry.recommend {
            r.recommend = Some(rec);
        }
        if let Some(enabled) = entry.enabled {
            r.enabled = enabled;
        }
        let scope = r.when.scope();
        match (r.recommend, scope) {
            (Some(Recommend::Failover | Recommend::ScaleUp), Scope::Node)
            | (Some(Recommend::Rebalance | Recommend::ScaleDown), Scope::Fleet)
            | (None, _) => {}
            (Some(rec), _) => {
                return Err(err(format!(
                    "`recommend = {rec:?}` does not fit a rule about {}",
                    match scope {
                        Scope::Node => "a node",
                        Scope::Container => "a container",
                        Scope::Fleet => "the fleet",
                    }
                )));
            }
        }
    }
    Ok(rules)
}
