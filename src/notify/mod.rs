//! Where alerts go when nobody is looking at a console: Prometheus Alertmanager and
//! webhooks. This module holds their settings (`[notify]`), the HTTP clients built from
//! them, the notices sent, one sender task per receiver with a bounded queue (what
//! `fleetdeck monitor` uses), and the Alertmanager silences client the console's `S` uses.

pub mod alertmanager;
pub mod config;
pub mod deliver;
pub mod http;
pub mod labels;
pub mod notice;
pub mod queue;
pub mod sender;
pub mod silences;
pub mod webhook;

pub use config::{HttpAuth, NotifyConfig, WebhookConfig, WebhookFormat};
pub use deliver::Receiver;
pub use http::{HttpTarget, NotifySettings};
pub(crate) use http::{parse_url, target as http_target};
pub use labels::labels;
pub use notice::{Notice, NoticeStatus};
pub use queue::{Outbox, QUEUE_CAPACITY, ReceiverStatus};
pub use sender::Sender;
