//! The console's own log (tracing events, also written to the log file in the state dir),
//! in a pane toggled by a key. The events come from tui-logger's buffer, which the tracing
//! layer installed by `logging::init_file_log` fills.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use tui_logger::{TuiLoggerLevelOutput, TuiLoggerWidget};

use super::glyphs;
use crate::app::App;
use crate::keys::Command;

/// Fewest rows the log pane takes.
pub const MIN_ROWS: u16 = 6;

/// Draws the log pane.
pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let key = super::format::key_text(&app.keymap.hint(Command::ToggleLog));
    let title = Line::from(vec![
        Span::styled(" Console log ", theme.title(false)),
        Span::styled(format!("{key} hides "), theme.label()),
    ]);
    let block = glyphs::of(app.ascii)
        .block()
        .border_style(theme.border(false))
        .title(title);
    let widget = TuiLoggerWidget::default()
        .block(block)
        .output_separator(' ')
        .output_timestamp(Some("%H:%M:%S".to_string()))
        .output_level(Some(TuiLoggerLevelOutput::Abbreviated))
        .output_target(false)
        .output_file(false)
        .output_line(false)
        .style(theme.text)
        .style_error(theme.crit)
        .style_warn(theme.warn)
        .style_info(theme.text)
        .style_debug(theme.dim)
        .style_trace(theme.dim);
    frame.render_widget(widget, area);
}
