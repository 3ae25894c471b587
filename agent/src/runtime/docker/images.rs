//! The images the engine holds, with each one's health check timing (what a rollout
//! checks before it starts), and the health check a portable spec carries: only one the
//! container set itself, so a copy made from a new image runs that image's own check.

use std::collections::BTreeMap;
use std::time::Duration;

use bollard::models::HealthConfig;
use bollard::query_parameters::ListImagesOptions;
use fleetdeck_core::image::{EngineImage, HealthTiming};

use super::spec::{EXTRAS_LABEL, Extras};
use super::{API_TIMEOUT, DockerRuntime};
use crate::model::PortableSpec;
use crate::runtime::RuntimeError;

/// The engine's defaults for a health check field left at 0.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_RETRIES: u32 = 3;
/// Most images inspected for one listing: an engine with more answers with the first ones
/// (by name) and no health timing for the rest.
const MAX_INSPECTED: usize = 200;

/// The timing of health check `h`; `None` when it checks nothing (`NONE` or no test).
pub fn timing(h: &HealthConfig) -> Option<HealthTiming> {
    let test = h.test.as_deref().unwrap_or_default();
    if test.is_empty() || test.first().is_some_and(|t| t == "NONE") {
        return None;
    }
    let ns = |v: Option<i64>, default: Duration| match v {
        Some(n) if n > 0 => Duration::from_nanos(n.unsigned_abs()),
        _ => default,
    };
    Some(HealthTiming {
        start_period: ns(h.start_period, Duration::ZERO),
        interval: ns(h.interval, DEFAULT_INTERVAL),
        timeout: ns(h.timeout, DEFAULT_TIMEOUT),
        retries: h
            .retries
            .and_then(|r| u32::try_from(r).ok())
            .filter(|r| *r > 0)
            .unwrap_or(DEFAULT_RETRIES),
    })
}

/// Drops the health check from `spec`'s engine configuration when it is `image`'s own:
/// the engine copies an image's check into every container made from it, and a copy made
/// from another image (a rollout) must run that image's check, not the old one's.
pub fn drop_image_health(spec: &mut PortableSpec, image: Option<&HealthConfig>) {
    let Some(image) = image else { return };
    let Ok(mut extras) = Extras::of(&spec.labels) else {
        return;
    };
    if extras.healthcheck.as_ref() != Some(image) {
        return;
    }
    extras.healthcheck = None;
    if extras == Extras::default() {
        spec.labels.remove(EXTRAS_LABEL);
    } else if let Ok(raw) = serde_json::to_string(&extras) {
        spec.labels.insert(EXTRAS_LABEL.to_owned(), raw);
    }
}

impl DockerRuntime {
    /// The health check image `reference` (a name or id) defines, if any.
    pub(super) async fn image_health(&self, reference: &str) -> Option<HealthConfig> {
        let inspect = tokio::time::timeout(API_TIMEOUT, self.docker.inspect_image(reference));
        match inspect.await {
            Ok(Ok(i)) => i.config.and_then(|c| c.healthcheck),
            _ => None,
        }
    }

    /// Every tagged image on the engine, with its health check timing.
    pub(super) async fn engine_images(&self) -> Result<Vec<EngineImage>, RuntimeError> {
        let list = tokio::time::timeout(
            API_TIMEOUT,
            self.docker.list_images(None::<ListImagesOptions>),
        )
        .await
        .map_err(|_| {
            RuntimeError::Unavailable(format!(
                "the Docker engine at {} did not list its images within {} s",
                self.endpoint,
                API_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| self.api_error("images", e))?;
        // By first tag, so a capped listing is the same on every call.
        let mut tagged: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
        for summary in list {
            let mut tags: Vec<String> = summary
                .repo_tags
                .into_iter()
                .filter(|t| t != "<none>:<none>")
                .collect();
            tags.sort();
            if let Some(first) = tags.first().cloned() {
                tagged.insert(first, (summary.id, tags));
            }
        }
        let mut images = Vec::with_capacity(tagged.len());
        for (i, (_, (id, tags))) in tagged.into_iter().enumerate() {
            let health = if i < MAX_INSPECTED {
                self.image_health(&id).await.as_ref().and_then(timing)
            } else {
                None
            };
            images.push(EngineImage { tags, health });
        }
        Ok(images)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(test: &[&str]) -> HealthConfig {
        HealthConfig {
            test: Some(test.iter().map(|s| (*s).to_owned()).collect()),
            interval: Some(1_000_000_000),
            start_period: Some(4_000_000_000),
            ..HealthConfig::default()
        }
    }

    #[test]
    fn unset_fields_take_the_engines_defaults_and_none_checks_nothing() {
        let t = timing(&check(&["CMD-SHELL", "true"])).expect("a check");
        assert_eq!(t.interval, Duration::from_secs(1));
        assert_eq!(t.start_period, Duration::from_secs(4));
        assert_eq!(t.timeout, DEFAULT_TIMEOUT);
        assert_eq!(t.retries, DEFAULT_RETRIES);
        assert_eq!(timing(&check(&["NONE"])), None);
        assert_eq!(timing(&HealthConfig::default()), None);
    }

    #[test]
    fn only_the_images_own_check_is_dropped() {
        let own = check(&["CMD-SHELL", "true"]);
        let extras = Extras {
            healthcheck: Some(own.clone()),
            user: Some("1000".into()),
            ..Extras::default()
        };
        let mut spec = PortableSpec::default();
        spec.labels.insert(
            EXTRAS_LABEL.to_owned(),
            serde_json::to_string(&extras).expect("json"),
        );
        let before = spec.clone();
        drop_image_health(&mut spec, Some(&check(&["CMD-SHELL", "false"])));
        assert_eq!(spec, before, "a check the container set itself stays");
        drop_image_health(&mut spec, Some(&own));
        let left = Extras::of(&spec.labels).expect("extras");
        assert_eq!(left.healthcheck, None);
        assert_eq!(left.user.as_deref(), Some("1000"));
    }
}
