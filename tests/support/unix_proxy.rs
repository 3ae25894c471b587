//! A Unix-socket proxy in front of a real socket (the Docker Engine's), which a test can
//! stop and start again: stopped, its socket is gone and every forwarded connection is
//! cut, as if the engine had gone away.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use tokio::net::{UnixListener, UnixStream};
use tokio::task::{JoinHandle, JoinSet};

/// A proxy listening on `path` and forwarding to `target`.
pub struct UnixProxy {
    path: PathBuf,
    target: PathBuf,
    task: Option<JoinHandle<()>>,
}

impl UnixProxy {
    /// Listens on `path` (which must not exist) and forwards each connection to `target`.
    pub fn start(path: &Path, target: &Path) -> Self {
        let mut proxy = Self {
            path: path.to_owned(),
            target: target.to_owned(),
            task: None,
        };
        proxy.resume();
        proxy
    }

    /// `unix://PATH`, for DOCKER_HOST or the agent's engine address.
    pub fn url(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    /// Cuts every connection and removes the socket.
    pub fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            // The accept task owns the connections' tasks: aborting it drops them all.
            task.abort();
        }
        let _ = std::fs::remove_file(&self.path);
    }

    /// Listens again after [`UnixProxy::stop`].
    pub fn resume(&mut self) {
        let listener = UnixListener::bind(&self.path)
            .unwrap_or_else(|e| panic!("cannot listen on {}: {e}", self.path.display()));
        let target = self.target.clone();
        self.task = Some(tokio::spawn(async move {
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { return };
                        let target = target.clone();
                        connections.spawn(async move {
                            if let Ok(mut outbound) = UnixStream::connect(&target).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                                    .await;
                            }
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        }));
    }
}

impl Drop for UnixProxy {
    fn drop(&mut self) {
        self.stop();
    }
}
