//! What the fleetdeck console and agent both need, so neither reaches into the other:
//! container specs, states, ports and figures, node modes, checks and host samples, each
//! with its one wire codec; the labels fleetdeck puts on containers and how to read them;
//! the recent history an agent keeps (`history`), compact and delta coded on the wire;
//! the rule by which two intents (multi-step actions) overlap (`intent`); the images an
//! engine holds with their health check timing (`image`); a cancellation
//! signal, owner-only files, the formatting of sizes and durations, and the
//! shell completions and man pages of both binaries.

pub mod cancel;
pub mod cli_docs;
pub mod container;
pub mod exec;
pub mod format;
pub mod history;
pub mod image;
pub mod intent;
pub mod labels;
pub mod node;
pub mod private;
pub mod spec;
