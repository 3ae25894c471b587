//! What `fleetdeck-agent` does instead of serving: tokens and certificates.

use clap::Subcommand;

use crate::AgentError;
use crate::cli::Cli;
use crate::pki::cli::PkiCommand;
use crate::token_cli::TokenCommand;

/// `fleetdeck-agent <command>`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum AgentCommand {
    /// Manage the tokens callers present (stored as SHA-256 hashes).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Make the fleet's CA and its agents' and consoles' certificates (mutual TLS).
    #[command(subcommand)]
    Pki(PkiCommand),
}

/// Runs `command`; the token commands read the agent's flags for the tokens file.
pub fn run(command: &AgentCommand, cli: &Cli) -> Result<(), AgentError> {
    match command {
        AgentCommand::Token(token) => {
            let template = cli.config()?;
            crate::token_cli::run(token, &template.resolved_tokens_file())
        }
        AgentCommand::Pki(pki) => Ok(crate::pki::cli::run(pki)?),
    }
}
