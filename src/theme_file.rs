//! Theme files: TOML patches over the default theme, built in (`themes/*.toml`, embedded so
//! a fresh install has them) or in `<config dir>/fleetdeck/themes/NAME.toml`, or at a path.
//!
//! Every setting is optional; a style patch changes only what it names:
//! `warn = { fg = "yellow", bold = true }`, `heat = ["dark-gray", "green", ...]`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::{Deserialize, Deserializer};

use crate::colour::ColourDepth;
use crate::theme::{Ansi16Choice, HEAT_LEVELS, STYLE_NAMES, Theme};
use crate::toml_error;

/// The themes shipped with fleetdeck: name and file text.
pub const BUILT_IN: [(&str, &str); 4] = [
    ("dark", include_str!("../themes/dark.toml")),
    ("light", include_str!("../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.toml"),
    ),
    ("colour-blind", include_str!("../themes/colour-blind.toml")),
];

/// Other names users type for the built-in themes.
const ALIASES: [(&str, &str); 3] = [
    ("default", "dark"),
    ("color-blind", "colour-blind"),
    ("colorblind", "colour-blind"),
];

/// Why a theme could not be loaded; one line each: what, where, what to do.
#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    /// No built-in or user theme has this name.
    #[error(
        "unknown theme `{name}`; built-in themes: {}; or put {name}.toml in {dir}, or give a path to a .toml file",
        BUILT_IN.map(|(n, _)| n).join(", "),
    )]
    Unknown { name: String, dir: String },
    /// The file could not be read.
    #[error("cannot read theme file {}: {source}; check the path and its permissions", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not valid TOML or a setting is wrong.
    #[error("theme file {}{}{}: {message}; fix or remove that setting",
        path.display(),
        line.map(|l| format!(", line {l}")).unwrap_or_default(),
        key.as_ref().map(|k| format!(" (`{k}`)")).unwrap_or_default(),
    )]
    Parse {
        path: PathBuf,
        line: Option<usize>,
        key: Option<String>,
        message: String,
    },
}

/// Changes to one style; absent fields keep the default's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StylePatch {
    fg: Option<Colour>,
    bg: Option<Colour>,
    bold: Option<bool>,
    dim: Option<bool>,
    italic: Option<bool>,
    underline: Option<bool>,
    reversed: Option<bool>,
}

impl StylePatch {
    fn apply(&self, mut style: Style) -> Style {
        if let Some(Colour(c)) = self.fg {
            style.fg = Some(c);
        }
        if let Some(Colour(c)) = self.bg {
            style.bg = Some(c);
        }
        for (flag, modifier) in [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underline, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
        ] {
            style = match flag {
                Some(true) => style.add_modifier(modifier),
                Some(false) => style.remove_modifier(modifier),
                None => style,
            };
        }
        style
    }
}

/// A colour as written in a theme: a name, `#rrggbb`, or a palette index 0-255.
#[derive(Debug, Clone, Copy)]
struct Colour(Color);

impl<'de> Deserialize<'de> for Colour {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Index(u8),
        }
        let raw = Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom("a colour is a name, \"#rrggbb\" or a number 0-255")
        })?;
        match raw {
            Raw::Index(i) => Ok(Self(Color::Indexed(i))),
            Raw::Text(text) => parse_colour(&text).map(Self).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{text}` is not a colour; use a name (red, light-blue, dark-gray, reset), \"#rrggbb\" or 0-255"
                ))
            }),
        }
    }
}

fn parse_colour(text: &str) -> Option<Color> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix('#') {
        // ratatui also takes short forms; a theme should be exact.
        if hex.len() != 6 {
            return None;
        }
    }
    Color::from_str(t).ok()
}

/// The theme file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemePatch {
    name: Option<String>,
    text: Option<StylePatch>,
    dim: Option<StylePatch>,
    title: Option<StylePatch>,
    title_focused: Option<StylePatch>,
    border: Option<StylePatch>,
    border_focused: Option<StylePatch>,
    header: Option<StylePatch>,
    table_header: Option<StylePatch>,
    selected: Option<StylePatch>,
    selected_inactive: Option<StylePatch>,
    ok: Option<StylePatch>,
    warn: Option<StylePatch>,
    crit: Option<StylePatch>,
    info: Option<StylePatch>,
    stale: Option<StylePatch>,
    key_hint: Option<StylePatch>,
    sparkline: Option<StylePatch>,
    stale_banner: Option<StylePatch>,
    heat: Option<Vec<Colour>>,
    /// Colours for 16-colour terminals, by style name, where the nearest would be wrong.
    ansi16: Option<BTreeMap<String, Ansi16Patch>>,
}

/// A style's colours in 16-colour terminals.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ansi16Patch {
    fg: Option<Colour>,
    bg: Option<Colour>,
}

macro_rules! patch_fields {
    ($patch:expr, $theme:expr, $($field:ident),*) => {
        $(if let Some(p) = &$patch.$field {
            $theme.$field = p.apply($theme.$field);
            // A 16-colour choice belongs to the colour it stood in for.
            if p.fg.is_some() || p.bg.is_some() {
                $theme.ansi16.retain(|c| c.slot != stringify!($field));
            }
        })*
    };
}

impl ThemePatch {
    fn apply(&self, mut theme: Theme) -> Theme {
        patch_fields!(
            self,
            theme,
            text,
            dim,
            title,
            title_focused,
            border,
            border_focused,
            header,
            table_header,
            selected,
            selected_inactive,
            ok,
            warn,
            crit,
            info,
            stale,
            key_hint,
            sparkline,
            stale_banner
        );
        if let Some(heat) = &self.heat {
            for (style, Colour(c)) in theme.heat.iter_mut().zip(heat) {
                style.fg = Some(*c);
            }
        }
        for (name, p) in self.ansi16.iter().flatten() {
            let Some(slot) = STYLE_NAMES.iter().find(|n| **n == name.as_str()) else {
                continue; // refused by `parse`
            };
            theme.ansi16.retain(|c| c.slot != *slot);
            theme.ansi16.push(Ansi16Choice {
                slot,
                fg: p.fg.map(|Colour(c)| c),
                bg: p.bg.map(|Colour(c)| c),
            });
        }
        if let Some(name) = &self.name {
            theme.name = name.clone();
        }
        theme
    }
}

/// Parses theme text (read from `path`, for messages) as a patch over the default theme.
pub fn parse(text: &str, path: &Path) -> Result<Theme, ThemeError> {
    let error = |span: Option<std::ops::Range<usize>>, message: String| {
        let (line, key) = span.map_or((None, None), |s| {
            let (line, key) = toml_error::locate(text, s.start);
            (Some(line), key)
        });
        ThemeError::Parse {
            path: path.to_path_buf(),
            line,
            key,
            message,
        }
    };
    let patch: ThemePatch = toml::from_str(text).map_err(|e| {
        let message = e.message().lines().next().unwrap_or("invalid TOML").trim();
        error(e.span(), message.to_string())
    })?;
    if let Some(heat) = &patch.heat {
        if heat.len() != HEAT_LEVELS {
            let at = text.find("heat");
            let message = format!(
                "has {} colours; give exactly {HEAT_LEVELS}, idle to hot",
                heat.len()
            );
            return Err(error(at.map(|a| a..a), message));
        }
    }
    if let Some(unknown) = patch
        .ansi16
        .iter()
        .flatten()
        .map(|(name, _)| name)
        .find(|name| !STYLE_NAMES.contains(&name.as_str()))
    {
        let at = text.find(unknown.as_str());
        let message = format!(
            "`{unknown}` in [ansi16] is not a style; styles: {}",
            STYLE_NAMES.join(", ")
        );
        return Err(error(at.map(|a| a..a), message));
    }
    let mut theme = patch.apply(Theme::dark());
    if patch.name.is_none() {
        theme.name = path
            .file_stem()
            .map_or_else(|| "custom".into(), |s| s.to_string_lossy().into_owned());
    }
    Ok(theme)
}

/// Where user themes live: `<config dir>/fleetdeck/themes`.
pub fn user_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "fleetdeck").map(|d| d.config_dir().join("themes"))
}

/// Loads a theme by name (a user theme in `user_dir` first, then a built-in one) or by
/// path (anything with a `/` or ending in `.toml`).
pub fn load(name_or_path: &str, user_dir: Option<&Path>) -> Result<Theme, ThemeError> {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|source| ThemeError::Read {
            path: path.to_path_buf(),
            source,
        })
    };
    if name_or_path.contains(std::path::MAIN_SEPARATOR) || name_or_path.ends_with(".toml") {
        let path = Path::new(name_or_path);
        return parse(&read(path)?, path);
    }
    if let Some(dir) = user_dir {
        let path = dir.join(format!("{name_or_path}.toml"));
        if path.is_file() {
            return parse(&read(&path)?, &path);
        }
    }
    let name = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name_or_path)
        .map_or(name_or_path, |(_, n)| n);
    match BUILT_IN.iter().find(|(n, _)| *n == name) {
        Some((n, text)) => parse(text, &built_in_path(n)),
        None => Err(ThemeError::Unknown {
            name: name_or_path.to_string(),
            dir: user_dir.map_or_else(
                || "<config dir>/fleetdeck/themes".into(),
                |d| d.display().to_string(),
            ),
        }),
    }
}

/// The theme to draw with in this terminal: `name` (or the default), without colours when
/// `NO_COLOR` is set to anything non-empty, else brought down to the terminal's depth.
pub fn for_terminal(name: Option<&str>) -> Result<Theme, ThemeError> {
    let theme = match name {
        Some(name) => load(name, user_dir().as_deref())?,
        None => Theme::dark(),
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Ok(adapt(theme, no_color, ColourDepth::from_env()))
}

/// `theme` for a terminal of `depth`, or without any colour.
pub fn adapt(theme: Theme, no_color: bool, depth: ColourDepth) -> Theme {
    if no_color {
        theme.monochrome()
    } else {
        theme.for_depth(depth)
    }
}

/// How a built-in theme is named in messages.
fn built_in_path(name: &str) -> PathBuf {
    PathBuf::from(format!("themes/{name}.toml (built in)"))
}

#[cfg(test)]
#[path = "theme_file_tests.rs"]
mod tests;
