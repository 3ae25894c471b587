//! `fleetdeck-agent pki init|issue`: a CA and the certificates of a fleet with mutual TLS,
//! each step saying what it wrote and what to run next.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use clap::{ArgGroup, Args, Subcommand};

use super::{CA_CERT, CA_DAYS, Ca, Holder, LEAF_DAYS, Name, PkiError, San, Validity, Written};

/// Port the printed agent command suggests (the agent's usual one).
const SUGGESTED_PORT: u16 = 7400;

/// `fleetdeck-agent pki ...`.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum PkiCommand {
    /// Make the fleet's CA: DIR/ca.pem (for every agent and console) and DIR/ca.key
    /// (owner-only; it signs every certificate, keep it off the nodes).
    Init {
        /// Folder for the CA and the certificates it issues (created owner-only).
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
        /// Days the CA is valid.
        #[arg(long, value_name = "N", default_value_t = CA_DAYS,
              value_parser = clap::value_parser!(u32).range(1..=36_500))]
        days: u32,
        /// Replace an existing CA (certificates it signed stop being trusted).
        #[arg(long)]
        force: bool,
    },
    /// Issue a certificate signed by the CA in DIR: a server certificate for an agent, or a
    /// client certificate for a console. Writes DIR/NAME.pem and DIR/NAME.key.
    Issue(IssueArgs),
}

/// `fleetdeck-agent pki issue`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[command(group(ArgGroup::new("holder").required(true).args(["agent", "console"])))]
pub struct IssueArgs {
    /// The folder `pki init` made.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// An agent's certificate (serverAuth) for the addresses in --san.
    #[arg(long, value_name = "NAME", requires = "sans")]
    pub agent: Option<Name>,
    /// A console's client certificate (clientAuth); NAME becomes its identity on agents
    /// (`cert:CN=NAME`).
    #[arg(long, value_name = "NAME", conflicts_with = "sans")]
    pub console: Option<Name>,
    /// An IP address or DNS name consoles dial to reach the agent; repeat, or list several.
    #[arg(long = "san", value_name = "IP_OR_DNS", num_args = 1..)]
    pub sans: Vec<San>,
    /// Days the certificate is valid (never beyond the CA).
    #[arg(long, value_name = "N", default_value_t = LEAF_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub days: u32,
    /// Replace an existing certificate and key of that name.
    #[arg(long)]
    pub force: bool,
}

/// Runs `command`, printing what was written and the next command to stdout.
pub fn run(command: &PkiCommand) -> Result<(), PkiError> {
    match command {
        PkiCommand::Init { dir, days, force } => {
            let ca = super::init_ca(Validity::days_from_now(*days))?;
            let written = ca.save(dir, *force)?;
            let dir = absolute(dir);
            println!(
                "wrote {}  the CA certificate, valid until {}: every agent's --client-ca, \
                 every console's `ca`",
                written.cert.display(),
                day(ca.not_after())
            );
            println!(
                "wrote {}  the CA key (owner-only): it signs every certificate; keep it off \
                 the nodes",
                written.key.display()
            );
            println!(
                "next: fleetdeck-agent pki issue --dir {} --agent NAME --san ADDRESS",
                shell_word(&dir)
            );
        }
        PkiCommand::Issue(args) => issue(args)?,
    }
    Ok(())
}

fn issue(args: &IssueArgs) -> Result<(), PkiError> {
    let holder = match (&args.agent, &args.console) {
        (Some(name), _) => Holder::Agent {
            name: name.clone(),
            sans: args.sans.clone(),
        },
        (None, Some(name)) => Holder::Console { name: name.clone() },
        // clap's group makes one of them required; say so if that ever changes.
        (None, None) => {
            return Err(PkiError::Request(
                "say who the certificate is for: --agent NAME or --console NAME".into(),
            ));
        }
    };
    let ca = Ca::load(&args.dir)?;
    let requested = Validity::days_from_now(args.days);
    let issued = ca.issue(&holder, requested)?;
    let written = issued.save(&args.dir, holder.name().as_str(), args.force)?;
    let cut = if issued.not_after < requested.not_after {
        " (cut to the CA's own end)"
    } else {
        ""
    };
    let until = day(issued.not_after);
    match &holder {
        Holder::Agent { name, sans } => {
            let names: Vec<String> = sans.iter().map(San::to_string).collect();
            println!(
                "wrote {}  agent certificate CN={name} for {}, valid until {until}{cut}",
                written.cert.display(),
                names.join(", ")
            );
            println!("wrote {}  its key (owner-only)", written.key.display());
            println!("next: {}", agent_command(&args.dir, &written, sans));
        }
        Holder::Console { name } => {
            println!(
                "wrote {}  console certificate CN={name}, valid until {until}{cut}",
                written.cert.display()
            );
            println!("wrote {}  its key (owner-only)", written.key.display());
            println!(
                "next: in the console's config.toml: ca = {:?}, client_cert = {:?}, \
                 client_key = {:?}",
                absolute(&args.dir.join(CA_CERT)).display().to_string(),
                absolute(&written.cert).display().to_string(),
                absolute(&written.key).display().to_string()
            );
        }
    }
    Ok(())
}

/// The agent command line that serves with these files; its address is the first IP
/// SAN, else every interface.
fn agent_command(dir: &Path, written: &Written, sans: &[San]) -> String {
    let ip = sans
        .iter()
        .find_map(|s| match s {
            San::Ip(ip) => Some(*ip),
            San::Dns(_) => None,
        })
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    format!(
        "fleetdeck-agent --listen {} --tls-cert {} --tls-key {} --client-ca {}",
        std::net::SocketAddr::new(ip, SUGGESTED_PORT),
        shell_word(&absolute(&written.cert)),
        shell_word(&absolute(&written.key)),
        shell_word(&absolute(&dir.join(CA_CERT)))
    )
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// `path` as one shell word: quoted when it holds anything but plain characters.
fn shell_word(path: &Path) -> String {
    let s = path.display().to_string();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn day(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y-%m-%d")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_paths_are_one_shell_word() {
        assert_eq!(
            shell_word(Path::new("/etc/fleetdeck/pki")),
            "/etc/fleetdeck/pki"
        );
        assert_eq!(shell_word(Path::new("/tmp/my pki")), "'/tmp/my pki'");
        assert_eq!(shell_word(Path::new("/tmp/it's")), r"'/tmp/it'\''s'");
    }

    #[test]
    fn the_suggested_agent_listens_on_its_first_ip() {
        let written = Written {
            cert: "/p/n.pem".into(),
            key: "/p/n.key".into(),
        };
        let sans = [San::Dns("n.example".into()), San::Ip([10, 0, 0, 11].into())];
        let line = agent_command(Path::new("/p"), &written, &sans);
        assert_eq!(
            line,
            "fleetdeck-agent --listen 10.0.0.11:7400 --tls-cert /p/n.pem --tls-key /p/n.key \
             --client-ca /p/ca.pem"
        );
        let line = agent_command(Path::new("/p"), &written, &sans[..1]);
        assert!(line.contains("--listen 0.0.0.0:7400"), "{line}");
    }
}
