//! What a console sends a command running in a container (an exec session), the same on
//! both ends of the `Exec` rpc: the agent's runtimes read it, the console's sessions write it.

/// One message for a running command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecControl {
    /// Bytes for its stdin (the console sends long input in chunks).
    Stdin(Vec<u8>),
    /// The terminal's new size.
    Resize {
        /// Rows.
        rows: u16,
        /// Columns.
        cols: u16,
    },
    /// A signal by name without `SIG`: `INT`, `TERM`, `HUP`, `QUIT`, `KILL`, ...
    Signal(String),
    /// End of stdin.
    CloseStdin,
}
