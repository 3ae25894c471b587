//! A loopback TCP proxy that can be cut (every connection dropped, new ones refused) and
//! restored, to make an outage between the console and one agent without stopping it.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

pub struct TcpProxy {
    pub addr: SocketAddr,
    open: Arc<Mutex<bool>>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl TcpProxy {
    /// A proxy on a free loopback port forwarding to `target`.
    pub async fn to(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(Mutex::new(true));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (o, c) = (Arc::clone(&open), Arc::clone(&conns));
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !*o.lock().await {
                    continue; // dropped: refused
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                c.lock().await.push(task);
            }
        });
        Self {
            addr,
            open,
            conns,
            accept,
        }
    }

    /// Drops every connection and refuses new ones.
    pub async fn cut(&self) {
        *self.open.lock().await = false;
        for t in self.conns.lock().await.drain(..) {
            t.abort();
        }
    }

    /// Accepts connections again.
    pub async fn restore(&self) {
        *self.open.lock().await = true;
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
