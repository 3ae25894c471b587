//! Container log lines as runtimes produce them, and the Logs stream that serves them in
//! batches.

use std::pin::Pin;
use std::time::Duration;

use fleetdeck_proto as pb;
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::cancel::Cancel;
use crate::runtime::RuntimeError;

/// Most lines in one LogChunk.
const CHUNK_LINES: usize = 512;
/// Longest a line waits for others to share its chunk.
const CHUNK_WAIT: Duration = Duration::from_millis(50);
/// Chunks queued per Logs call towards tonic; a full queue slows the source, never grows.
const CHUNK_BUFFER: usize = 4;
/// Longest line text sent; longer ones are cut (a runaway line must not make a huge message).
pub const MAX_LINE_BYTES: usize = 16 * 1024;
/// Most lines of history a client may ask for.
pub const MAX_TAIL_LINES: u32 = 100_000;

/// Which output a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSource {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// When the container wrote it, ms since the Unix epoch (0 = unknown).
    pub time_unix_ms: u64,
    /// stdout or stderr.
    pub source: LogSource,
    /// The text, without the line break.
    pub text: String,
}

/// What part of a container's log to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogQuery {
    /// Lines of history before following (0 = none).
    pub tail: u32,
    /// Keep the stream open for new lines.
    pub follow: bool,
    /// Only lines written at or after this time, ms since the Unix epoch (0 = any).
    pub since_unix_ms: u64,
}

/// A runtime's lines, in order.
pub type LineStream = Pin<Box<dyn Stream<Item = Result<LogLine, RuntimeError>> + Send>>;

/// What tonic streams back for Logs.
pub type LogsStream = ReceiverStream<Result<pb::LogChunk, Status>>;

/// Cuts `text` to at most `MAX_LINE_BYTES`, on a character boundary.
pub fn clamp_line(mut text: String) -> String {
    if text.len() > MAX_LINE_BYTES {
        let mut cut = MAX_LINE_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

fn to_wire(l: LogLine) -> pb::LogLine {
    pb::LogLine {
        time_unix_ms: l.time_unix_ms,
        stream: match l.source {
            LogSource::Stdout => pb::LogStream::Stdout,
            LogSource::Stderr => pb::LogStream::Stderr,
        } as i32,
        text: l.text,
    }
}

/// Serves `lines` as batched chunks until the source ends, the client goes or `cancel` fires.
pub fn serve(mut lines: LineStream, cancel: Cancel) -> LogsStream {
    let (tx, rx) = mpsc::channel(CHUNK_BUFFER);
    tokio::spawn(async move {
        loop {
            let mut chunk = pb::LogChunk::default();
            // Wait as long as it takes for the first line, then briefly for company.
            let first = tokio::select! {
                biased;
                () = cancel.cancelled() => return,
                () = tx.closed() => return,
                l = lines.next() => l,
            };
            match first {
                None => return,
                Some(Err(e)) => {
                    let _ = tx.send(Err(Status::unavailable(e.to_string()))).await;
                    return;
                }
                Some(Ok(l)) => chunk.lines.push(to_wire(l)),
            }
            let deadline = tokio::time::sleep(CHUNK_WAIT);
            tokio::pin!(deadline);
            let mut ended = false;
            while chunk.lines.len() < CHUNK_LINES {
                tokio::select! {
                    biased;
                    l = lines.next() => match l {
                        Some(Ok(l)) => chunk.lines.push(to_wire(l)),
                        Some(Err(e)) => {
                            let _ = tx.send(Ok(chunk)).await;
                            let _ = tx.send(Err(Status::unavailable(e.to_string()))).await;
                            return;
                        }
                        None => { ended = true; break; }
                    },
                    () = &mut deadline => break,
                }
            }
            let sent = tokio::select! {
                biased;
                () = cancel.cancelled() => return,
                r = tx.send(Ok(chunk)) => r.is_ok(),
            };
            if !sent || ended {
                return;
            }
        }
    });
    ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_on_char_boundaries() {
        let s = "é".repeat(MAX_LINE_BYTES);
        let cut = clamp_line(s);
        assert!(cut.len() <= MAX_LINE_BYTES);
        assert!(cut.chars().all(|c| c == 'é'));
        assert_eq!(clamp_line("short".into()), "short");
    }

    #[tokio::test]
    async fn lines_arrive_in_batches() {
        let lines: Vec<Result<LogLine, RuntimeError>> = (0..1200)
            .map(|i| {
                Ok(LogLine {
                    time_unix_ms: i,
                    source: LogSource::Stdout,
                    text: format!("line {i}"),
                })
            })
            .collect();
        let (_keep, cancel) = crate::cancel::channel();
        let mut out = serve(Box::pin(futures::stream::iter(lines)), cancel);
        let mut chunks = Vec::new();
        while let Some(c) = out.next().await {
            chunks.push(c.unwrap());
        }
        let total: usize = chunks.iter().map(|c| c.lines.len()).sum();
        assert_eq!(total, 1200);
        assert!(chunks.len() <= 3, "{} chunks", chunks.len());
        assert_eq!(chunks[2].lines.last().unwrap().text, "line 1199");
    }
}
