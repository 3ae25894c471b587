//! Alertmanager silences, seen from the console: create one for an alert, list the active
//! ones, and tell whether an alert's labels fall under one, with Alertmanager's matching
//! rules (equality or an anchored regex, either of them negated; a label the alert does
//! not carry reads as empty).
//!
//! Every configured Alertmanager gets each silence: they may not be clustered, and one
//! that is down must not keep the others from stopping the pages.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;
use serde::{Deserialize, Serialize};

use super::http::HttpTarget;
use super::labels::ALERTNAME;

/// Where silences are created and listed, under an Alertmanager's base URL.
pub const SILENCES_PATH: &str = "api/v2/silences";
/// Longest one call to one Alertmanager may take, connection included: an unreachable
/// one costs the console this much at most, in a task of its own.
pub const SILENCE_CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Labels a silence made from the console matches on: the alert exactly, whatever its
/// severity (an escalation stays silenced) or service.
pub const SILENCE_LABELS: [&str; 3] = [ALERTNAME, "node", "container"];

/// One matcher of a silence, as Alertmanager's v2 API spells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub is_regex: bool,
    /// False negates the matcher (`!=`, `!~`); absent means true, as in Alertmanager.
    #[serde(default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl Matcher {
    /// `name="value"`.
    pub fn equal(name: &str, value: &str) -> Self {
        Self {
            name: name.to_string(),
            value: value.to_string(),
            is_regex: false,
            is_equal: true,
        }
    }
}

/// A matcher ready to test labels with: its regex compiled once, anchored at both ends.
#[derive(Debug, Clone)]
pub struct CompiledMatcher {
    matcher: Matcher,
    regex: Option<regex::Regex>,
}

impl CompiledMatcher {
    /// Compiles `matcher`; an error when its regex does not compile.
    pub fn new(matcher: Matcher) -> Result<Self, regex::Error> {
        let regex = if matcher.is_regex {
            Some(regex::Regex::new(&format!("^(?:{})$", matcher.value))?)
        } else {
            None
        };
        Ok(Self { matcher, regex })
    }

    /// The matcher as written.
    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// True when `labels` satisfy it; a missing label is the empty string.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.matcher.name).map_or("", String::as_str);
        let hit = match &self.regex {
            Some(regex) => regex.is_match(value),
            None => value == self.matcher.value,
        };
        hit == self.matcher.is_equal
    }
}

/// A silence to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSilence {
    pub matchers: Vec<Matcher>,
    pub starts_unix_ms: u64,
    pub ends_unix_ms: u64,
    /// `user@host`.
    pub created_by: String,
    pub comment: String,
}

impl NewSilence {
    /// A silence for the alert carrying `labels` (from `notify::labels`): equality on
    /// `alertname`, `node`, and `container` when it has one.
    pub fn for_alert(
        labels: &BTreeMap<String, String>,
        starts_unix_ms: u64,
        ends_unix_ms: u64,
        created_by: &str,
        comment: &str,
    ) -> Self {
        let matchers = SILENCE_LABELS
            .iter()
            .filter_map(|name| labels.get(*name).map(|v| Matcher::equal(name, v)))
            .collect();
        Self {
            matchers,
            starts_unix_ms,
            ends_unix_ms,
            created_by: created_by.to_string(),
            comment: comment.to_string(),
        }
    }
}

/// An active silence as Alertmanager listed it.
#[derive(Debug, Clone)]
pub struct ActiveSilence {
    pub id: String,
    pub matchers: Vec<CompiledMatcher>,
    pub created_by: String,
    pub comment: String,
    pub ends_unix_ms: u64,
}

impl ActiveSilence {
    /// True when it silences an alert carrying `labels`: every matcher holds (a silence
    /// without matchers silences nothing; Alertmanager refuses to store one).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.matchers.is_empty() && self.matchers.iter().all(|m| m.matches(labels))
    }
}

/// What went wrong talking to one Alertmanager.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} did not answer within {}s", SILENCE_CALL_TIMEOUT.as_secs())]
    TimedOut { url: String },
    #[error("{url} answered {status}: {body}")]
    Refused {
        url: String,
        status: u16,
        body: String,
    },
    #[error("{url} answered with something that is not what Alertmanager sends: {reason}")]
    BadReply { url: String, reason: String },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireNew<'a> {
    matchers: &'a [Matcher],
    starts_at: String,
    ends_at: String,
    created_by: &'a str,
    comment: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCreated {
    #[serde(rename = "silenceID")]
    silence_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireSilence {
    id: String,
    matchers: Vec<Matcher>,
    ends_at: String,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
    status: WireStatus,
}

#[derive(Deserialize)]
struct WireStatus {
    state: String,
}

/// `2026-11-24T12:00:00.000Z`.
fn rfc3339(unix_ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(unix_ms).unwrap_or(i64::MAX))
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn unix_ms(rfc3339: &str) -> Option<u64> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
    u64::try_from(t.timestamp_millis()).ok()
}

async fn bounded<T>(
    url: &str,
    call: impl std::future::Future<Output = Result<T, SilenceError>>,
) -> Result<T, SilenceError> {
    tokio::time::timeout(SILENCE_CALL_TIMEOUT, call)
        .await
        .unwrap_or_else(|_| {
            Err(SilenceError::TimedOut {
                url: url.to_string(),
            })
        })
}

/// The body of a non-success answer, cut to one short line.
async fn refused(url: &str, response: reqwest::Response) -> SilenceError {
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let mut body: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if body.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|i| body.is_char_boundary(*i))
            .unwrap_or(0);
        body.truncate(cut);
        body.push('…');
    }
    SilenceError::Refused {
        url: url.to_string(),
        status,
        body,
    }
}

/// Creates `silence` on one Alertmanager; its silence id.
pub async fn create(target: &HttpTarget, silence: &NewSilence) -> Result<String, SilenceError> {
    let url = target.url.to_string();
    bounded(&url, async {
        let body = WireNew {
            matchers: &silence.matchers,
            starts_at: rfc3339(silence.starts_unix_ms),
            ends_at: rfc3339(silence.ends_unix_ms),
            created_by: &silence.created_by,
            comment: &silence.comment,
        };
        let response = target
            .request(reqwest::Method::POST, target.endpoint(SILENCES_PATH))
            .json(&body)
            .send()
            .await
            .map_err(|e| unreachable(&url, e))?;
        if !response.status().is_success() {
            return Err(refused(&url, response).await);
        }
        let created: WireCreated = response.json().await.map_err(|e| bad_reply(&url, e))?;
        Ok(created.silence_id)
    })
    .await
}

/// The silences one Alertmanager holds active now (pending and expired ones left out;
/// a silence whose regex does not compile here is left out too, with a log line).
pub async fn list_active(target: &HttpTarget) -> Result<Vec<ActiveSilence>, SilenceError> {
    let url = target.url.to_string();
    bounded(&url, async {
        let response = target
            .request(reqwest::Method::GET, target.endpoint(SILENCES_PATH))
            .send()
            .await
            .map_err(|e| unreachable(&url, e))?;
        if !response.status().is_success() {
            return Err(refused(&url, response).await);
        }
        let listed: Vec<WireSilence> = response.json().await.map_err(|e| bad_reply(&url, e))?;
        Ok(listed
            .into_iter()
            .filter(|s| s.status.state == "active")
            .filter_map(|s| active(&url, s))
            .collect())
    })
    .await
}

fn active(url: &str, s: WireSilence) -> Option<ActiveSilence> {
    let Some(ends_unix_ms) = unix_ms(&s.ends_at) else {
        tracing::warn!(alertmanager = url, id = %s.id, ends_at = %s.ends_at, "silence with an unreadable end time left out");
        return None;
    };
    let matchers = s
        .matchers
        .into_iter()
        .map(CompiledMatcher::new)
        .collect::<Result<Vec<_>, _>>();
    match matchers {
        Ok(matchers) => Some(ActiveSilence {
            id: s.id,
            matchers,
            created_by: s.created_by,
            comment: s.comment,
            ends_unix_ms,
        }),
        Err(e) => {
            tracing::warn!(alertmanager = url, id = %s.id, error = %e, "silence with a regex this console cannot read left out");
            None
        }
    }
}

fn unreachable(url: &str, error: reqwest::Error) -> SilenceError {
    if error.is_timeout() {
        return SilenceError::TimedOut {
            url: url.to_string(),
        };
    }
    SilenceError::Unreachable {
        url: url.to_string(),
        reason: causes(&error),
    }
}

fn bad_reply(url: &str, error: reqwest::Error) -> SilenceError {
    SilenceError::BadReply {
        url: url.to_string(),
        reason: causes(&error),
    }
}

/// The innermost cause of `error` (the OS's "Connection refused", a TLS failure), which
/// is what the user can act on; reqwest's own outer text names only the stage.
fn causes(error: &reqwest::Error) -> String {
    let mut last = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        last = e.to_string();
        source = e.source();
    }
    last
}

/// Creates `silence` on every Alertmanager at once: each one's URL and silence id, or why not.
pub async fn create_everywhere(
    targets: &[HttpTarget],
    silence: &NewSilence,
) -> Vec<(String, Result<String, SilenceError>)> {
    join_all(
        targets
            .iter()
            .map(|t| async move { (t.url.to_string(), create(t, silence).await) }),
    )
    .await
}

/// Lists the active silences of every Alertmanager at once.
pub async fn poll_everywhere(
    targets: &[HttpTarget],
) -> Vec<(String, Result<Vec<ActiveSilence>, SilenceError>)> {
    join_all(
        targets
            .iter()
            .map(|t| async move { (t.url.to_string(), list_active(t).await) }),
    )
    .await
}

/// `user@host` for `createdBy`: who silenced, from where.
pub fn created_by() -> String {
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "operator".to_string());
    let host = sysinfo::System::host_name().unwrap_or_else(|_| "localhost".to_string());
    format!("{user}@{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn m(name: &str, value: &str, is_regex: bool, is_equal: bool) -> CompiledMatcher {
        CompiledMatcher::new(Matcher {
            name: name.into(),
            value: value.into(),
            is_regex,
            is_equal,
        })
        .unwrap()
    }

    #[test]
    fn equality_and_negation_read_a_missing_label_as_empty() {
        let l = labels(&[("alertname", "cpu-high"), ("node", "node-01")]);
        assert!(m("node", "node-01", false, true).matches(&l));
        assert!(!m("node", "node-0", false, true).matches(&l));
        assert!(!m("node", "node-01", false, false).matches(&l));
        assert!(m("node", "node-02", false, false).matches(&l));
        // No `container` label: it equals "" and differs from anything else.
        assert!(m("container", "", false, true).matches(&l));
        assert!(!m("container", "web-1", false, true).matches(&l));
        assert!(m("container", "web-1", false, false).matches(&l));
        assert!(!m("container", "", false, false).matches(&l));
    }

    #[test]
    fn regexes_are_anchored_at_both_ends() {
        let l = labels(&[("node", "node-01"), ("alertname", "cpu-high")]);
        assert!(m("node", "node-0[0-9]", true, true).matches(&l));
        assert!(
            !m("node", "node", true, true).matches(&l),
            "not a substring"
        );
        assert!(
            !m("node", "ode-01", true, true).matches(&l),
            "anchored at the start"
        );
        assert!(
            !m("node", "node-0", true, true).matches(&l),
            "anchored at the end"
        );
        // An alternation is anchored as a whole, not only its first and last branch.
        assert!(!m("node", "x|node-0", true, true).matches(&l));
        assert!(m("alertname", "cpu-.*|memory-.*", true, true).matches(&l));
        assert!(!m("alertname", "cpu-.*", true, false).matches(&l));
        assert!(m("alertname", "memory-.*", true, false).matches(&l));
        // `.*` matches the missing label; `.+` does not.
        assert!(m("service", ".*", true, true).matches(&l));
        assert!(!m("service", ".+", true, true).matches(&l));
        assert!(CompiledMatcher::new(Matcher::equal("n", "(")).is_ok());
        let bad = Matcher {
            is_regex: true,
            ..Matcher::equal("n", "(")
        };
        assert!(CompiledMatcher::new(bad).is_err());
    }

    #[test]
    fn a_silence_needs_every_matcher_and_at_least_one() {
        let l = labels(&[
            ("alertname", "health-check-failing"),
            ("node", "node-01"),
            ("container", "web-1"),
            ("severity", "warning"),
        ]);
        let silence = |matchers| ActiveSilence {
            id: "x".into(),
            matchers,
            created_by: String::new(),
            comment: String::new(),
            ends_unix_ms: 0,
        };
        assert!(
            silence(vec![
                m("alertname", "health-check-failing", false, true),
                m("node", "node-0.", true, true),
            ])
            .matches(&l)
        );
        assert!(
            !silence(vec![
                m("alertname", "health-check-failing", false, true),
                m("severity", "critical", false, true),
            ])
            .matches(&l)
        );
        assert!(!silence(vec![]).matches(&l));
    }

    #[test]
    fn a_console_silence_matches_its_alert_exactly_whatever_the_severity() {
        let container = labels(&[
            ("alertname", "health-check-failing"),
            ("severity", "warning"),
            ("node", "node-01"),
            ("container", "web-1"),
            ("service", "web"),
        ]);
        let s = NewSilence::for_alert(&container, 1_000, 61_000, "ann@box", "why");
        let names: Vec<&str> = s.matchers.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["alertname", "node", "container"]);
        assert!(s.matchers.iter().all(|m| m.is_equal && !m.is_regex));
        let node = labels(&[("alertname", "node-unreachable"), ("node", "node-02")]);
        let s = NewSilence::for_alert(&node, 1_000, 61_000, "ann@box", "why");
        assert_eq!(
            s.matchers,
            [
                Matcher::equal("alertname", "node-unreachable"),
                Matcher::equal("node", "node-02")
            ]
        );
        // Compiled, it covers the escalated alert and not the neighbour.
        let active = ActiveSilence {
            id: "x".into(),
            matchers: s
                .matchers
                .into_iter()
                .map(|m| CompiledMatcher::new(m).unwrap())
                .collect(),
            created_by: String::new(),
            comment: String::new(),
            ends_unix_ms: 0,
        };
        let mut escalated = node.clone();
        escalated.insert("severity".into(), "critical".into());
        assert!(active.matches(&escalated));
        let mut other = node;
        other.insert("node".into(), "node-03".into());
        assert!(!active.matches(&other));
    }

    #[test]
    fn the_wire_format_is_alertmanager_s() {
        assert_eq!(rfc3339(1_795_521_600_000), "2026-11-24T12:00:00.000Z");
        assert_eq!(unix_ms("2026-11-24T12:00:00.000Z"), Some(1_795_521_600_000));
        assert_eq!(
            unix_ms("2026-11-24T13:00:00+01:00"),
            Some(1_795_521_600_000)
        );
        let m: Matcher = serde_json::from_str(r#"{"name":"node","value":"n1"}"#).unwrap();
        assert!(m.is_equal && !m.is_regex, "absent isEqual means equal");
        let json = serde_json::to_value(Matcher::equal("node", "n1")).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"name":"node","value":"n1","isRegex":false,"isEqual":true})
        );
    }
}
