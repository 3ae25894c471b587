//! `fleetdeck config path|check|init`: find, validate and write the config file.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::cli::{Cli, ConfigAction, EXIT_OK, EXIT_USAGE};
use crate::config;
use crate::keys::KeyMap;
use crate::theme_file;

/// A commented config file with every default, written by `config init`.
pub const TEMPLATE: &str = include_str!("config_template.toml");

/// Runs a `config` subcommand; returns the exit status.
pub fn run(cli: &Cli, action: &ConfigAction) -> i32 {
    let path = cli.global.config.clone().or_else(config::default_path);
    let result = match action {
        ConfigAction::Path => path_of(path.as_deref()).map(|p| p.display().to_string()),
        ConfigAction::Check => check(cli, path.as_deref()),
        ConfigAction::Init { force } => path_of(path.as_deref())
            .and_then(|p| init(p, *force).map(|()| p.to_path_buf()))
            .map(|p| {
                format!(
                    "wrote {}; edit it, then run `fleetdeck config check`",
                    p.display()
                )
            }),
    };
    match result {
        Ok(line) => {
            println!("{line}");
            EXIT_OK
        }
        Err(line) => {
            eprintln!("fleetdeck: {line}");
            EXIT_USAGE
        }
    }
}

fn path_of(path: Option<&Path>) -> Result<&Path, String> {
    path.ok_or_else(|| {
        "no config directory on this system (no home directory?); give --config PATH".to_string()
    })
}

/// Validates everything the file sets, as the console would use it.
fn check(cli: &Cli, path: Option<&Path>) -> Result<String, String> {
    let settings = cli.settings().map_err(|e| e.to_string())?;
    KeyMap::with_overrides(&settings.keys).map_err(|e| {
        let file = settings
            .config_path
            .as_ref()
            .map_or_else(String::new, |p| format!("config file {}, ", p.display()));
        format!("{file}[keys]: {e}")
    })?;
    if let Some(name) = settings.theme.as_deref() {
        theme_file::load(name, theme_file::user_dir().as_deref()).map_err(|e| e.to_string())?;
    }
    Ok(match (&settings.config_path, path) {
        (Some(p), _) => format!("{}: OK", p.display()),
        (None, Some(p)) => format!("{}: no file, the defaults apply: OK", p.display()),
        (None, None) => "no config file, the defaults apply: OK".to_string(),
    })
}

/// Writes the commented default, refusing to overwrite unless `force`.
pub fn init(path: &Path, force: bool) -> Result<(), String> {
    if path.exists() && !force {
        return Err(format!(
            "{} already exists; leave it, or add --force to replace it with the default",
            path.display()
        ));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let tmp: PathBuf = path.with_extension("toml.tmp");
    // Write then rename, so a failure never leaves half a config file behind.
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(TEMPLATE.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", path.display())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn the_template_is_the_defaults() {
        let parsed = config::parse(TEMPLATE, Path::new("template")).unwrap();
        assert_eq!(parsed, Config::default());
    }
}
