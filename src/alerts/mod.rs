//! Incident response: alert rules evaluated as data arrives, the `AlertBook` holding
//! alert state, recommendations with the action they propose, and the incident timeline.
//!
//! Pure like `model`: every function takes `now` and never reads a clock or does I/O, so
//! `for` windows, acks and silences are tested on a fake clock.

mod alert;
mod book;
mod condition;
mod proposal;
mod rules;
mod timeline;

pub use book::{
    ACK_TTL, Ack, Alert, AlertBook, AlertKey, AlertState, Counts, FLEET_SLOT, RESOLVED_SHOWN_FOR,
    RemoteLink, RemoteSilence, Silence, Subject,
};
pub use proposal::{Proposal, propose};
pub use rules::{
    AlertsConfig, Condition, DEFAULT_RESTART_WINDOW, HumanDuration, Join, Metric, Op, Recommend,
    Rule, RuleConfig, RuleError, Scope, Severity, Term, default_rules, format_duration,
    parse_duration, rules_from_config,
};
pub use timeline::{
    Entry, EntryKind, Stamp, TIMELINE_MAX_ENTRIES, Timeline, export_file_name, utc,
};

#[cfg(test)]
mod tests;
