//! Silences kept in step with Alertmanager: the ones made there that cover an alert, and
//! the Alertmanager silences behind the console's own. Part of `AlertBook`; the console
//! matches labels against Alertmanager's list and hands the outcome here, so this stays
//! pure like the rest of the book.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::{AlertBook, AlertKey, RemoteLink, RemoteSilence};
use crate::alerts::timeline::{EntryKind, Stamp, utc};

impl AlertBook {
    /// True when a silence holds on `key`: the console's own or one made in Alertmanager.
    pub fn is_silenced(&self, key: &AlertKey) -> bool {
        self.silences.contains_key(key) || self.remote.contains_key(key)
    }

    /// The Alertmanager silence covering `key`, as last matched.
    pub fn remote_silence(&self, key: &AlertKey) -> Option<&RemoteSilence> {
        self.remote.get(key)
    }

    /// Moves whenever an alert becomes active or leaves; an alert's labels never change
    /// while it is active, so silences need matching again only when this moved.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Replaces the set of alerts Alertmanager's silences cover. Alerts newly covered and
    /// alerts no longer covered go on the timeline, except where the silence is the
    /// console's own (its entry is already there).
    pub fn set_remote_silences(&mut self, hits: BTreeMap<AlertKey, RemoteSilence>, now: Stamp) {
        if hits == self.remote {
            return;
        }
        let mut entries = Vec::new();
        for (key, hit) in &hits {
            let same = self
                .remote
                .get(key)
                .is_some_and(|old| old.id == hit.id && old.alertmanager == hit.alertmanager);
            if same || self.is_own(key, hit) {
                continue;
            }
            let mut text = format!(
                "{} in Alertmanager by {} until {} UTC",
                self.name_of(key),
                if hit.created_by.is_empty() {
                    "(unnamed)"
                } else {
                    hit.created_by.as_str()
                },
                utc(hit.ends_unix_ms)
            );
            if !hit.comment.trim().is_empty() {
                text.push_str(&format!(": {}", hit.comment.trim()));
            }
            entries.push((EntryKind::Silenced, *key, text));
        }
        for (key, old) in &self.remote {
            if !hits.contains_key(key) && self.active.contains_key(key) && !self.is_own(key, old) {
                let text = format!(
                    "{} (Alertmanager silence {} ended)",
                    self.name_of(key),
                    old.id
                );
                entries.push((EntryKind::SilenceExpired, *key, text));
            }
        }
        for (kind, key, text) in entries {
            let severity = self.active.get(&key).map(|a| a.severity);
            self.timeline.push(now, kind, severity, text);
        }
        self.remote = hits;
        self.dirty = true;
    }

    /// Records the Alertmanager silences made for the console's silence on `key`, with a
    /// timeline entry; the silence may have ended meanwhile, then only the entry is left.
    pub fn link_remote(&mut self, key: &AlertKey, links: Vec<RemoteLink>, now: Stamp) {
        if links.is_empty() {
            return;
        }
        let ids: Vec<String> = links
            .iter()
            .map(|l| format!("{} at {}", l.id, l.alertmanager))
            .collect();
        let text = format!(
            "{} in Alertmanager too (silence {})",
            self.name_of(key),
            ids.join(", ")
        );
        let severity = self.active.get(key).map(|a| a.severity);
        self.timeline.push(now, EntryKind::Silenced, severity, text);
        if let Some(silence) = self.silences.get_mut(key) {
            silence.links.extend(links);
        }
        self.dirty = true;
    }

    /// Ends the console's silences whose Alertmanager silences were expired there.
    /// `listed` holds, for each Alertmanager that answered, the ids it lists as active,
    /// as asked at `asked`: a silence made after that is not judged by this list, and
    /// one is ended only when every Alertmanager that answered and holds one of its
    /// silences no longer lists it.
    pub fn end_unlisted(
        &mut self,
        listed: &BTreeMap<String, BTreeSet<String>>,
        asked: Instant,
        now: Stamp,
    ) {
        let gone: Vec<AlertKey> = self
            .silences
            .iter()
            .filter(|(_, s)| {
                let mut judged = s
                    .links
                    .iter()
                    .filter(|l| l.at <= asked)
                    .filter_map(|l| listed.get(&l.alertmanager).map(|ids| ids.contains(&l.id)))
                    .peekable();
                judged.peek().is_some() && judged.all(|still| !still)
            })
            .map(|(k, _)| *k)
            .collect();
        for key in gone {
            // The match on its own Alertmanager silence goes with it: one entry, not two.
            if let Some(hit) = self.remote.get(&key).cloned() {
                if self.is_own(&key, &hit) {
                    self.remote.remove(&key);
                }
            }
            self.silences.remove(&key);
            let text = format!("{} (expired in Alertmanager)", self.name_of(&key));
            let severity = self.active.get(&key).map(|a| a.severity);
            self.timeline
                .push(now, EntryKind::SilenceExpired, severity, text);
            self.dirty = true;
        }
    }

    /// Ends, on time, the Alertmanager silences whose end passed since the last list.
    pub(super) fn end_remote_silences(&mut self, now: Stamp) {
        let ended: BTreeMap<AlertKey, RemoteSilence> = self
            .remote
            .iter()
            .filter(|(_, r)| r.ends_unix_ms <= now.unix_ms)
            .map(|(k, r)| (*k, r.clone()))
            .collect();
        if ended.is_empty() {
            return;
        }
        let left = self
            .remote
            .iter()
            .filter(|(k, _)| !ended.contains_key(*k))
            .map(|(k, r)| (*k, r.clone()))
            .collect();
        self.set_remote_silences(left, now);
    }

    /// True when `hit` is one of the Alertmanager silences made for the console's own
    /// silence on `key`.
    fn is_own(&self, key: &AlertKey, hit: &RemoteSilence) -> bool {
        self.silences.get(key).is_some_and(|s| {
            s.links
                .iter()
                .any(|l| l.id == hit.id && l.alertmanager == hit.alertmanager)
        })
    }
}
