//! The engine's event stream: marks containers for a fresh look and wakes the sampler, and
//! reconnects by itself when the engine goes away.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::EventsOptions;
use futures::StreamExt;

use super::Shared;

/// First wait before trying a vanished engine again.
const RETRY_MIN: Duration = Duration::from_millis(250);
/// Longest wait between tries.
const RETRY_MAX: Duration = Duration::from_secs(5);
/// Longest wait for a ping while reconnecting.
const PING_TIMEOUT: Duration = Duration::from_secs(3);

/// Whether an event's action changes what the console shows. Health checks alone make
/// `exec_*` events every interval; those must not wake the sampler.
pub fn relevant(action: &str) -> bool {
    let verb = action.split(':').next().unwrap_or(action).trim();
    matches!(
        verb,
        "create"
            | "start"
            | "restart"
            | "die"
            | "stop"
            | "destroy"
            | "pause"
            | "unpause"
            | "oom"
            | "rename"
            | "update"
            | "health_status"
    )
}

/// Runs until aborted: follows the events, reconnecting with backoff when they stop.
pub async fn watch(docker: Docker, shared: Arc<Shared>, scope: Option<(String, String)>) {
    let mut filters = HashMap::from([("type".to_owned(), vec!["container".to_owned()])]);
    if let Some((k, v)) = &scope {
        filters.insert("label".to_owned(), vec![format!("{k}={v}")]);
    }
    let mut retry = RETRY_MIN;
    let mut was_down = false;
    loop {
        let up = matches!(
            tokio::time::timeout(PING_TIMEOUT, docker.ping()).await,
            Ok(Ok(_))
        );
        if !up {
            was_down = true;
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(RETRY_MAX);
            continue;
        }
        retry = RETRY_MIN;
        if std::mem::take(&mut was_down) {
            tracing::info!("Docker engine is back");
        }
        // Anything may have happened while no events came in.
        shared.touch_all();
        let options = EventsOptions {
            filters: Some(filters.clone()),
            ..Default::default()
        };
        let mut events = docker.events(Some(options));
        while let Some(ev) = events.next().await {
            match ev {
                Ok(m) => {
                    let action = m.action.as_deref().unwrap_or_default();
                    let id = m.actor.as_ref().and_then(|a| a.id.as_deref());
                    if let (true, Some(id)) = (relevant(action), id) {
                        tracing::debug!(id, action, "engine event");
                        shared.touch(id);
                    }
                }
                Err(e) => {
                    tracing::warn!("Docker engine event stream broke: {e}");
                    break;
                }
            }
        }
        // The stream ended: the engine stopped or restarted. Sample now so the runtime check
        // says so, then try again.
        tracing::debug!("Docker engine event stream ended; reconnecting");
        shared.touch_all();
        tokio::time::sleep(RETRY_MIN).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_state_changes_wake_the_sampler() {
        for a in ["die", "start", "health_status: unhealthy", "destroy", "oom"] {
            assert!(relevant(a), "{a}");
        }
        for a in [
            "exec_create: sh -c true",
            "exec_start: sh",
            "exec_die",
            "attach",
            "top",
        ] {
            assert!(!relevant(a), "{a}");
        }
    }
}
