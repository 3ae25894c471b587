//! Where alerts go when nobody is looking at a console: Prometheus Alertmanager and
//! webhooks. This module holds their settings (`[notify]`), the HTTP clients built
//! from them, and the Alertmanager silences client the console's `S` uses.

pub mod config;
pub mod http;
pub mod labels;
pub mod silences;

pub use config::{HttpAuth, NotifyConfig, WebhookConfig, WebhookFormat};
pub use http::{HttpTarget, NotifySettings};
pub use labels::labels;
