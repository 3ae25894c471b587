//! What a receiver is told about one alert: its labels and annotations, when it started
//! and until when it holds. Alertmanager and webhooks get the same notice in their shapes.

use std::collections::BTreeMap;

use serde::Serialize;

/// Whether the alert fires or has resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeStatus {
    Firing,
    Resolved,
}

impl NoticeStatus {
    /// `firing` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }
}

/// One alert as it leaves the monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub status: NoticeStatus,
    /// What identifies the alert (`crate::notify::labels`).
    pub labels: BTreeMap<String, String>,
    /// `summary`, `recommendation`, `command`, `value`, ...
    pub annotations: BTreeMap<String, String>,
    /// When it fired.
    pub starts_unix_ms: u64,
    /// Firing: until when it holds unless resent; resolved: when it resolved.
    pub ends_unix_ms: u64,
}

impl Notice {
    /// The identity Alertmanager dedups on: every label, in order.
    pub fn fingerprint(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.labels {
            out.push_str(k);
            out.push('=');
            out.push_str(v);
            out.push('\u{1f}');
        }
        out
    }

    /// A label's value, or "".
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map_or("", String::as_str)
    }

    /// An annotation's value, if set.
    pub fn annotation(&self, name: &str) -> Option<&str> {
        self.annotations.get(name).map(String::as_str)
    }
}

/// RFC 3339 in UTC with milliseconds, as Alertmanager and most receivers read it.
pub fn rfc3339(unix_ms: u64) -> String {
    let ms = i64::try_from(unix_ms).unwrap_or(i64::MAX);
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
