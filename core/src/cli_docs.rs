//! Shell completions and man pages, as both binaries print them (`completions SHELL`,
//! `man`): generated from the clap definition, so they never drift from the flags.

use std::io::{self, Write};

pub use clap_complete::Shell;

/// The completion script of `command` for `shell`.
pub fn completions(mut command: clap::Command, shell: Shell) -> Vec<u8> {
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, name, &mut script);
    script
}

/// The man page of `command` (section 1, roff), its subcommands listed in it.
pub fn man_page(command: clap::Command) -> io::Result<Vec<u8>> {
    let mut page = Vec::new();
    clap_mangen::Man::new(command).render(&mut page)?;
    Ok(page)
}

/// Writes `bytes` to stdout whole.
pub fn print(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> clap::Command {
        clap::Command::new("example")
            .about("An example")
            .arg(
                clap::Arg::new("verbose")
                    .long("verbose")
                    .action(clap::ArgAction::SetTrue),
            )
            .subcommand(clap::Command::new("run").about("Runs it"))
    }

    #[test]
    fn completions_name_the_program_and_its_flags() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::Elvish,
            Shell::PowerShell,
        ] {
            let script = String::from_utf8(completions(example(), shell)).unwrap();
            assert!(script.contains("example"), "{shell}: {script}");
            assert!(script.contains("verbose"), "{shell}: {script}");
        }
    }

    #[test]
    fn the_man_page_is_roff_with_the_subcommands() {
        let page = String::from_utf8(man_page(example()).unwrap()).unwrap();
        assert!(page.contains(".TH example 1"), "{page}");
        assert!(page.contains(".SH SUBCOMMANDS"), "{page}");
        assert!(page.contains("example\\-run(1)"), "{page}");
    }
}
