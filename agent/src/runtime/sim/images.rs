//! The images a simulated engine holds: those its containers run, every image of the
//! simulator's catalog, and for each catalog repository two more tags a rollout can go to:
//! `:2`, a healthy new version, and `:2-unhealthy`, whose health check never passes. Any
//! image whose name contains `unhealthy`, and any the node is configured to fail
//! (`AgentConfig::sim_unhealthy_images`), fails its health check once its start period is
//! over, so a rollout's rollback can be rehearsed on sim nodes.

use std::collections::BTreeSet;
use std::time::Duration;

use fleetdeck_core::image::{EngineImage, HealthTiming};

use super::load::{SimContainer, catalog_images, has_health_check};

/// Tags every sim engine holds for each repository of the catalog.
pub const EXTRA_TAGS: [&str; 2] = ["2", "2-unhealthy"];
/// An image whose name contains this fails its health check.
pub const UNHEALTHY_MARK: &str = "unhealthy";
/// Samples a new container's health check reports `starting` before its first result.
pub const STARTING_STEPS: u32 = 3;

/// Whether a container of `image` fails its health check on a node configured with
/// `unhealthy` images.
pub fn fails_health(image: &str, unhealthy: &[String]) -> bool {
    image.contains(UNHEALTHY_MARK) || unhealthy.iter().any(|u| u == image)
}

fn repository(image: &str) -> &str {
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => image,
    }
}

/// The images of a sim node running `containers`, one simulated step being `step`.
pub fn images(containers: &[SimContainer], step: Duration) -> Vec<EngineImage> {
    let mut names: BTreeSet<String> = containers.iter().map(|c| c.spec.image.clone()).collect();
    for image in catalog_images() {
        names.insert(image.to_owned());
        for tag in EXTRA_TAGS {
            names.insert(format!("{}:{tag}", repository(image)));
        }
    }
    let timing = HealthTiming {
        start_period: step * STARTING_STEPS,
        interval: step,
        timeout: step,
        retries: 1,
    };
    names
        .into_iter()
        .map(|name| EngineImage {
            health: has_health_check(&name).then_some(timing),
            tags: vec![name],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalog_repository_has_a_healthy_and_an_unhealthy_next_tag() {
        let list = images(&[], Duration::from_secs(1));
        let has = |n: &str| fleetdeck_core::image::find(&list, n).is_some();
        assert!(has("acme/api:2.4.1") && has("acme/api:2") && has("acme/api:2-unhealthy"));
        assert!(!has("acme/api:2.5"));
        let api = fleetdeck_core::image::find(&list, "acme/api:2").expect("listed");
        assert_eq!(
            api.health.map(|h| h.start_period),
            Some(Duration::from_secs(3))
        );
        assert!(fails_health("acme/api:2-unhealthy", &[]) && !fails_health("acme/api:2", &[]));
        assert!(fails_health("acme/api:2", &["acme/api:2".to_owned()]));
    }
}
