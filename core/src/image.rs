//! The images a node's engine holds and each one's health check timing: what a rollout
//! checks before it starts and how long it waits for a new replica to become healthy.

use std::time::Duration;

use fleetdeck_proto as pb;

/// How long a health check may take to say healthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HealthTiming {
    /// Grace time after start during which failures do not count.
    pub start_period: Duration,
    pub interval: Duration,
    pub timeout: Duration,
    /// Failures in a row before the container is unhealthy.
    pub retries: u32,
}

impl HealthTiming {
    /// The longest a healthy container may take to be reported healthy: its start period,
    /// then `retries` checks of one interval and one timeout each.
    pub fn settle(&self) -> Duration {
        self.start_period + (self.interval + self.timeout) * self.retries.max(1)
    }

    /// To the wire.
    pub fn to_proto(self) -> pb::HealthTiming {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        pb::HealthTiming {
            start_period_ms: ms(self.start_period),
            interval_ms: ms(self.interval),
            timeout_ms: ms(self.timeout),
            retries: self.retries,
        }
    }

    /// From the wire.
    pub fn from_proto(h: &pb::HealthTiming) -> Self {
        Self {
            start_period: Duration::from_millis(h.start_period_ms),
            interval: Duration::from_millis(h.interval_ms),
            timeout: Duration::from_millis(h.timeout_ms),
            retries: h.retries,
        }
    }
}

/// One image on a node's engine.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EngineImage {
    /// Every name it is tagged with (`repo:tag`).
    pub tags: Vec<String>,
    /// Its own health check, when it defines one.
    pub health: Option<HealthTiming>,
}

impl EngineImage {
    /// To the wire.
    pub fn to_proto(&self) -> pb::EngineImage {
        pb::EngineImage {
            tags: self.tags.clone(),
            health: self.health.map(HealthTiming::to_proto),
        }
    }

    /// From the wire.
    pub fn from_proto(i: &pb::EngineImage) -> Self {
        Self {
            tags: i.tags.clone(),
            health: i.health.as_ref().map(HealthTiming::from_proto),
        }
    }

    /// Whether `name` is one of its tags (`name` without a tag means `:latest`).
    pub fn is(&self, name: &str) -> bool {
        let full = with_tag(name);
        self.tags.iter().any(|t| with_tag(t) == full)
    }
}

/// `name` with `:latest` added when it carries no tag or digest.
pub fn with_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || last.contains('@') {
        name.to_owned()
    } else {
        format!("{name}:latest")
    }
}

/// The image named `name` in `images`.
pub fn find<'a>(images: &'a [EngineImage], name: &str) -> Option<&'a EngineImage> {
    images.iter().find(|i| i.is(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_without_a_tag_mean_latest_and_registry_ports_are_not_tags() {
        let img = EngineImage {
            tags: vec![
                "acme/api:latest".into(),
                "reg.local:5000/acme/api:2.5".into(),
            ],
            health: None,
        };
        assert!(img.is("acme/api"));
        assert!(img.is("reg.local:5000/acme/api:2.5"));
        assert!(!img.is("reg.local:5000/acme/api"));
        assert!(!img.is("acme/api:2.5"));
    }

    #[test]
    fn settle_counts_the_start_period_and_every_retry() {
        let h = HealthTiming {
            start_period: Duration::from_secs(5),
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(1),
            retries: 3,
        };
        assert_eq!(h.settle(), Duration::from_secs(14));
        assert_eq!(HealthTiming::from_proto(&h.to_proto()), h);
    }
}
