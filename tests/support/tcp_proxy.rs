//! A loopback TCP proxy in front of an agent that a test can pause or cut:
//! - paused, it holds every byte in both directions (connections stay open), so an action
//!   talking through it stands still mid-step until the test resumes it; or it holds only
//!   what goes to the target, so a call already answered is not held with the rest;
//! - cut, every connection is dropped and new ones are refused until it is restored, an
//!   outage between the console and one agent without stopping the agent.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, watch};
use tokio::task::{JoinHandle, JoinSet};

/// A proxy listening on a free loopback port.
pub struct TcpProxy {
    /// `host:port` to connect to instead of the target.
    pub addr: String,
    paused: watch::Sender<bool>,
    /// Holds what goes to the target only.
    held_up: watch::Sender<bool>,
    open: Arc<Mutex<bool>>,
    conns: Arc<Mutex<JoinSet<()>>>,
    accept: JoinHandle<()>,
}

/// Copies `from` to `to`, holding the bytes while either switch of `paused` is on.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut paused: [watch::Receiver<bool>; 2],
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        for switch in &mut paused {
            if switch.wait_for(|p| !*p).await.is_err() {
                return;
            }
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
        let (held_up, up_rx) = watch::channel(false);
        let open = Arc::new(Mutex::new(true));
        let conns: Arc<Mutex<JoinSet<()>>> = Arc::default();
        let target = target.to_string();
        let (o, c) = (Arc::clone(&open), Arc::clone(&conns));
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if !*o.lock().await {
                    continue; // cut: refused
                }
                let Ok(upstream) = TcpStream::connect(&target).await else {
                    continue;
                };
                let (cr, cw) = client.into_split();
                let (ur, uw) = upstream.into_split();
                let mut set = c.lock().await;
                set.spawn(pipe(cr, uw, [rx.clone(), up_rx.clone()]));
                set.spawn(pipe(ur, cw, [rx.clone(), rx.clone()]));
            }
        });
        Self {
            addr,
            paused,
            held_up,
            open,
            conns,
            accept,
        }
    }

    /// Forwards every connection to `target`.
    pub async fn to(target: SocketAddr) -> Self {
        Self::start(&target.to_string()).await
    }

    /// Holds every byte from now on.
    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    /// Holds every byte going to the target from now on; answers still come back.
    pub fn pause_requests(&self) {
        self.held_up.send_replace(true);
    }

    /// Lets the held bytes through.
    pub fn resume(&self) {
        self.paused.send_replace(false);
        self.held_up.send_replace(false);
    }

    /// Drops every connection and refuses new ones.
    pub async fn cut(&self) {
        *self.open.lock().await = false;
        self.conns.lock().await.abort_all();
    }

    /// Accepts connections again.
    pub async fn restore(&self) {
        *self.open.lock().await = true;
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
        if let Ok(mut set) = self.conns.try_lock() {
            set.abort_all();
        }
    }
}
