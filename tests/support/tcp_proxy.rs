//! A loopback TCP proxy in front of an agent that a test can pause: paused, it holds
//! every byte in both directions (connections stay open), so an action talking through
//! it stands still mid-step until the test resumes it.
#![allow(dead_code, clippy::unwrap_used)]

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A pausable proxy listening on a free loopback port.
pub struct TcpProxy {
    pub addr: String,
    paused: watch::Sender<bool>,
    task: JoinHandle<()>,
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut paused: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if paused.wait_for(|p| !*p).await.is_err() {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

impl TcpProxy {
    /// Forwards every connection to `target` (`host:port`).
    pub async fn start(target: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (paused, rx) = watch::channel(false);
        let target = target.to_string();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let Ok(upstream) = TcpStream::connect(&target).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (ur, uw) = upstream.into_split();
                conns.spawn(pipe(cr, uw, rx.clone()));
                conns.spawn(pipe(ur, cw, rx.clone()));
            }
        });
        Self { addr, paused, task }
    }

    /// Holds every byte from now on.
    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    /// Lets the held bytes through.
    pub fn resume(&self) {
        self.paused.send_replace(false);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        // The accept task owns the connections' tasks: aborting it drops them all.
        self.task.abort();
    }
}
