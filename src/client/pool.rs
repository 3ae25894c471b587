//! One connection per agent, shared by every call a console makes to it: action steps,
//! spec refreshes, backup lists, fencing, volume and backup transfers. HTTP/2 multiplexes
//! the calls, so a migrate's twenty steps cost one handshake (one TLS handshake with TLS)
//! instead of twenty, and a 1,000-node spec refresh keeps 1,000 connections, not 2,000.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fleetdeck_proto::agent_client::AgentClient;
use tonic::transport::Channel;

use super::connection::{AgentConn, LinkError, connect_channel};
use super::credentials::Credentials;
use super::endpoint::AgentAddr;

/// The console's connections to its agents, with the credentials they use. Cheap to clone:
/// clones share the connections.
#[derive(Debug, Clone)]
pub struct Connections {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    credentials: Credentials,
    connect_timeout: Duration,
    channels: Mutex<HashMap<String, Channel>>,
    /// The generation of each watched agent's intents, as its Watch events last said.
    intents: Generations,
    /// The generation of each watched agent's specs, as its Watch events last said.
    specs: Generations,
}

/// A generation per agent address, as its Watch events last said.
#[derive(Debug, Default)]
struct Generations(Mutex<HashMap<String, u64>>);

impl Generations {
    fn note(&self, addr: &str, generation: u64) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(addr.to_owned(), generation);
    }

    fn get(&self, addr: &str) -> Option<u64> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(addr)
            .copied()
    }
}

impl Connections {
    /// No connection yet; each is opened on first use with `credentials`.
    pub fn new(credentials: Credentials, connect_timeout: Duration) -> Self {
        Self {
            inner: Arc::new(Inner {
                credentials,
                connect_timeout,
                channels: Mutex::default(),
                intents: Generations::default(),
                specs: Generations::default(),
            }),
        }
    }

    /// The credentials every connection uses.
    pub fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    /// A client on the one connection to `addr`, opened now if there is none. A connection
    /// that broke reconnects by itself on its next call (tonic's channel does), so it is
    /// kept.
    pub async fn client(&self, addr: &AgentAddr) -> Result<AgentConn, LinkError> {
        let key = addr.to_string();
        let cached = self.lock().get(&key).cloned();
        let channel = match cached {
            Some(c) => c,
            None => {
                let fresh =
                    connect_channel(addr, self.inner.connect_timeout, &self.inner.credentials)
                        .await?;
                // Two first calls may race: keep the first connection made, drop the other.
                self.lock().entry(key).or_insert(fresh).clone()
            }
        };
        Ok(AgentClient::with_interceptor(
            channel,
            self.inner.credentials.interceptor(),
        ))
    }

    /// Notes the generation of `addr`'s intents that its Watch stream carries.
    pub fn note_intents(&self, addr: &str, generation: u64) {
        self.inner.intents.note(addr, generation);
    }

    /// The generation of `addr`'s intents its Watch stream last said; `None` when it is
    /// not watched (or its agent does not say).
    pub fn intents_generation(&self, addr: &str) -> Option<u64> {
        self.inner.intents.get(addr)
    }

    /// Notes the generation of `addr`'s specs that its Watch stream carries.
    pub fn note_specs(&self, addr: &str, generation: u64) {
        self.inner.specs.note(addr, generation);
    }

    /// The generation of `addr`'s specs its Watch stream last said; `None` when it is not
    /// watched (or its agent does not say).
    pub fn specs_generation(&self, addr: &str) -> Option<u64> {
        self.inner.specs.get(addr)
    }

    /// Connections open now.
    pub fn open_count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Channel>> {
        self.inner
            .channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
