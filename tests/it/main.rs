//! The console's integration tests, linked once as one binary: each file here is a module,
//! `support` holds what they share. Two tests keep a binary of their own because they set
//! process-wide state that would leak into every other test here: `tests/private_state.rs`
//! (installs the global log subscriber) and `tests/wall_specs.rs` (sets the default
//! credentials every connection uses).

#[path = "../support/mod.rs"]
mod support;

mod agent_metrics;
mod alert_snapshots;
mod am_silences;
mod cli_get;
mod cli_logs;
mod cli_ops;
mod config_cli;
mod coord_etcd;
mod coord_etcd_security;
mod deploy_units;
mod docker_engine;
mod docker_log_flood;
mod docker_sim_fault;
mod e2e_console;
mod e2e_exec;
mod e2e_incident;
mod e2e_logs;
mod e2e_wall;
mod exec_cli;
mod exec_link;
mod exec_sim;
mod fleet_grpc;
mod history_backfill;
mod intents;
mod intents_docker;
mod intents_etcd;
mod intents_kill;
mod intents_lease;
mod intents_resume;
mod intents_ui;
mod log_view;
mod monitor_alertmanager;
mod monitor_webhook;
mod ops_backup_failover;
mod ops_docker;
mod ops_docker_failover;
mod ops_docker_rollout;
mod ops_docker_volumes;
mod ops_migrate;
mod ops_restore_to;
mod ops_rollout;
mod ops_sim_restart;
mod ops_stale_alert;
#[cfg(unix)]
mod readme_tls;
mod shell_docs;
mod specs_refresh;
mod timeline_restart;
mod trust;
mod trust_roles;
mod ui_coordination;
mod ui_display;
mod ui_exec;
mod ui_history;
mod ui_ops;
mod ui_rollout;
mod ui_snapshots;
mod ui_wall;
mod wall_specs;
