//! `fleetdeck-agent token create|list|revoke`: manage the tokens file.

use std::path::Path;

use clap::Subcommand;

use crate::AgentError;
use crate::server::auth::{Role, tokens};

/// `fleetdeck-agent token ...`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum TokenCommand {
    /// Make a token and print it once; only its hash is stored.
    Create {
        /// viewer (reads), operator (actions), admin (everything).
        #[arg(long, value_name = "ROLE")]
        role: Role,
        /// Who holds it; recorded in the audit log.
        #[arg(long, value_name = "NAME")]
        name: String,
    },
    /// Names, roles and dates of the stored tokens.
    List,
    /// Remove a token; a running agent refuses it from its next call.
    Revoke {
        /// The token's name.
        name: String,
    },
}

/// Runs `command` on the tokens file at `path`, printing to stdout.
pub fn run(command: &TokenCommand, path: &Path) -> Result<(), AgentError> {
    match command {
        TokenCommand::Create { role, name } => {
            let token = tokens::create(path, name, *role)?;
            println!("{token}");
            eprintln!(
                "created {role} token `{name}` in {}; it is shown only now: store it in the console's token_file or FLEETDECK_TOKEN",
                path.display()
            );
        }
        TokenCommand::List => {
            let all = tokens::list(path)?;
            if all.is_empty() {
                eprintln!("no tokens in {}", path.display());
            }
            println!("{:<24} {:<9} CREATED", "NAME", "ROLE");
            for t in all {
                println!("{:<24} {:<9} {}", t.name, t.role, t.created);
            }
        }
        TokenCommand::Revoke { name } => {
            let left = tokens::revoke(path, name)?;
            eprintln!(
                "revoked `{name}` in {}; its open streams are cut within seconds",
                path.display()
            );
            if left == 0 {
                eprintln!(
                    "that was the last token: an agent using this file now refuses every call \
                     until a token is created (`fleetdeck-agent token create`); to run without \
                     tokens, restart it with --no-tokens"
                );
            }
        }
    }
    Ok(())
}
