//! The language of a rule's `when` (`cpu > 80 and memory > 90`) and of its durations
//! (`90s`, `1h30m`): parsing, evaluation and display.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use super::rules::{Metric, Scope};

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
