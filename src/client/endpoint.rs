//! Agent addresses (`host:port`) and the transport settings used to reach them.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use tonic::transport::Endpoint;

/// Time allowed to open a TCP connection to an agent.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// HTTP/2 ping interval: a vanished peer is noticed in seconds, not hours.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
/// Time a ping may go unanswered before the connection is dropped.
pub const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes an agent may send on one stream before the console reads them. hyper's default
/// (2 MiB per stream, 5 MiB per connection) lets each of a thousand agents park megabytes
/// in the console whenever its UI falls behind for a moment, and the freed buffers stay in
/// the heap; an agent's messages are a few KiB to a few hundred KiB (history), which a
/// 128 KiB window still carries at once over loopback and in a few round trips elsewhere.
pub const STREAM_WINDOW_BYTES: u32 = 128 * 1024;
/// Bytes an agent may send on all streams of its connection before the console reads them.
pub const CONNECTION_WINDOW_BYTES: u32 = 256 * 1024;

/// An agent address as configured: `host:port`, host a name, an IPv4 or a bracketed IPv6.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgentAddr {
    host: String,
    port: u16,
}

/// An agent address that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid agent address `{input}`: {problem}; expected HOST:PORT, e.g. 127.0.0.1:7000")]
pub struct AddrError {
    /// What was given.
    pub input: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

impl AgentAddr {
    /// Host part (brackets kept for IPv6).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Port part.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The tonic endpoint for this agent with the console's transport settings.
    pub fn endpoint(&self, connect_timeout: Duration) -> Result<Endpoint, AddrError> {
        self.endpoint_with(connect_timeout, None)
    }

    /// [`AgentAddr::endpoint`], over TLS when `tls` is given.
    pub fn endpoint_with(
        &self,
        connect_timeout: Duration,
        tls: Option<tonic::transport::ClientTlsConfig>,
    ) -> Result<Endpoint, AddrError> {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let uri = format!("{scheme}://{self}");
        let endpoint = Endpoint::from_shared(uri).map_err(|_| AddrError {
            input: self.to_string(),
            problem: "not a valid URI",
        })?;
        let endpoint = match tls {
            Some(tls) => endpoint.tls_config(tls).map_err(|_| AddrError {
                input: self.to_string(),
                problem: "the TLS settings (ca, client_cert, client_key) are not usable",
            })?,
            None => endpoint,
        };
        Ok(endpoint
            .connect_timeout(connect_timeout)
            .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .keep_alive_while_idle(true)
            .initial_stream_window_size(STREAM_WINDOW_BYTES)
            .initial_connection_window_size(CONNECTION_WINDOW_BYTES)
            .tcp_nodelay(true))
    }
}

impl fmt::Display for AgentAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

impl FromStr for AgentAddr {
    type Err = AddrError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |problem| AddrError {
            input: input.to_string(),
            problem,
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(err("it is empty"));
        }
        if s.contains("://") {
            return Err(err("leave out the scheme"));
        }
        if s.contains('/') || s.chars().any(char::is_whitespace) {
            return Err(err("it contains a path or spaces"));
        }
        let (host, port) = s
            .rsplit_once(':')
            .ok_or_else(|| err("the port is missing"))?;
        if host.is_empty() {
            return Err(err("the host is missing"));
        }
        let bracketed = host.starts_with('[') && host.ends_with(']') && host.len() > 2;
        if host.contains(':') && !bracketed {
            return Err(err("put an IPv6 host in brackets, e.g. [::1]:7000"));
        }
        if host.contains(['[', ']']) && !bracketed {
            return Err(err("unbalanced brackets"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| err("the port is not a number from 1 to 65535"))?;
        if port == 0 {
            return Err(err("the port is not a number from 1 to 65535"));
        }
        Ok(Self {
            host: host.to_string(),
            port,
        })
    }
}

/// Parses each address, failing on the first bad one.
pub fn parse_all<S: AsRef<str>>(inputs: &[S]) -> Result<Vec<AgentAddr>, AddrError> {
    inputs.iter().map(|s| s.as_ref().parse()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_addresses_parse() {
        for (s, host, port) in [
            ("127.0.0.1:7000", "127.0.0.1", 7000),
            (" node-1.example:65535 ", "node-1.example", 65535),
            ("[::1]:7001", "[::1]", 7001),
        ] {
            let a: AgentAddr = s.parse().unwrap();
            assert_eq!((a.host(), a.port()), (host, port));
            assert_eq!(a.to_string(), s.trim());
            assert!(a.endpoint(CONNECT_TIMEOUT).is_ok());
        }
    }

    #[test]
    fn bad_addresses_say_what_is_wrong() {
        for (s, problem) in [
            ("", "empty"),
            ("localhost", "port is missing"),
            (":7000", "host is missing"),
            ("host:port", "not a number"),
            ("host:0", "not a number"),
            ("host:70000", "not a number"),
            ("http://host:1", "scheme"),
            ("::1:7000", "brackets"),
            ("host:1/x", "path"),
        ] {
            let e = s.parse::<AgentAddr>().unwrap_err();
            assert!(e.problem.contains(problem), "{s}: {e}");
            let text = e.to_string();
            assert!(!text.contains('\n') && text.contains("HOST:PORT"), "{text}");
        }
    }

    #[test]
    fn parse_all_stops_at_the_first_bad_one() {
        assert_eq!(parse_all(&["a:1", "b:2"]).unwrap().len(), 2);
        assert_eq!(parse_all(&["a:1", "b"]).unwrap_err().input, "b");
    }
}
