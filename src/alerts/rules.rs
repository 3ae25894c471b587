//! Alert rules: what is measured, the condition, how long it must hold, how bad it is.
//!
//! Rules are data. The defaults follow DESIGN.md; the config file's `[[alerts.rules]]`
//! entries override a default by name (any field) or add new rules (with a `when`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

/// How bad an alert is; the order is the sort order (critical first when reversed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
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
    const ALL: [Metric; 13] = [
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

/// A comparison in a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Above,
    AtLeast,
    Below,
    AtMost,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Self::Above => ">",
            Self::AtLeast => ">=",
            Self::Below => "<",
            Self::AtMost => "<=",
        }
    }

    fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Self::Above => value > threshold,
            Self::AtLeast => value >= threshold,
            Self::Below => value < threshold,
            Self::AtMost => value <= threshold,
        }
    }
}

/// One comparison: `metric op threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Term {
    pub metric: Metric,
    pub op: Op,
    pub threshold: f64,
}

/// How the terms of a condition combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    All,
    Any,
}

/// A rule's condition: terms joined by `and` or by `or` (not mixed), all of one scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub terms: Vec<Term>,
    pub join: Join,
}

impl Condition {
    /// What the condition is measured on.
    pub fn scope(&self) -> Scope {
        self.terms.first().map_or(Scope::Node, |t| t.metric.scope())
    }

    /// Tests the condition; `value` reads a metric. Returns whether it holds and the
    /// value to show: the first term that holds, else the first term.
    pub fn eval(&self, mut value: impl FnMut(Metric) -> f64) -> (bool, Metric, f64) {
        let mut shown: Option<(Metric, f64)> = None;
        let mut first: Option<(Metric, f64)> = None;
        let mut all = true;
        let mut any = false;
        for t in &self.terms {
            let v = value(t.metric);
            let holds = t.op.holds(v, t.threshold);
            first.get_or_insert((t.metric, v));
            if holds && shown.is_none() {
                shown = Some((t.metric, v));
            }
            any |= holds;
            all &= holds;
        }
        let firing = match self.join {
            Join::All => all && !self.terms.is_empty(),
            Join::Any => any,
        };
        let (metric, v) = shown.or(first).unwrap_or((Metric::Cpu, 0.0));
        (firing, metric, v)
    }

    /// Whether any term reads `metric`.
    pub fn uses(&self, metric: Metric) -> bool {
        self.terms.iter().any(|t| t.metric == metric)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = match self.join {
            Join::All => " and ",
            Join::Any => " or ",
        };
        for (i, t) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(join)?;
            }
            write!(f, "{} {} {}", t.metric.name(), t.op.symbol(), t.threshold)?;
        }
        Ok(())
    }
}

impl FromStr for Condition {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let lower = text.to_ascii_lowercase();
        let has_and = lower.split_whitespace().any(|w| w == "and");
        let has_or = lower.split_whitespace().any(|w| w == "or");
        if has_and && has_or {
            return Err(format!(
                "`{text}` mixes `and` and `or`; use one of them (or two rules)"
            ));
        }
        let (join, sep) = if has_or {
            (Join::Any, " or ")
        } else {
            (Join::All, " and ")
        };
        let normalised = lower.split_whitespace().collect::<Vec<_>>().join(" ");
        let terms = normalised
            .split(sep)
            .map(parse_term)
            .collect::<Result<Vec<_>, _>>()?;
        let scope = terms.first().map(|t| t.metric.scope());
        if terms.iter().any(|t| Some(t.metric.scope()) != scope) {
            return Err(format!(
                "`{text}` mixes node, container and fleet metrics; a rule is about one of them"
            ));
        }
        Ok(Self { terms, join })
    }
}

fn parse_term(text: &str) -> Result<Term, String> {
    let text = text.trim();
    let ops = [
        (">=", Op::AtLeast),
        ("<=", Op::AtMost),
        (">", Op::Above),
        ("<", Op::Below),
    ];
    let (at, symbol, op) = ops
        .iter()
        .filter_map(|(s, op)| text.find(s).map(|i| (i, *s, *op)))
        .min_by_key(|(i, s, _)| (*i, std::cmp::Reverse(s.len())))
        .ok_or_else(|| {
            format!("`{text}` is not a comparison; write it like `cpu > 80` (>, >=, <, <=)")
        })?;
    let name = text[..at].trim();
    let number = text[at + symbol.len()..].trim().trim_end_matches('%');
    let metric = Metric::ALL
        .into_iter()
        .find(|m| m.name() == name)
        .ok_or_else(|| {
            let known: Vec<&str> = Metric::ALL.iter().map(|m| m.name()).collect();
            format!(
                "unknown metric `{name}`; known metrics: {}",
                known.join(", ")
            )
        })?;
    let threshold: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| format!("`{number}` is not a number in `{text}`"))?;
    Ok(Term {
        metric,
        op,
        threshold,
    })
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A duration written for people: `90s`, `5m`, `1h30m`, `0s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct HumanDuration(pub Duration);

/// Parses `90s`, `5m`, `1h30m`, `250ms`; a bare number is refused (units are required).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration; write it like `30s`, `5m`, `1h` or `1h30m`");
    let text = text.trim();
    if text.is_empty() {
        return Err(bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "d" => Duration::from_secs(n.saturating_mul(86_400)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(unit);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// Formats a duration the way `parse_duration` reads it (`1h30m`, `45s`, `0s`).
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 && d.subsec_millis() > 0 {
        return format!("{}ms", d.subsec_millis());
    }
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_duration(&text)
            .map(HumanDuration)
            .map_err(serde::de::Error::custom)
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
