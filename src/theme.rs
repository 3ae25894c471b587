//! Colours by meaning. Widgets ask `theme.status(NodeState::Failed)`, never for a raw colour.

use ratatui::style::{Color, Modifier, Style};

use crate::alerts::Severity;
use crate::model::{CheckStatus, ContainerState, HealthState, NodeState};

/// Percent at or above which a gauge is shown as a warning.
pub const WARN_PERCENT: f32 = 80.0;
/// Percent at or above which a gauge is shown as critical.
pub const CRIT_PERCENT: f32 = 95.0;

/// The colours the console draws with.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub dim: Style,
    pub title: Style,
    pub title_focused: Style,
    pub border: Style,
    pub border_focused: Style,
    pub header: Style,
    pub table_header: Style,
    pub selected: Style,
    /// Selected row of a pane that does not have the keyboard.
    pub selected_inactive: Style,
    pub ok: Style,
    pub warn: Style,
    pub crit: Style,
    pub info: Style,
    pub stale: Style,
    pub key_hint: Style,
    pub sparkline: Style,
    /// Heatmap cells from idle to hot, one style per shading step.
    pub heat: [Style; HEAT_LEVELS],
    /// The banner a wall screen shows when its data is stale.
    pub stale_banner: Style,
    /// Colours chosen for 16-colour terminals where the nearest colour would be wrong
    /// (two meanings on one colour, a selection on the background).
    pub ansi16: Vec<Ansi16Choice>,
}

/// A theme's own colour for one style in 16-colour terminals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ansi16Choice {
    /// One of [`STYLE_NAMES`].
    pub slot: &'static str,
    pub fg: Option<Color>,
    pub bg: Option<Color>,
}

/// Names of the theme's styles (as in theme files), in `styles_mut` order.
pub const STYLE_NAMES: [&str; 18] = [
    "text",
    "dim",
    "title",
    "title_focused",
    "border",
    "border_focused",
    "header",
    "table_header",
    "selected",
    "selected_inactive",
    "ok",
    "warn",
    "crit",
    "info",
    "stale",
    "key_hint",
    "sparkline",
    "stale_banner",
];

/// Steps of the heatmap scale (and of its shading characters).
pub const HEAT_LEVELS: usize = 5;

impl Default for Theme {
    fn default() -> Self {
        Self::dark()
    }
}

impl Theme {
    /// The default dark theme.
    pub fn dark() -> Self {
        Self {
            name: "dark".into(),
            text: Style::new().fg(Color::Gray),
            dim: Style::new().fg(Color::DarkGray),
            title: Style::new().fg(Color::Gray).add_modifier(Modifier::BOLD),
            title_focused: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            border: Style::new().fg(Color::DarkGray),
            border_focused: Style::new().fg(Color::Cyan),
            header: Style::new().fg(Color::White).add_modifier(Modifier::BOLD),
            table_header: Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            selected: Style::new()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(Modifier::BOLD),
            selected_inactive: Style::new().bg(Color::Indexed(237)),
            ok: Style::new().fg(Color::Green),
            warn: Style::new().fg(Color::Yellow),
            crit: Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            info: Style::new().fg(Color::Cyan),
            stale: Style::new()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::ITALIC),
            key_hint: Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            sparkline: Style::new().fg(Color::Cyan),
            heat: [
                Style::new().fg(Color::DarkGray),
                Style::new().fg(Color::Green),
                Style::new().fg(Color::Yellow),
                Style::new().fg(Color::LightRed),
                Style::new().fg(Color::Red),
            ],
            stale_banner: Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
            // Palette 237 is nearest to black: the inactive selection would vanish.
            ansi16: vec![Ansi16Choice {
                slot: "selected_inactive",
                fg: None,
                bg: Some(Color::DarkGray),
            }],
        }
    }

    /// Step of the heat scale for a figure in percent (0 idle .. `HEAT_LEVELS - 1` hot).
    pub fn heat_level(percent: f32) -> usize {
        let step = 100.0 / HEAT_LEVELS as f32;
        ((percent.max(0.0) / step) as usize).min(HEAT_LEVELS - 1)
    }

    /// Style of a heatmap cell at this step of the scale.
    pub fn heat(&self, level: usize) -> Style {
        self.heat[level.min(HEAT_LEVELS - 1)]
    }

    /// This theme with every colour removed (NO_COLOR): bold, dim, italic and reverse stay,
    /// and the selection is shown reversed so it is still visible.
    pub fn monochrome(mut self) -> Self {
        for style in self.styles_mut() {
            style.fg = None;
            style.bg = None;
        }
        self.selected = self
            .selected
            .add_modifier(Modifier::REVERSED | Modifier::BOLD);
        self.selected_inactive = self.selected_inactive.add_modifier(Modifier::REVERSED);
        self.stale_banner = self.stale_banner.add_modifier(Modifier::REVERSED);
        self
    }

    /// This theme with its colours mapped to what a terminal of `depth` can show.
    pub fn for_depth(mut self, depth: crate::colour::ColourDepth) -> Self {
        for style in self.styles_mut() {
            style.fg = style.fg.map(|c| depth.map(c));
            style.bg = style.bg.map(|c| depth.map(c));
        }
        if depth == crate::colour::ColourDepth::Ansi16 {
            for choice in std::mem::take(&mut self.ansi16) {
                if let Some(style) = self.style_mut(choice.slot) {
                    style.fg = choice.fg.or(style.fg);
                    style.bg = choice.bg.or(style.bg);
                }
            }
        }
        self
    }

    /// The style named `name` (one of [`STYLE_NAMES`]).
    pub fn style_mut(&mut self, name: &str) -> Option<&mut Style> {
        STYLE_NAMES
            .iter()
            .zip(self.styles_mut())
            .find(|(n, _)| **n == name)
            .map(|(_, s)| s)
    }

    /// Every style of the theme, for whole-theme transformations.
    pub fn styles_mut(&mut self) -> impl Iterator<Item = &mut Style> {
        [
            &mut self.text,
            &mut self.dim,
            &mut self.title,
            &mut self.title_focused,
            &mut self.border,
            &mut self.border_focused,
            &mut self.header,
            &mut self.table_header,
            &mut self.selected,
            &mut self.selected_inactive,
            &mut self.ok,
            &mut self.warn,
            &mut self.crit,
            &mut self.info,
            &mut self.stale,
            &mut self.key_hint,
            &mut self.sparkline,
            &mut self.stale_banner,
        ]
        .into_iter()
        .chain(self.heat.iter_mut())
    }

    /// Style of a node state.
    pub fn status(&self, state: NodeState) -> Style {
        match state {
            NodeState::Active => self.ok,
            NodeState::Standby => self.info,
            NodeState::Maintenance => self.warn,
            NodeState::Failed => self.crit,
            NodeState::Unknown => self.stale.add_modifier(Modifier::BOLD),
        }
    }

    /// Style of an alert severity.
    pub fn severity(&self, severity: Severity) -> Style {
        match severity {
            Severity::Critical => self.crit,
            Severity::Warning => self.warn,
            Severity::Info => self.info,
        }
    }

    /// Style of the wall's banner for the worst firing alert: the severity's colour as the
    /// background, so the band is seen from across a room (and without colour, reversed).
    pub fn alert_banner(&self, severity: Severity) -> Style {
        self.severity(severity)
            .add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    /// Style of a container state.
    pub fn container_state(&self, state: ContainerState) -> Style {
        match state {
            ContainerState::Running => self.ok,
            ContainerState::Created | ContainerState::Paused => self.info,
            ContainerState::Restarting => self.warn,
            ContainerState::Exited | ContainerState::Dead => self.crit,
            ContainerState::Unknown => self.dim,
        }
    }

    /// Style of a container health status.
    pub fn health(&self, health: HealthState) -> Style {
        match health {
            HealthState::Healthy => self.ok,
            HealthState::Starting => self.info,
            HealthState::Unhealthy => self.crit,
            HealthState::None => self.dim,
        }
    }

    /// Style of one of the agent's own checks.
    pub fn check(&self, status: CheckStatus) -> Style {
        match status {
            CheckStatus::Ok => self.ok,
            CheckStatus::Warning => self.warn,
            CheckStatus::Failing => self.crit,
            CheckStatus::Unknown => self.dim,
        }
    }

    /// Style of a usage figure: normal, warning at 80 %, critical at 95 %.
    pub fn usage(&self, percent: f32) -> Style {
        if percent >= CRIT_PERCENT {
            self.crit
        } else if percent >= WARN_PERCENT {
            self.warn
        } else {
            self.text
        }
    }

    /// Style of a figure: by usage when live, dimmed as stale when its node is unreachable.
    pub fn figure(&self, percent: f32, live: bool) -> Style {
        if live {
            self.usage(percent)
        } else {
            self.stale
        }
    }

    /// Style of plain text that may be stale.
    pub fn plain(&self, live: bool) -> Style {
        if live { self.text } else { self.stale }
    }

    /// Style of the selected row, brighter in the pane that has the keyboard.
    pub fn selection(&self, focused: bool) -> Style {
        if focused {
            self.selected
        } else {
            self.selected_inactive
        }
    }

    /// Style of the console's link to an agent.
    pub fn link(&self, live: bool) -> Style {
        if live { self.ok } else { self.crit }
    }

    /// Style of an agent's last-seen age: stale, and alarming once the node counts as failed.
    pub fn age(&self, state: NodeState) -> Style {
        match state {
            NodeState::Failed => self.crit,
            _ => self.stale,
        }
    }

    /// Style of a label in a key/value list.
    pub fn label(&self) -> Style {
        self.dim
    }

    /// Style of a typed filter or the prompt it is typed in.
    pub fn filter(&self) -> Style {
        self.warn.add_modifier(Modifier::BOLD)
    }

    /// Style of a count that needs attention when non-zero (unhealthy, restarting, failed).
    pub fn alarm(&self, count: usize, severe: bool) -> Style {
        match (count, severe) {
            (0, _) => self.dim,
            (_, true) => self.crit,
            (_, false) => self.warn,
        }
    }

    /// Style of a log line: stderr stands out from stdout.
    pub fn log_line(&self, stderr: bool) -> Style {
        if stderr { self.warn } else { self.text }
    }

    /// Style of a search match in the log view; the current match is the strongest.
    pub fn search_match(&self, current: bool) -> Style {
        if current {
            self.crit.add_modifier(Modifier::REVERSED | Modifier::BOLD)
        } else {
            self.warn.add_modifier(Modifier::REVERSED)
        }
    }

    /// Style of a node marker saying its container runtime is unreachable.
    pub fn runtime_down(&self) -> Style {
        self.crit.add_modifier(Modifier::BOLD)
    }

    /// Style of a pane title.
    pub fn title(&self, focused: bool) -> Style {
        if focused {
            self.title_focused
        } else {
            self.title
        }
    }

    /// Style of a pane border.
    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.border_focused
        } else {
            self.border
        }
    }
}
