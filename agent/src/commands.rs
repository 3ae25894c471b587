//! What `fleetdeck-agent` does instead of serving: tokens, certificates, shell completions
//! and its man page.

use clap::{CommandFactory, Subcommand};
use fleetdeck_core::cli_docs::{self, Shell};

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
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// Runs `command`; the token commands read the agent's flags for the tokens file.
pub fn run(command: &AgentCommand, cli: &Cli) -> Result<(), AgentError> {
    match command {
        AgentCommand::Token(token) => {
            let template = cli.config()?;
            crate::token_cli::run(token, &template.resolved_tokens_file())
        }
        AgentCommand::Pki(pki) => Ok(crate::pki::cli::run(pki)?),
        AgentCommand::Completions { shell } => {
            let script = cli_docs::completions(Cli::command(), *shell);
            cli_docs::print(&script).map_err(AgentError::Output)
        }
        AgentCommand::Man => {
            let page = cli_docs::man_page(Cli::command()).map_err(AgentError::Output)?;
            cli_docs::print(&page).map_err(AgentError::Output)
        }
    }
}
