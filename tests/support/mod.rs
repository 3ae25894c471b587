//! Helpers shared by the integration tests (the `it` binary's `support` module; the tests
//! with a binary of their own include single files of it by path).

pub mod alertmanager;
pub mod binaries;
pub mod docker;
pub mod docker_cluster;
pub mod monitor;
pub mod ops;
pub mod pki;
pub mod prometheus;
pub mod pty;
pub mod screen;
pub mod services;
pub mod tcp_proxy;
pub mod unix_proxy;
