//! The action commands' arguments.

use clap::{Args, Subcommand};

use crate::cli::OutputFormat;

/// Options every action command takes.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ActOptions {
    /// Do it without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the plan only; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// A container, optionally on a named node.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ContainerTarget {
    /// Container name, id or id prefix.
    pub container: String,
    /// The node it runs on (needed when the name is on several nodes).
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
}

/// What a rollout command takes beside its service.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct RolloutOptions {
    /// Replicas that may be down at once; the service never has fewer than
    /// replicas - N healthy. 0 allows make-before-break replicas only.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub max_unavailable: usize,
    /// When a new replica does not become healthy, pause and leave everything as it is
    /// for a human, instead of rolling back the replicas already replaced.
    #[arg(long)]
    pub no_rollback: bool,
    #[command(flatten)]
    pub opts: ActOptions,
}

/// `fleetdeck rollout ...`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum RolloutCommand {
    /// Restart every replica of a service, one at a time, each gated on health.
    Restart {
        service: String,
        #[command(flatten)]
        rollout: RolloutOptions,
    },
    /// Move every replica of a service to IMAGE, one at a time, each gated on health; the
    /// image must already be on the engine of every node the service runs on.
    Image {
        service: String,
        /// The new image (`repo:tag`).
        image: String,
        #[command(flatten)]
        rollout: RolloutOptions,
    },
}

impl RolloutCommand {
    fn options(&self) -> &RolloutOptions {
        match self {
            Self::Restart { rollout, .. } | Self::Image { rollout, .. } => rollout,
        }
    }
}

/// The action commands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum OpsCommand {
    /// Set a service's replica count.
    Scale {
        service: String,
        replicas: usize,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Move a container to another node (best-fit without --to), make-before-break.
    Migrate {
        #[command(flatten)]
        target: ContainerTarget,
        /// Target node.
        #[arg(long, value_name = "NODE")]
        to: Option<String>,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Back up a container, or every container of --node; prints the backup ids.
    Backup {
        /// Container name, id or id prefix (or --node for all of a node's).
        container: Option<String>,
        #[arg(long, value_name = "NODE")]
        node: Option<String>,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// List backups (of one node, or all).
    Backups {
        node: Option<String>,
        #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
    /// Restore a backup (on the node that holds it, or on another: the archive is copied).
    Restore {
        backup_id: String,
        /// Node to restore on (default: the node holding the backup). Another node gets
        /// the archive streamed from the holder and checks its SHA-256 on arrival.
        #[arg(long, value_name = "NODE")]
        to: Option<String>,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Re-create a FAILED node's containers on healthy nodes (STANDBY first).
    Failover {
        node: String,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Cordon a node and migrate everything off it.
    Drain {
        node: String,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// MAINTENANCE: no new placements.
    Cordon {
        node: String,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Take placements again.
    Uncordon {
        node: String,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Start a container.
    Start {
        #[command(flatten)]
        target: ContainerTarget,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Stop a container.
    Stop {
        #[command(flatten)]
        target: ContainerTarget,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Restart a container.
    Restart {
        #[command(flatten)]
        target: ContainerTarget,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Rolling restart or image update of a service: replica by replica, make-before-break
    /// where placement allows, each new replica healthy before the next (a container
    /// without a health check counts as healthy after 3 s running); one that is not rolls
    /// back the replicas already replaced.
    Rollout {
        #[command(subcommand)]
        how: RolloutCommand,
    },
    /// List the actions the agents hold (every console's: running, interrupted, ended), or
    /// resume or abort an interrupted one.
    Actions {
        #[command(subcommand)]
        verb: Option<ActionsVerb>,
        #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
        output: OutputFormat,
    },
}

/// `fleetdeck actions resume|abort`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum ActionsVerb {
    /// Plan an interrupted action again from what runs now and carry it on under its id.
    Resume {
        /// The action's id (or a unique prefix), as `fleetdeck actions` lists it.
        id: String,
        #[command(flatten)]
        opts: ActOptions,
    },
    /// Roll an interrupted action back: each agent removes its uncommitted copies.
    Abort {
        /// The action's id (or a unique prefix).
        id: String,
        #[command(flatten)]
        opts: ActOptions,
    },
}

impl OpsCommand {
    pub(super) fn opts(&self) -> ActOptions {
        match self {
            Self::Scale { opts, .. }
            | Self::Migrate { opts, .. }
            | Self::Backup { opts, .. }
            | Self::Restore { opts, .. }
            | Self::Failover { opts, .. }
            | Self::Drain { opts, .. }
            | Self::Cordon { opts, .. }
            | Self::Uncordon { opts, .. }
            | Self::Start { opts, .. }
            | Self::Stop { opts, .. }
            | Self::Restart { opts, .. } => opts.clone(),
            Self::Rollout { how } => how.options().opts.clone(),
            Self::Actions {
                verb: Some(ActionsVerb::Resume { opts, .. } | ActionsVerb::Abort { opts, .. }),
                ..
            } => opts.clone(),
            Self::Backups { output, .. } | Self::Actions { output, .. } => ActOptions {
                yes: false,
                dry_run: false,
                output: *output,
            },
        }
    }
}
