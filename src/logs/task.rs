//! The log client task: one Logs stream from an agent into a bounded channel towards the UI.
//! It never waits for the UI: when the channel is full it drops the batch, counts its lines,
//! and sends one "N lines skipped" row as soon as there is room again.

use fleetdeck_proto as pb;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::{LogEvent, LogRow};
use crate::client::{AgentAddr, Connections};

/// Batches queued towards the UI; beyond this, lines are dropped and counted.
pub const LOG_CHANNEL_BATCHES: usize = 64;

/// What to read.
#[derive(Debug, Clone)]
pub struct LogTarget {
    /// The agent.
    pub addr: AgentAddr,
    /// Container id or name on that agent.
    pub container: String,
    /// Lines of history.
    pub tail: u32,
    /// The console's connections; the log stream shares the agent's one connection.
    pub conns: Connections,
}

fn rows(chunk: pb::LogChunk) -> Vec<LogRow> {
    chunk
        .lines
        .into_iter()
        .map(|l| LogRow::Line {
            time_unix_ms: l.time_unix_ms,
            stderr: l.stream == pb::LogStream::Stderr as i32,
            text: l.text,
        })
        .collect()
}

/// Sends `event` unless the channel is full; false once the UI is gone.
fn offer(tx: &mpsc::Sender<LogEvent>, event: LogEvent, skipped: &mut u64) -> bool {
    if *skipped > 0 {
        match tx.try_send(LogEvent::Rows(vec![LogRow::Skipped(*skipped)])) {
            Ok(()) => *skipped = 0,
            Err(TrySendError::Full(_)) => {}
            Err(TrySendError::Closed(_)) => return false,
        }
    }
    let lines = match &event {
        LogEvent::Rows(r) => r.len() as u64,
        LogEvent::Ended(_) => 0,
    };
    if *skipped > 0 {
        // Order matters: nothing newer goes ahead of the marker for what was lost.
        *skipped += lines;
        return true;
    }
    match tx.try_send(event) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            *skipped += lines;
            true
        }
        Err(TrySendError::Closed(_)) => false,
    }
}

/// Follows `target`'s log until the stream ends or the receiver is dropped; the last event
/// says why it ended.
pub async fn run(target: LogTarget, tx: mpsc::Sender<LogEvent>) {
    let why = follow(&target, &tx).await;
    // The end is worth waiting for: the view must say the stream stopped.
    let _ = tx.send(LogEvent::Ended(why)).await;
}

async fn follow(target: &LogTarget, tx: &mpsc::Sender<LogEvent>) -> String {
    let mut client = match target.conns.client(&target.addr).await {
        Ok(c) => c,
        Err(e) => return format!("cannot reach the agent: {e}"),
    };
    let req = pb::LogsRequest {
        container: target.container.clone(),
        tail: target.tail,
        follow: true,
        since_unix_ms: 0,
    };
    let mut stream = match client.logs(req).await {
        Ok(s) => s.into_inner(),
        Err(s) => return s.message().to_owned(),
    };
    let mut skipped = 0_u64;
    loop {
        match stream.message().await {
            Ok(Some(chunk)) => {
                if !offer(tx, LogEvent::Rows(rows(chunk)), &mut skipped) {
                    return "closed".into();
                }
            }
            Ok(None) => {
                if skipped > 0 {
                    let _ = tx
                        .send(LogEvent::Rows(vec![LogRow::Skipped(skipped)]))
                        .await;
                }
                return "log ended".into();
            }
            Err(s) => return format!("log stream lost: {}", s.message()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(n: usize) -> LogEvent {
        LogEvent::Rows(
            (0..n)
                .map(|i| LogRow::Line {
                    time_unix_ms: 0,
                    stderr: false,
                    text: format!("{i}"),
                })
                .collect(),
        )
    }

    #[test]
    fn full_channel_drops_and_marks() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut skipped = 0;
        assert!(offer(&tx, batch(3), &mut skipped));
        assert!(offer(&tx, batch(3), &mut skipped));
        assert!(offer(&tx, batch(4), &mut skipped));
        assert!(offer(&tx, batch(5), &mut skipped));
        assert_eq!(skipped, 9, "the UI did not read: two batches dropped");
        assert_eq!(rx.try_recv().unwrap(), batch(3));
        // Room again: the marker goes first, and the batch after it is counted too so
        // nothing newer overtakes the marker.
        assert!(offer(&tx, batch(2), &mut skipped));
        assert_eq!(skipped, 2);
        assert_eq!(rx.try_recv().unwrap(), batch(3));
        assert_eq!(
            rx.try_recv().unwrap(),
            LogEvent::Rows(vec![LogRow::Skipped(9)])
        );
        assert!(offer(&tx, batch(1), &mut skipped));
        assert_eq!(
            rx.try_recv().unwrap(),
            LogEvent::Rows(vec![LogRow::Skipped(2)])
        );
        assert_eq!(rx.try_recv().unwrap(), batch(1));
        drop(rx);
        assert!(!offer(&tx, batch(1), &mut skipped));
    }
}
