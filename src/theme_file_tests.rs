use ratatui::style::{Color, Modifier};

use super::*;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn one_line(e: &ThemeError) -> String {
    let text = e.to_string();
    assert!(!text.contains('\n'), "not one line: {text}");
    text
}

#[test]
fn the_dark_file_is_the_default_theme() {
    assert_eq!(load("dark", None).unwrap(), Theme::dark());
    assert_eq!(load("default", None).unwrap(), Theme::dark());
}

#[test]
fn every_built_in_theme_loads_and_differs() {
    let themes: Vec<Theme> = BUILT_IN
        .iter()
        .map(|(name, _)| load(name, None).unwrap())
        .collect();
    for (theme, (name, _)) in themes.iter().zip(BUILT_IN) {
        assert_eq!(theme.name, name);
    }
    for (i, a) in themes.iter().enumerate() {
        for b in &themes[i + 1..] {
            assert_ne!(a, b, "{} and {} are the same", a.name, b.name);
        }
    }
}

#[test]
fn the_colour_blind_theme_never_pairs_green_with_red() {
    let t = load("color-blind", None).unwrap();
    let reddish_or_green = |c: Option<Color>| {
        matches!(
            c,
            Some(Color::Red | Color::Green | Color::LightRed | Color::LightGreen)
        )
    };
    for style in [t.ok, t.warn, t.crit] {
        assert!(!reddish_or_green(style.fg), "{style:?}");
    }
    for style in &t.heat {
        assert!(!reddish_or_green(style.fg), "{style:?}");
    }
    assert_eq!(t.ok.fg, Some(Color::Rgb(0x56, 0xb4, 0xe9)), "good is blue");
    assert_eq!(
        t.crit.fg,
        Some(Color::Rgb(0xe6, 0x9f, 0x00)),
        "bad is orange"
    );
}

#[test]
fn a_patch_changes_only_what_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "mine.toml",
        "warn = { fg = \"magenta\" }\ncrit = { bold = false }\n",
    );
    let t = load(path.to_str().unwrap(), None).unwrap();
    let d = Theme::dark();
    assert_eq!(t.name, "mine");
    assert_eq!(t.warn.fg, Some(Color::Magenta));
    assert_eq!(t.crit.fg, d.crit.fg);
    assert!(!t.crit.add_modifier.contains(Modifier::BOLD));
    assert_eq!(t.text, d.text);
    assert_eq!(t.heat, d.heat);
}

#[test]
fn user_themes_come_from_the_config_dir_before_built_ins() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ops.toml", "name = \"ops\"\nok = { fg = 33 }\n");
    write(dir.path(), "light.toml", "text = { fg = \"#123456\" }\n");
    let t = load("ops", Some(dir.path())).unwrap();
    assert_eq!(
        (t.name.as_str(), t.ok.fg),
        ("ops", Some(Color::Indexed(33)))
    );
    let t = load("light", Some(dir.path())).unwrap();
    assert_eq!(
        t.text.fg,
        Some(Color::Rgb(0x12, 0x34, 0x56)),
        "user light wins"
    );
}

#[test]
fn unknown_names_list_what_exists() {
    let text = one_line(&load("solarized", Some(Path::new("/cfg/themes"))).unwrap_err());
    assert!(text.contains("unknown theme `solarized`"), "{text}");
    assert!(
        text.contains("dark, light, high-contrast, colour-blind"),
        "{text}"
    );
    assert!(text.contains("/cfg/themes"), "{text}");
    let text = one_line(&load("/nonexistent/x.toml", None).unwrap_err());
    assert!(
        text.contains("cannot read theme file /nonexistent/x.toml"),
        "{text}"
    );
}

#[test]
fn errors_name_the_file_the_line_and_the_key() {
    for (text, line, key, what) in [
        (
            "\nwarn = { fg = \"purpel\" }\n",
            2,
            "warn.fg",
            "`purpel` is not a colour",
        ),
        (
            "ok = { fg = \"green\" }\n[crit]\nbold = \"yes\"\n",
            3,
            "crit.bold",
            "invalid type",
        ),
        ("txet = { fg = \"red\" }\n", 1, "txet", "unknown field"),
        (
            "ok = { fg = \"red\", blink = true }\n",
            1,
            "ok.blink",
            "unknown field `blink`",
        ),
        ("heat = [\"red\"]\n", 1, "heat", "give exactly 5"),
        ("ok = { fg = \"#12345\" }\n", 1, "ok.fg", "not a colour"),
        ("ok = {\n", 1, "ok", ""),
    ] {
        let e = parse(text, Path::new("/t/bad.toml")).unwrap_err();
        let msg = one_line(&e);
        assert!(msg.starts_with("theme file /t/bad.toml"), "{msg}");
        assert!(msg.contains(&format!("line {line}")), "{text:?}: {msg}");
        assert!(msg.contains(&format!("(`{key}`)")), "{text:?}: {msg}");
        assert!(msg.contains(what), "{text:?}: {msg}");
    }
}

/// The hue a 16-colour terminal shows: a bright colour is the same hue as its base one
/// (light yellow next to yellow still reads as yellow).
fn hue(c: Color) -> Color {
    match c {
        Color::LightRed => Color::Red,
        Color::LightGreen => Color::Green,
        Color::LightYellow => Color::Yellow,
        Color::LightBlue => Color::Blue,
        Color::LightMagenta => Color::Magenta,
        Color::LightCyan => Color::Cyan,
        Color::DarkGray => Color::Black,
        Color::White => Color::Gray,
        c => c,
    }
}

#[test]
fn every_theme_keeps_its_meanings_apart_in_16_colours() {
    for (name, _) in BUILT_IN {
        let t = load(name, None).unwrap().for_depth(ColourDepth::Ansi16);
        // What the terminal's own background most likely is for this theme.
        let background = if name == "light" {
            Color::White
        } else {
            Color::Black
        };
        let colours = |s: ratatui::style::Style| (s.fg.map(hue), s.bg.map(hue));
        let meanings = [
            ("ok", t.ok),
            ("warn", t.warn),
            ("crit", t.crit),
            ("info", t.info),
        ];
        for (i, (a, sa)) in meanings.iter().enumerate() {
            for (b, sb) in &meanings[i + 1..] {
                assert_ne!(
                    colours(*sa),
                    colours(*sb),
                    "{name}: {a} and {b} look the same in 16 colours"
                );
            }
        }
        for (what, bg) in [
            ("selected", t.selected.bg),
            ("selected_inactive", t.selected_inactive.bg),
        ] {
            let bg = bg.unwrap_or(Color::Reset);
            assert!(
                bg != Color::Reset && bg != background,
                "{name}: the {what} row is invisible in 16 colours ({bg:?})"
            );
        }
        assert_ne!(
            t.selected.bg, t.selected_inactive.bg,
            "{name}: the active and inactive selections look the same in 16 colours"
        );
        // Nothing is left for 16 colours that was not applied.
        assert!(t.ansi16.is_empty());
    }
}

#[test]
fn a_user_theme_chooses_its_own_16_colours_and_unknown_styles_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "mine.toml",
        "warn = { fg = \"#ff8800\" }\n[ansi16]\nwarn = { fg = \"light-magenta\" }\n",
    );
    let t = load(path.to_str().unwrap(), None).unwrap();
    assert_eq!(
        t.clone().for_depth(ColourDepth::Ansi16).warn.fg,
        Some(Color::LightMagenta)
    );
    assert_eq!(
        t.for_depth(ColourDepth::TrueColour).warn.fg,
        Some(Color::Rgb(255, 136, 0))
    );
    // Changing a colour drops the default's 16-colour choice for it.
    let path = write(dir.path(), "sel.toml", "selected_inactive = { bg = 17 }\n");
    let t = load(path.to_str().unwrap(), None).unwrap();
    assert!(t.ansi16.is_empty());
    let path = write(
        dir.path(),
        "bad.toml",
        "[ansi16]\nwarning = { fg = \"red\" }\n",
    );
    let e = load(path.to_str().unwrap(), None).unwrap_err();
    let text = one_line(&e);
    assert!(
        text.contains("`warning` in [ansi16] is not a style"),
        "{text}"
    );
    assert!(text.contains("line 2"), "{text}");
}
