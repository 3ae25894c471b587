//! What the tests of real services (Alertmanager, Prometheus) share: whether the binary is
//! there, skipping with a printed reason unless FLEETDECK_REQUIRE_SERVICES=1 (CI) makes a
//! missing one a failure, and a free loopback port to start it on.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::TcpListener;
use std::path::Path;

/// Set to 1 (CI) to fail instead of skipping when a service's binary is missing.
pub const REQUIRE_ENV: &str = "FLEETDECK_REQUIRE_SERVICES";

/// True when `test` may use the service at `bin` (Debian package `package`); false, with
/// the reason printed, when it is absent and the environment does not require it; panics
/// when it does.
pub fn available(test: &str, bin: &str, package: &str) -> bool {
    if Path::new(bin).exists() {
        return true;
    }
    if std::env::var(REQUIRE_ENV).as_deref() == Ok("1") {
        panic!("{test}: {bin} is missing and {REQUIRE_ENV}=1");
    }
    eprintln!(
        "{test}: skipped: {bin} is missing (apt-get install {package}; \
         set {REQUIRE_ENV}=1 to make this a failure)"
    );
    false
}

/// A loopback port free now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
