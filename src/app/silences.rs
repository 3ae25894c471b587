//! Silences kept in step with Alertmanager, when `[notify] alertmanager` is set: `S`
//! makes the silence there too, so the pages stop; the silences made there show on the
//! alerts they cover; one expired there ends here. Part of `App::update`: the calls go to
//! the run loop as effects and come back as actions, and an Alertmanager that does not
//! answer costs one status line, never a frozen screen.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::{App, Effect, Redraw};
use crate::alerts::{Alert, AlertKey, RemoteLink, RemoteSilence, Subject, format_duration};
use crate::model::Fleet;
use crate::notify::silences::{ActiveSilence, NewSilence, SilenceError};

/// How often the active silences are listed (and once right after the console made one).
pub const SILENCE_POLL_INTERVAL: Duration = Duration::from_secs(15);
/// A silence starts this much before the console's clock says: Alertmanager moves a
/// start in the past to its own now, so a console whose clock runs ahead still makes a
/// silence that is active at once.
const START_SKEW: Duration = Duration::from_secs(60);

/// What one Alertmanager said to a create: its URL and the silence id, or why not.
pub type Created = Vec<(String, Result<String, SilenceError>)>;
/// What each Alertmanager listed: its URL and its active silences, or why not.
pub type Listed = Vec<(String, Result<Vec<ActiveSilence>, SilenceError>)>;

/// The console's view of Alertmanager's silences.
#[derive(Debug, Default)]
pub struct SilenceSync {
    /// Base URLs; empty when none is configured (silences stay in the console).
    alertmanagers: Vec<String>,
    /// `createdBy` of the silences made here (`user@host`).
    created_by: String,
    /// Active silences by Alertmanager, from its last answer (kept while it is down).
    known: BTreeMap<String, Vec<ActiveSilence>>,
    /// Alertmanagers whose last list failed: said once, not at every poll.
    failing: BTreeSet<String>,
    /// A list is being fetched.
    in_flight: bool,
    /// Another list is wanted as soon as the one being fetched is in (a silence was made
    /// after it was asked for).
    again: bool,
    /// When the next list is due (None: at the next tick).
    next_poll: Option<Instant>,
    /// The alert book's generation the matches were made for.
    matched: Option<u64>,
}

impl SilenceSync {
    /// Silences made at `alertmanagers` by `created_by`.
    pub fn new(alertmanagers: Vec<String>, created_by: String) -> Self {
        Self {
            alertmanagers,
            created_by,
            ..Self::default()
        }
    }

    /// True when an Alertmanager is configured.
    pub fn is_enabled(&self) -> bool {
        !self.alertmanagers.is_empty()
    }

    /// Matches are made again at the next refresh (the alert book was replaced).
    pub(super) fn forget_matches(&mut self) {
        self.matched = None;
    }

    /// The Alertmanagers whose last list failed.
    pub fn failing(&self) -> impl Iterator<Item = &str> {
        self.failing.iter().map(String::as_str)
    }
}

impl App {
    /// Keeps silences in step with these Alertmanagers (their base URLs, as the run loop's
    /// targets name them); `created_by` signs the silences made here.
    pub fn use_alertmanagers(&mut self, alertmanagers: Vec<String>, created_by: String) {
        self.remote_silences = SilenceSync::new(alertmanagers, created_by);
    }

    /// Asks the run loop for the active silences when a list is due and none is running.
    pub(super) fn poll_silences_if_due(&mut self) {
        let sync = &mut self.remote_silences;
        if !sync.is_enabled() || sync.in_flight || sync.next_poll.is_some_and(|t| self.now < t) {
            return;
        }
        sync.in_flight = true;
        self.emit(Effect::ListSilences { asked: self.now });
    }

    /// After `S`: asks the run loop to make the same silence in Alertmanager. False when
    /// none is configured (or the alert is gone), so the silence stays in the console.
    pub(super) fn silence_in_alertmanager(&mut self, key: AlertKey, duration: Duration) -> bool {
        if !self.remote_silences.is_enabled() {
            return false;
        }
        let alert = self
            .alerts
            .get(&key)
            .or_else(|| self.alerts.resolved().find(|a| a.key == key));
        let Some(alert) = alert else {
            return false;
        };
        let labels = crate::notify::labels(alert, service_of(&self.fleet, alert));
        let skew = u64::try_from(START_SKEW.as_millis()).unwrap_or(0);
        let length = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        let comment = format!(
            "silenced for {} from the fleetdeck console ({}): {} on {}",
            format_duration(duration),
            self.title,
            alert.summary,
            alert.location()
        );
        let silence = NewSilence::for_alert(
            &labels,
            self.now_unix_ms.saturating_sub(skew),
            self.now_unix_ms.saturating_add(length),
            &self.remote_silences.created_by,
            &comment,
        );
        self.emit(Effect::CreateSilence { key, silence });
        true
    }

    /// The run loop made (or failed to make) the Alertmanager silences for `key`. The
    /// console's silence holds either way; a failure says once that the pages go on.
    pub(super) fn on_silence_created(&mut self, key: AlertKey, results: Created) {
        let now = self.stamp();
        let total = results.len();
        let mut links = Vec::new();
        let mut errors = Vec::new();
        for (alertmanager, result) in results {
            match result {
                Ok(id) => {
                    tracing::info!(%alertmanager, %id, "Alertmanager silence created");
                    links.push(RemoteLink {
                        alertmanager,
                        id,
                        at: self.now,
                    });
                }
                Err(e) => {
                    tracing::warn!(%alertmanager, error = %e, "Alertmanager silence not created");
                    errors.push(e.to_string());
                }
            }
        }
        let made = links.len();
        let first_id = links.first().map(|l| l.id.clone()).unwrap_or_default();
        self.alerts.link_remote(&key, links, now);
        let status = match (made, errors.first()) {
            (_, None) if total == 1 => format!("silenced in Alertmanager too (silence {first_id})"),
            (_, None) => format!("silenced in all {total} Alertmanagers too"),
            (0, Some(e)) => {
                format!("silenced here only, pages still go out: Alertmanager: {e}")
            }
            (n, Some(e)) => format!("silenced in {n} of {total} Alertmanagers; {e}"),
        };
        self.set_status(status);
        // List at once (or as soon as the list on its way is in), so the silence shows as
        // Alertmanager holds it.
        self.remote_silences.next_poll = None;
        self.remote_silences.again = self.remote_silences.in_flight;
        self.poll_silences_if_due();
        self.request(Redraw::Now);
    }

    /// Alertmanager's active silences, as asked at `asked`: what they cover is matched
    /// again, and the console's silences expired there end.
    pub(super) fn on_silences_listed(&mut self, asked: Instant, results: Listed) {
        let sync = &mut self.remote_silences;
        sync.in_flight = false;
        sync.next_poll = if std::mem::take(&mut sync.again) {
            None
        } else {
            Some(self.now + SILENCE_POLL_INTERVAL)
        };
        let mut listed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut news = Vec::new();
        for (alertmanager, result) in results {
            match result {
                Ok(silences) => {
                    if sync.failing.remove(&alertmanager) {
                        tracing::info!(%alertmanager, "Alertmanager answers again");
                        news.push(format!("Alertmanager {alertmanager} answers again"));
                    }
                    let ids = silences.iter().map(|s| s.id.clone()).collect();
                    listed.insert(alertmanager.clone(), ids);
                    sync.known.insert(alertmanager, silences);
                }
                Err(e) => {
                    if sync.failing.insert(alertmanager.clone()) {
                        tracing::warn!(%alertmanager, error = %e, "cannot list Alertmanager silences");
                        news.push(format!("silences made in Alertmanager may not show: {e}"));
                    }
                }
            }
        }
        let now = self.stamp();
        self.alerts.end_unlisted(&listed, asked, now);
        self.match_remote_silences(true);
        if !news.is_empty() {
            self.set_status(news.join("; "));
        }
    }

    /// Matches the active alerts against the known Alertmanager silences, when the alerts
    /// changed since the last match (or always, when `force`).
    pub(super) fn match_remote_silences(&mut self, force: bool) {
        let sync = &self.remote_silences;
        let generation = self.alerts.generation();
        if !sync.is_enabled() || (!force && sync.matched == Some(generation)) {
            return;
        }
        let now_ms = self.now_unix_ms;
        let mut hits = BTreeMap::new();
        for alert in self.alerts.active() {
            let labels = crate::notify::labels(alert, service_of(&self.fleet, alert));
            // Of the silences covering it, the one that lasts longest says until when.
            let best = sync
                .known
                .iter()
                .flat_map(|(am, list)| list.iter().map(move |s| (am, s)))
                .filter(|(_, s)| s.ends_unix_ms > now_ms && s.matches(&labels))
                .max_by_key(|(_, s)| s.ends_unix_ms);
            if let Some((am, s)) = best {
                hits.insert(
                    alert.key,
                    RemoteSilence {
                        alertmanager: am.clone(),
                        id: s.id.clone(),
                        created_by: s.created_by.clone(),
                        comment: s.comment.clone(),
                        ends_unix_ms: s.ends_unix_ms,
                    },
                );
            }
        }
        self.remote_silences.matched = Some(generation);
        let now = self.stamp();
        self.alerts.set_remote_silences(hits, now);
    }
}

/// The service of the container an alert is about, for its `service` label.
fn service_of<'a>(fleet: &'a Fleet, alert: &Alert) -> Option<&'a str> {
    match alert.key.subject() {
        Subject::Container { slot, key } => fleet
            .node(slot)?
            .containers
            .get(&key)
            .map(|c| c.spec.service.as_ref()),
        Subject::Node(_) | Subject::Fleet => None,
    }
}
