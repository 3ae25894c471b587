//! etcd's v3 API through its JSON gateway (`/v3/kv/txn`, `/v3/lease/grant`, ...), over
//! the HTTP client the console already has for Alertmanager. The gateway is part of every
//! etcd since 3.3, so no protobuf compiler is needed to build the console. Keys and values
//! travel base64-encoded, 64-bit numbers as strings.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// Longest a single request to etcd may take before the next endpoint is tried.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a call to etcd did not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EtcdError {
    /// No endpoint answered.
    #[error("cannot reach etcd at {endpoints} ({reason})")]
    Unreachable { endpoints: String, reason: String },
    /// etcd answered with an error.
    #[error("{}", refused(.0))]
    Refused(String),
    /// etcd's answer could not be read.
    #[error("etcd sent an answer fleetdeck cannot read: {0}")]
    Garbled(String),
}

/// The line for an error etcd answered with (a refused login says so itself).
fn refused(m: &str) -> String {
    if m.starts_with("etcd refused") {
        m.to_owned()
    } else {
        format!("etcd refused the request: {m}")
    }
}

/// One key as etcd holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kv {
    pub key: String,
    pub value: Vec<u8>,
    pub lease: i64,
}

/// One comparison of a transaction: the key does not exist (`create_revision == 0`); with
/// `range_end`, no key in `[key, range_end)` exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absent {
    pub key: String,
    pub range_end: Option<String>,
}

/// A handle on an etcd cluster; cheap to clone.
#[derive(Clone)]
pub struct Etcd {
    client: reqwest::Client,
    endpoints: Arc<Vec<reqwest::Url>>,
    /// The endpoint that answered last; tried first.
    current: Arc<AtomicUsize>,
    credentials: Option<Arc<(String, String)>>,
    token: Arc<Mutex<Option<String>>>,
    prefix: String,
}

/// The first key after every key starting with `prefix`.
pub fn prefix_end(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0xff {
            bytes.push(last + 1);
            return String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    "\0".into()
}

/// Shows where it connects, never the password or token.
impl std::fmt::Debug for Etcd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Etcd")
            .field("endpoints", &self.endpoint_list())
            .field("user", &self.credentials.as_ref().map(|c| c.0.as_str()))
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Handles compare by where they connect, as whom, and under which prefix.
impl PartialEq for Etcd {
    fn eq(&self, other: &Self) -> bool {
        self.endpoints == other.endpoints
            && self.prefix == other.prefix
            && self.credentials.as_ref().map(|c| &c.0) == other.credentials.as_ref().map(|c| &c.0)
    }
}

fn b64(s: &str) -> String {
    B64.encode(s.as_bytes())
}

/// A 64-bit number as the gateway writes it (a string) or as JSON would (a number).
fn int(v: &Value) -> i64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0),
        Value::Number(n) => n.as_i64().unwrap_or(0),
        _ => 0,
    }
}

fn kvs(v: &Value) -> Result<Vec<Kv>, EtcdError> {
    let Some(list) = v.get("kvs").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    list.iter()
        .map(|kv| {
            let field = |name: &str| -> Result<Vec<u8>, EtcdError> {
                match kv.get(name).and_then(Value::as_str) {
                    Some(s) => B64
                        .decode(s)
                        .map_err(|e| EtcdError::Garbled(format!("{name} is not base64: {e}"))),
                    None => Ok(Vec::new()),
                }
            };
            Ok(Kv {
                key: String::from_utf8_lossy(&field("key")?).into_owned(),
                value: field("value")?,
                lease: kv.get("lease").map(int).unwrap_or(0),
            })
        })
        .collect()
}

impl Etcd {
    /// A handle on the cluster at `endpoints`, with `client` carrying TLS, logging in as
    /// `credentials` (user, password) when given; keys live under `prefix`.
    pub fn new(
        client: reqwest::Client,
        endpoints: Vec<reqwest::Url>,
        credentials: Option<(String, String)>,
        prefix: &str,
    ) -> Self {
        Self {
            client,
            endpoints: Arc::new(endpoints),
            current: Arc::new(AtomicUsize::new(0)),
            credentials: credentials.map(Arc::new),
            token: Arc::new(Mutex::new(None)),
            prefix: prefix.to_string(),
        }
    }

    /// The endpoints, in the order they are tried.
    pub fn endpoints(&self) -> &[reqwest::Url] {
        &self.endpoints
    }

    /// The prefix every key lives under.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether a user and password are configured.
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    fn endpoint_list(&self) -> String {
        self.endpoints
            .iter()
            .map(|u| u.as_str().trim_end_matches('/'))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// POSTs `body` to `path` on the first endpoint that answers, authenticating first
    /// when credentials are configured.
    async fn call(&self, path: &str, body: &Value, timeout: Duration) -> Result<Value, EtcdError> {
        let mut token = self.token.lock().await.clone();
        if token.is_none() && self.credentials.is_some() {
            token = Some(self.authenticate(timeout).await?);
        }
        match self.post(path, body, token.as_deref(), timeout).await {
            // gRPC status 16, Unauthenticated: the token expired; log in again once.
            Err(EtcdError::Refused(m)) if m.starts_with("[16]") && self.credentials.is_some() => {
                let fresh = self.authenticate(timeout).await?;
                self.post(path, body, Some(&fresh), timeout).await
            }
            other => other,
        }
    }

    async fn authenticate(&self, timeout: Duration) -> Result<String, EtcdError> {
        let Some(creds) = &self.credentials else {
            return Err(EtcdError::Refused("no credentials configured".into()));
        };
        let body = json!({ "name": creds.0, "password": creds.1 });
        let answer = match self
            .post("v3/auth/authenticate", &body, None, timeout)
            .await
        {
            Err(EtcdError::Refused(m)) => {
                return Err(EtcdError::Refused(format!(
                    "etcd refused the login of user `{}` ({m})",
                    creds.0
                )));
            }
            other => other?,
        };
        let token = answer
            .get("token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| EtcdError::Garbled("authenticate returned no token".into()))?
            .to_string();
        *self.token.lock().await = Some(token.clone());
        Ok(token)
    }

    async fn post(
        &self,
        path: &str,
        body: &Value,
        token: Option<&str>,
        timeout: Duration,
    ) -> Result<Value, EtcdError> {
        let n = self.endpoints.len();
        let first = self.current.load(Ordering::Relaxed);
        let mut reason = String::from("no endpoint configured");
        for k in 0..n {
            let i = (first + k) % n;
            let Ok(url) = self.endpoints[i].join(path) else {
                continue;
            };
            let mut req = self.client.post(url).json(body).timeout(timeout);
            if let Some(t) = token {
                req = req.header(reqwest::header::AUTHORIZATION, t);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    reason = crate::notify::deliver::describe(e);
                    continue;
                }
            };
            let status = resp.status();
            let text = match resp.text().await {
                Ok(t) => t,
                Err(e) => {
                    reason = crate::notify::deliver::describe(e);
                    continue;
                }
            };
            self.current.store(i, Ordering::Relaxed);
            let value: Value = serde_json::from_str(&text).map_err(|_| {
                EtcdError::Garbled(format!(
                    "HTTP {status} from {path}: {}",
                    text.chars().take(120).collect::<String>()
                ))
            })?;
            // A streaming call (keepalive) wraps its message in `result` or `error`.
            let error = value.get("error").filter(|e| !e.is_null()).cloned();
            if let Some(e) = error {
                let message = e
                    .get("message")
                    .and_then(Value::as_str)
                    .or_else(|| e.as_str())
                    .unwrap_or("unknown error")
                    .to_string();
                let code = value
                    .get("code")
                    .or_else(|| e.get("grpc_code"))
                    .map(int)
                    .unwrap_or(0);
                return Err(EtcdError::Refused(format!("[{code}] {message}")));
            }
            if !status.is_success() {
                return Err(EtcdError::Refused(format!("HTTP {status} from {path}")));
            }
            return Ok(value.get("result").cloned().unwrap_or(value));
        }
        Err(EtcdError::Unreachable {
            endpoints: self.endpoint_list(),
            reason,
        })
    }

    /// A lease of `ttl`; returns its id.
    pub async fn grant(&self, ttl: Duration) -> Result<i64, EtcdError> {
        let body = json!({ "TTL": ttl.as_secs().max(1) });
        let v = self.call("v3/lease/grant", &body, REQUEST_TIMEOUT).await?;
        match v.get("ID").map(int) {
            Some(id) if id != 0 => Ok(id),
            _ => Err(EtcdError::Garbled(
                v.get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("lease grant returned no id")
                    .to_string(),
            )),
        }
    }

    /// Renews lease `id`; returns its TTL now (0: the lease is gone).
    pub async fn keepalive(&self, id: i64, timeout: Duration) -> Result<i64, EtcdError> {
        let body = json!({ "ID": id.to_string() });
        let v = self.call("v3/lease/keepalive", &body, timeout).await?;
        Ok(v.get("TTL").map(int).unwrap_or(0))
    }

    /// Ends lease `id`, deleting every key bound to it.
    pub async fn revoke(&self, id: i64) -> Result<(), EtcdError> {
        let body = json!({ "ID": id.to_string() });
        match self
            .call("v3/kv/lease/revoke", &body, REQUEST_TIMEOUT)
            .await
        {
            Err(EtcdError::Refused(m)) if m.contains("not found") => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Every key starting with `prefix`.
    pub async fn range_prefix(&self, prefix: &str) -> Result<Vec<Kv>, EtcdError> {
        let body = json!({ "key": b64(prefix), "range_end": b64(&prefix_end(prefix)) });
        let v = self.call("v3/kv/range", &body, REQUEST_TIMEOUT).await?;
        kvs(&v)
    }

    /// Writes `value` at `key`, bound to `lease` unless it is 0.
    pub async fn put(&self, key: &str, value: &[u8], lease: i64) -> Result<(), EtcdError> {
        let mut body = json!({ "key": b64(key), "value": B64.encode(value) });
        if lease != 0 {
            body["lease"] = json!(lease.to_string());
        }
        self.call("v3/kv/put", &body, REQUEST_TIMEOUT).await?;
        Ok(())
    }

    /// Deletes every key starting with `prefix`.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), EtcdError> {
        let body = json!({ "key": b64(prefix), "range_end": b64(&prefix_end(prefix)) });
        self.call("v3/kv/deleterange", &body, REQUEST_TIMEOUT)
            .await?;
        Ok(())
    }

    /// One transaction: if every key of `absent` is absent, writes every `(key, value)` of
    /// `puts` bound to `lease`. True when it wrote them, false when a key was there.
    pub async fn put_if_absent(
        &self,
        absent: &[Absent],
        puts: &[(String, Vec<u8>)],
        lease: i64,
    ) -> Result<bool, EtcdError> {
        let compare: Vec<Value> = absent
            .iter()
            .map(|a| {
                let mut c = json!({
                    "key": b64(&a.key),
                    "target": "CREATE",
                    "result": "EQUAL",
                    "create_revision": "0",
                });
                if let Some(end) = &a.range_end {
                    c["range_end"] = json!(b64(end));
                }
                c
            })
            .collect();
        let success: Vec<Value> = puts
            .iter()
            .map(|(k, v)| {
                json!({ "request_put": {
                    "key": b64(k),
                    "value": B64.encode(v),
                    "lease": lease.to_string(),
                }})
            })
            .collect();
        let body = json!({ "compare": compare, "success": success });
        let v = self.call("v3/kv/txn", &body, REQUEST_TIMEOUT).await?;
        Ok(v.get("succeeded").and_then(Value::as_bool).unwrap_or(false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_after_its_last_key() {
        assert_eq!(prefix_end("/fleetdeck/"), "/fleetdeck0");
        assert_eq!(prefix_end("a"), "b");
    }

    #[test]
    fn gateway_numbers_are_read_as_strings_or_numbers() {
        assert_eq!(int(&json!("7587")), 7587);
        assert_eq!(int(&json!(12)), 12);
        assert_eq!(int(&Value::Null), 0);
        let v = json!({"kvs": [{"key": b64("/k"), "value": b64("v"), "lease": "42"}]});
        let got = kvs(&v).unwrap();
        assert_eq!(got[0].key, "/k");
        assert_eq!(got[0].value, b"v");
        assert_eq!(got[0].lease, 42);
        assert!(kvs(&json!({"kvs": [{"key": "%%%"}]})).is_err());
    }
}
