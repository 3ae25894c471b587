//! Alertmanager's v2 API: `POST /api/v2/alerts` with a JSON array of alerts.
//!
//! Like Prometheus, the monitor posts a firing alert with `endsAt` a few resend intervals
//! ahead and posts it again while it fires; a resolved alert is posted with `endsAt` set to
//! when it resolved. No `generatorURL`: the monitor serves no page to link to, and the
//! annotations carry the command to run.

use std::collections::BTreeMap;

use serde::Serialize;

use super::deliver::post_json;
use super::http::HttpTarget;
use super::notice::{Notice, rfc3339};

/// Path of the alerts endpoint under an Alertmanager's base URL.
pub const ALERTS_PATH: &str = "api/v2/alerts";
/// Alerts posted in one request at most.
pub const BATCH_MAX: usize = 64;

/// One element of the posted array (Alertmanager's `postableAlert`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PostableAlert<'a> {
    labels: &'a BTreeMap<String, String>,
    annotations: &'a BTreeMap<String, String>,
    starts_at: String,
    ends_at: String,
}

/// The request body for `notices`.
pub fn body(notices: &[&Notice]) -> serde_json::Value {
    let alerts: Vec<PostableAlert<'_>> = notices
        .iter()
        .map(|n| PostableAlert {
            labels: &n.labels,
            annotations: &n.annotations,
            starts_at: rfc3339(n.starts_unix_ms),
            ends_at: rfc3339(n.ends_unix_ms),
        })
        .collect();
    serde_json::to_value(alerts).unwrap_or_default()
}

/// Posts `notices` to one Alertmanager.
pub async fn post(target: &HttpTarget, notices: &[&Notice]) -> Result<(), String> {
    post_json(target, target.endpoint(ALERTS_PATH), &body(notices)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::notice::NoticeStatus;

    #[test]
    fn the_body_is_alertmanagers_postable_alerts() {
        let notice = Notice {
            status: NoticeStatus::Firing,
            labels: [("alertname", "node-unreachable"), ("node", "n3")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
            annotations: [("command", "fleetdeck failover n3")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
            starts_unix_ms: 1_000,
            ends_unix_ms: 121_000,
        };
        let v = body(&[&notice]);
        assert_eq!(
            v,
            serde_json::json!([{
                "labels": {"alertname": "node-unreachable", "node": "n3"},
                "annotations": {"command": "fleetdeck failover n3"},
                "startsAt": "1970-01-01T00:00:01.000Z",
                "endsAt": "1970-01-01T00:02:01.000Z",
            }])
        );
    }
}
