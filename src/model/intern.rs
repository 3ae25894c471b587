//! One shared copy of what many containers repeat: image and service names, whole label
//! maps. A fleet of 30,000 containers runs a few dozen images and services, and replicas of
//! one service carry the same labels but for a replica number, so each distinct value is
//! kept once and the containers hold a pointer to it.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::ContainerSpec;

/// Labels of a container, shared by every container with the same map.
pub type Labels = Arc<BTreeMap<String, String>>;

/// Values held only by the interner are forgotten once it holds this many more values
/// than after its last sweep (and at least this many), so churn cannot grow it forever.
const SWEEP_AFTER_NEW_VALUES: usize = 1024;

/// The shared copies handed out so far.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    strings: HashSet<Arc<str>>,
    labels: HashSet<Labels>,
    /// Values held after the last sweep.
    swept_at: usize,
}

impl Interner {
    /// Makes `spec` point at the shared copies of its image, service and labels.
    pub fn spec(&mut self, spec: &mut ContainerSpec) {
        spec.image = self.string(&spec.image);
        spec.service = self.string(&spec.service);
        spec.labels = self.labels(&spec.labels);
        if self.len() >= self.swept_at + SWEEP_AFTER_NEW_VALUES {
            self.sweep();
        }
    }

    /// The shared copy of `s`.
    pub fn string(&mut self, s: &Arc<str>) -> Arc<str> {
        if let Some(held) = self.strings.get(s) {
            return Arc::clone(held);
        }
        self.strings.insert(Arc::clone(s));
        Arc::clone(s)
    }

    /// The shared copy of `labels`.
    pub fn labels(&mut self, labels: &Labels) -> Labels {
        if let Some(held) = self.labels.get(labels) {
            return Arc::clone(held);
        }
        self.labels.insert(Arc::clone(labels));
        Arc::clone(labels)
    }

    /// Distinct values held.
    pub fn len(&self) -> usize {
        self.strings.len() + self.labels.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the values no container holds any more.
    pub fn sweep(&mut self) {
        self.strings.retain(|s| Arc::strong_count(s) > 1);
        self.labels.retain(|l| Arc::strong_count(l) > 1);
        self.swept_at = self.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(image: &str, replica: &str) -> ContainerSpec {
        ContainerSpec {
            image: image.into(),
            service: "web".into(),
            labels: Arc::new(BTreeMap::from([
                ("fleetdeck.service".to_owned(), "web".to_owned()),
                ("replica".to_owned(), replica.to_owned()),
            ])),
            ..ContainerSpec::default()
        }
    }

    #[test]
    fn equal_values_share_one_copy() {
        let mut interner = Interner::default();
        let (mut a, mut b, mut c) = (
            spec("nginx:1", "1"),
            spec("nginx:1", "1"),
            spec("redis:7", "2"),
        );
        for s in [&mut a, &mut b, &mut c] {
            interner.spec(s);
        }
        assert!(Arc::ptr_eq(&a.image, &b.image));
        assert!(Arc::ptr_eq(&a.service, &c.service));
        assert!(Arc::ptr_eq(&a.labels, &b.labels));
        assert!(
            !Arc::ptr_eq(&a.labels, &c.labels),
            "different maps stay apart"
        );
        assert_eq!(&*c.image, "redis:7");
        assert_eq!(c.labels.get("replica").map(String::as_str), Some("2"));
        // nginx:1, redis:7, web; two label maps.
        assert_eq!(interner.len(), 5);
    }

    #[test]
    fn a_sweep_forgets_what_no_container_holds() {
        let mut interner = Interner::default();
        let mut kept = spec("nginx:1", "1");
        let mut gone = spec("redis:7", "2");
        interner.spec(&mut kept);
        interner.spec(&mut gone);
        drop(gone);
        interner.sweep();
        assert_eq!(interner.len(), 3, "nginx:1, web and one label map");
        let mut again = spec("nginx:1", "1");
        interner.spec(&mut again);
        assert!(Arc::ptr_eq(&kept.image, &again.image));
    }

    #[test]
    fn churn_does_not_grow_it_forever() {
        let mut interner = Interner::default();
        for i in 0..10 * SWEEP_AFTER_NEW_VALUES {
            let mut s = spec(&format!("img:{i}"), &i.to_string());
            interner.spec(&mut s);
        }
        assert!(
            interner.len() < 2 * SWEEP_AFTER_NEW_VALUES + 2,
            "{}",
            interner.len()
        );
    }
}
