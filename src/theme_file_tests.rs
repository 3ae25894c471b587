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
