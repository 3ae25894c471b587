//! The commands keys are bound to: their names in the config file, what help says they
//! do, and which are safe on a read-only console. Part of `keys`.

/// Something a key can ask the console to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Quit,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    FocusNext,
    FocusPrev,
    Open,
    Back,
    Filter,
    SortNext,
    SortReverse,
    ToggleScope,
    ToggleDetail,
    Help,
    Migrate,
    Scale,
    Backup,
    Restore,
    Failover,
    Drain,
    Cordon,
    Uncordon,
    Start,
    Stop,
    Restart,
    /// Roll the selected container's service out, replica by replica: to a new image, or
    /// restarted on its own (asks which).
    Rollout,
    History,
    /// Show the heatmap instead of the tables, or back.
    Heatmap,
    /// Fold every heatmap group, or open them all.
    FoldAll,
    /// Scroll the nodes x time heatmap back in time (24 hours, from the agents' history).
    ScrollOlder,
    /// Scroll the nodes x time heatmap towards now.
    ScrollNewer,
    /// Show or hide the console's own log.
    ToggleLog,
    /// Open or close the full alert view.
    Alerts,
    /// Acknowledge the selected alert (with an optional note).
    Acknowledge,
    /// Silence the selected alert for a while.
    Silence,
    /// Open the selected alert's recommended action.
    Propose,
    /// Export the incident timeline as Markdown.
    ExportTimeline,
    /// Open the command palette.
    Palette,
    /// Open the live log view of the selected container.
    Logs,
    /// Open a shell (or a typed command) in the selected container.
    Exec,
    // Keys of the dialog, prompt and log modes (see `Mode`); help and the palette list the
    // commands of `Command::ALL` only.
    /// Accept: run the plan, submit the prompt, keep the filter.
    Confirm,
    /// Close the dialog, prompt, filter or log view without doing anything.
    Cancel,
    /// Previous choice to the side (the restore dialog's target node).
    Left,
    /// Next choice to the side.
    Right,
    /// One more (replicas).
    More,
    /// One fewer (replicas).
    Less,
    /// Delete the last character typed.
    DeleteChar,
    /// Clear what was typed.
    ClearInput,
    /// Complete: the next choice, or write out the name to confirm.
    Complete,
    /// Log view: follow new lines, or pause.
    Follow,
    /// Log view: wrap long lines.
    Wrap,
    /// Log view: show times.
    Times,
    /// Log view: search.
    Search,
    /// Log view: next match (older).
    NextMatch,
    /// Log view: previous match (newer).
    PrevMatch,
    /// Exec pane: close the session and return to the console.
    Detach,
}

impl Command {
    /// Every command, in the order help lists them.
    pub const ALL: [Command; 43] = [
        Command::Up,
        Command::Down,
        Command::PageUp,
        Command::PageDown,
        Command::Top,
        Command::Bottom,
        Command::FocusNext,
        Command::FocusPrev,
        Command::Open,
        Command::Back,
        Command::Filter,
        Command::SortNext,
        Command::SortReverse,
        Command::ToggleScope,
        Command::ToggleDetail,
        Command::Heatmap,
        Command::FoldAll,
        Command::ScrollOlder,
        Command::ScrollNewer,
        Command::ToggleLog,
        Command::Logs,
        Command::Exec,
        Command::Alerts,
        Command::Acknowledge,
        Command::Silence,
        Command::Propose,
        Command::ExportTimeline,
        Command::Palette,
        Command::Help,
        Command::Quit,
        Command::Migrate,
        Command::Scale,
        Command::Backup,
        Command::Restore,
        Command::Failover,
        Command::Drain,
        Command::Cordon,
        Command::Uncordon,
        Command::Start,
        Command::Stop,
        Command::Restart,
        Command::Rollout,
        Command::History,
    ];

    /// The commands only the dialog, prompt and log modes bind.
    pub const MODE_ONLY: [Command; 16] = [
        Command::Confirm,
        Command::Cancel,
        Command::Left,
        Command::Right,
        Command::More,
        Command::Less,
        Command::DeleteChar,
        Command::ClearInput,
        Command::Complete,
        Command::Follow,
        Command::Wrap,
        Command::Times,
        Command::Search,
        Command::NextMatch,
        Command::PrevMatch,
        Command::Detach,
    ];

    /// True for commands that only change what is shown, never the fleet. A read-only
    /// console (the wall screen) runs these and nothing else, so a command added later is
    /// refused there until it is listed here. Acknowledging, silencing, proposing an action,
    /// exporting and the palette (which runs any command) are operator work, not viewing.
    pub fn is_view_only(self) -> bool {
        matches!(
            self,
            Self::Quit
                | Self::Up
                | Self::Down
                | Self::PageUp
                | Self::PageDown
                | Self::Top
                | Self::Bottom
                | Self::FocusNext
                | Self::FocusPrev
                | Self::Open
                | Self::Back
                | Self::Filter
                | Self::SortNext
                | Self::SortReverse
                | Self::ToggleScope
                | Self::ToggleDetail
                | Self::Help
                | Self::Heatmap
                | Self::FoldAll
                | Self::ScrollOlder
                | Self::ScrollNewer
                | Self::ToggleLog
                | Self::Alerts
        )
    }

    /// Name used in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Quit => "quit",
            Self::Up => "up",
            Self::Down => "down",
            Self::PageUp => "page_up",
            Self::PageDown => "page_down",
            Self::Top => "top",
            Self::Bottom => "bottom",
            Self::FocusNext => "focus_next",
            Self::FocusPrev => "focus_prev",
            Self::Open => "open",
            Self::Back => "back",
            Self::Filter => "filter",
            Self::SortNext => "sort_next",
            Self::SortReverse => "sort_reverse",
            Self::ToggleScope => "toggle_scope",
            Self::ToggleDetail => "toggle_detail",
            Self::Help => "help",
            Self::Migrate => "migrate",
            Self::Scale => "scale",
            Self::Backup => "backup",
            Self::Restore => "restore",
            Self::Failover => "failover",
            Self::Drain => "drain",
            Self::Cordon => "cordon",
            Self::Uncordon => "uncordon",
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::Rollout => "rollout",
            Self::History => "history",
            Self::Heatmap => "heatmap",
            Self::FoldAll => "fold_all",
            Self::ScrollOlder => "scroll_older",
            Self::ScrollNewer => "scroll_newer",
            Self::ToggleLog => "toggle_log",
            Self::Alerts => "alerts",
            Self::Acknowledge => "acknowledge",
            Self::Silence => "silence",
            Self::Propose => "propose",
            Self::ExportTimeline => "export_timeline",
            Self::Palette => "palette",
            Self::Logs => "logs",
            Self::Exec => "exec",
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
            Self::Left => "left",
            Self::Right => "right",
            Self::More => "more",
            Self::Less => "less",
            Self::DeleteChar => "delete_char",
            Self::ClearInput => "clear_input",
            Self::Complete => "complete",
            Self::Follow => "follow",
            Self::Wrap => "wrap",
            Self::Times => "times",
            Self::Search => "search",
            Self::NextMatch => "next_match",
            Self::PrevMatch => "prev_match",
            Self::Detach => "detach",
        }
    }

    /// What the command does, for the help view.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Quit => "quit",
            Self::Up => "move up",
            Self::Down => "move down",
            Self::PageUp => "page up",
            Self::PageDown => "page down",
            Self::Top => "go to the first row",
            Self::Bottom => "go to the last row",
            Self::FocusNext => "focus the next pane",
            Self::FocusPrev => "focus the previous pane",
            Self::Open => "open: a node's containers",
            Self::Back => "back: clear filter, close overlay",
            Self::Filter => "filter the focused table",
            Self::SortNext => "sort by the next column",
            Self::SortReverse => "reverse the sort order",
            Self::ToggleScope => "containers: selected node / whole fleet",
            Self::ToggleDetail => "show or hide the detail pane",
            Self::Help => "this help",
            Self::Migrate => "migrate",
            Self::Scale => "scale",
            Self::Backup => "backup",
            Self::Restore => "restore",
            Self::Failover => "failover",
            Self::Drain => "drain",
            Self::Cordon => "cordon",
            Self::Uncordon => "uncordon",
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Restart => "restart",
            Self::Rollout => "rollout",
            Self::History => "history",
            Self::Heatmap => "heatmap / tables (Tab: time or resources)",
            Self::FoldAll => "heatmap: fold or open all groups",
            Self::ScrollOlder => "heatmap: back in time (to 24 h)",
            Self::ScrollNewer => "heatmap: towards now",
            Self::ToggleLog => "show or hide the console's log",
            Self::Alerts => "alerts: full view (recommendations, timeline)",
            Self::Acknowledge => "acknowledge the selected alert (note optional)",
            Self::Silence => "silence the selected alert (15m, 1h, 4h, typed)",
            Self::Propose => "open the alert's recommended action",
            Self::ExportTimeline => "export the incident timeline (Markdown)",
            Self::Palette => "command palette: any command or view by name",
            Self::Logs => "live log of the selected container",
            Self::Exec => "shell in the selected container",
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
            Self::Left => "previous target",
            Self::Right => "next target",
            Self::More => "one more",
            Self::Less => "one fewer",
            Self::DeleteChar => "delete the last character",
            Self::ClearInput => "clear the input",
            Self::Complete => "next choice, or write the name out",
            Self::Follow => "follow new lines, or pause",
            Self::Wrap => "wrap long lines",
            Self::Times => "show times",
            Self::Search => "search",
            Self::NextMatch => "next match",
            Self::PrevMatch => "previous match",
            Self::Detach => "close the shell, back to the console",
        }
    }

    /// Actions on nodes and containers (help lists them on their own, compactly).
    pub fn is_action(self) -> bool {
        matches!(
            self,
            Self::Migrate
                | Self::Scale
                | Self::Backup
                | Self::Restore
                | Self::Failover
                | Self::Drain
                | Self::Cordon
                | Self::Uncordon
                | Self::Start
                | Self::Stop
                | Self::Restart
                | Self::Rollout
                | Self::History
        )
    }

    pub(super) fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .chain(Self::MODE_ONLY)
            .find(|c| c.name() == name)
    }
}
