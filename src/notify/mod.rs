//! Where alerts go when nobody is looking at a console: Prometheus Alertmanager and
//! webhooks. This module holds their settings (`[notify]`) and the HTTP clients built
//! from them; `fleetdeck monitor` and the console's silences use these.

pub mod config;
pub mod http;
pub mod labels;

pub use config::{HttpAuth, NotifyConfig, WebhookConfig, WebhookFormat};
pub use http::{HttpTarget, NotifySettings};
pub use labels::labels;
