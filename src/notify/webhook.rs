//! Webhooks: one POST per firing or resolved alert, as a Slack incoming-webhook message or
//! as fleetdeck's own JSON.

use serde_json::{Value, json};

use super::config::WebhookFormat;
use super::deliver::post_json;
use super::http::HttpTarget;
use super::notice::{Notice, NoticeStatus, rfc3339};

/// The body `format` asks for.
pub fn body(format: WebhookFormat, notice: &Notice) -> Value {
    match format {
        WebhookFormat::Slack => slack(notice),
        WebhookFormat::Json => plain(notice),
    }
}

/// Posts one alert to a webhook.
pub async fn post(
    target: &HttpTarget,
    format: WebhookFormat,
    notice: &Notice,
) -> Result<(), String> {
    post_json(target, target.url.clone(), &body(format, notice)).await
}

/// fleetdeck's JSON: the alert's fields as they are.
fn plain(n: &Notice) -> Value {
    json!({
        "status": n.status.as_str(),
        "labels": n.labels,
        "annotations": n.annotations,
        "startsAt": rfc3339(n.starts_unix_ms),
        "endsAt": rfc3339(n.ends_unix_ms),
    })
}

/// Slack's incoming-webhook message: a one-line `text` (what notifications show) and an
/// attachment with the recommendation, the command and the labels as fields.
fn slack(n: &Notice) -> Value {
    let (tag, color) = match n.status {
        NoticeStatus::Firing => ("FIRING", "danger"),
        NoticeStatus::Resolved => ("RESOLVED", "good"),
    };
    let summary = n
        .annotation("summary")
        .unwrap_or_else(|| n.label("alertname"));
    let text = format!(
        "[{tag}] {} {}: {summary}",
        n.label("severity"),
        n.label("alertname")
    );
    let mut detail = Vec::new();
    if let Some(value) = n.annotation("value") {
        detail.push(format!("Value: {value}"));
    }
    if n.status == NoticeStatus::Firing {
        if let Some(r) = n.annotation("recommendation") {
            detail.push(format!("Recommended: {r}"));
        }
        if let Some(c) = n.annotation("command") {
            detail.push(format!("Run: `{c}`"));
        }
    }
    let fields: Vec<Value> = n
        .labels
        .iter()
        .filter(|(k, _)| k.as_str() != super::labels::ALERTNAME)
        .map(|(k, v)| json!({"title": k, "value": v, "short": true}))
        .collect();
    let ts = match n.status {
        NoticeStatus::Firing => n.starts_unix_ms,
        NoticeStatus::Resolved => n.ends_unix_ms,
    } / 1000;
    json!({
        "text": text,
        "attachments": [{
            "color": color,
            "fallback": text,
            "title": summary,
            "text": detail.join("\n"),
            "fields": fields,
            "ts": ts,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(status: NoticeStatus) -> Notice {
        let pairs = |p: &[(&str, &str)]| {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        Notice {
            status,
            labels: pairs(&[
                ("alertname", "node-unreachable"),
                ("node", "n3"),
                ("severity", "critical"),
            ]),
            annotations: pairs(&[
                ("summary", "node unreachable on n3"),
                ("recommendation", "failover n3: re-create its containers"),
                ("command", "fleetdeck failover n3"),
            ]),
            starts_unix_ms: 10_000,
            ends_unix_ms: 70_000,
        }
    }

    #[test]
    fn slack_messages_say_what_fires_and_what_to_run() {
        let v = body(WebhookFormat::Slack, &notice(NoticeStatus::Firing));
        assert_eq!(
            v["text"],
            "[FIRING] critical node-unreachable: node unreachable on n3"
        );
        let a = &v["attachments"][0];
        assert_eq!(a["color"], "danger");
        assert_eq!(a["ts"], 10);
        let detail = a["text"].as_str().unwrap();
        assert!(detail.contains("Run: `fleetdeck failover n3`"), "{detail}");
        assert_eq!(
            a["fields"][0],
            json!({"title": "node", "value": "n3", "short": true})
        );
        let v = body(WebhookFormat::Slack, &notice(NoticeStatus::Resolved));
        assert!(
            v["text"].as_str().unwrap().starts_with("[RESOLVED] "),
            "{v}"
        );
        assert_eq!(v["attachments"][0]["color"], "good");
        assert_eq!(v["attachments"][0]["ts"], 70);
        assert!(
            !v["attachments"][0]["text"]
                .as_str()
                .unwrap()
                .contains("Run:")
        );
    }

    #[test]
    fn json_is_the_alert_as_it_is() {
        let v = body(WebhookFormat::Json, &notice(NoticeStatus::Resolved));
        assert_eq!(v["status"], "resolved");
        assert_eq!(v["labels"]["node"], "n3");
        assert_eq!(v["annotations"]["command"], "fleetdeck failover n3");
        assert_eq!(v["endsAt"], "1970-01-01T00:01:10.000Z");
    }
}
