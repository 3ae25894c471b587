//! The fleetdeck wire contract (`fleetdeck.v1`): messages and the tonic client and server.

/// Generated code for package `fleetdeck.v1`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod v1 {
    tonic::include_proto!("fleetdeck.v1");
}

pub use v1::*;
