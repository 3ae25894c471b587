//! Who may call what: roles, the rules that map every rpc and action to the role it needs,
//! and how a caller is identified (bearer token, client certificate, or an open agent).
//!
//! # Adding an rpc or an action kind
//! Classify it in [`rpc_rule`] (rpcs) or [`ACTION_ROLES`] (actions, by the name
//! [`action_kind`] gives them). Anything not listed needs `admin`, so a new rpc or action is
//! safe before anyone classifies it.

pub mod layer;
pub mod tokens;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use fleetdeck_proto as pb;
use serde::{Deserialize, Serialize};

pub use layer::AuthLayer;
pub use tokens::{TOKENS_FILE, TokenStore};

/// Header carrying the token: `authorization: Bearer fdk_...`.
pub const AUTH_HEADER: &str = "authorization";

/// What a caller may do; each role includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Watch, GetInfo, Logs, History: reads only (a wall display); never Exec.
    Viewer,
    /// Reads and everyday actions (start, stop, restart, remove, cordon, ...).
    Operator,
    /// Everything, including restore, failover, drain and anything not classified.
    Admin,
}

impl Role {
    /// Lower-case name, as in the tokens file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Self::Viewer),
            "operator" => Ok(Self::Operator),
            "admin" => Ok(Self::Admin),
            _ => Err(format!(
                "unknown role `{}`; use viewer, operator or admin",
                s.escape_debug()
            )),
        }
    }
}

/// The authenticated caller of one request (put in the request's extensions by
/// [`AuthLayer`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// e.g. `token:wall`, `cert:CN=ops-1`, `token:ops cert:CN=ops-1`, `anonymous`.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// How it proved it.
    pub credential: Credential,
}

impl Identity {
    /// The caller of an agent that checks nothing (loopback, or `--insecure`).
    pub fn anonymous() -> Self {
        Self {
            name: "anonymous".into(),
            role: Role::Admin,
            credential: Credential::None,
        }
    }

    /// True for the caller of an open agent.
    pub fn is_anonymous(&self) -> bool {
        self.credential == Credential::None
    }
}

/// The role an rpc needs before its request is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RpcRule {
    /// This role or higher.
    Fixed(Role),
    /// Any authenticated caller may call; the handler checks the role each request needs
    /// once it has read it (Act: [`action_role`]).
    PerRequest,
}

/// gRPC path prefix of the agent service.
const SERVICE_PREFIX: &str = "/fleetdeck.v1.Agent/";

/// The rule for the rpc at `path` (`/fleetdeck.v1.Agent/Watch`). Unlisted rpcs need admin.
pub fn rpc_rule(path: &str) -> RpcRule {
    let method = path.strip_prefix(SERVICE_PREFIX).unwrap_or("");
    match method {
        // Every console, a read-only one too, sees who is doing what.
        "Watch" | "GetInfo" | "Logs" | "ListBackups" | "History" | "ListIntents" | "ListImages" => {
            RpcRule::Fixed(Role::Viewer)
        }
        // Claiming and renewing an action's lease is part of running it, like Act.
        "Intent" => RpcRule::Fixed(Role::Operator),
        // Specs carry environment variables (often secrets) and volumes carry data: what
        // migrate and scale need, not what a wall display may see.
        "ExportSpec" | "ListSpecs" | "ReadVolumes" | "WriteVolumes" => {
            RpcRule::Fixed(Role::Operator)
        }
        // A backup's archive is a container's data: reading it is what migrate's volume
        // copy does (operator); storing one sent by another node is the first half of a
        // restore, which is admin's.
        "ReadBackup" => RpcRule::Fixed(Role::Operator),
        // A shell in a container: never a wall display's. The agent may ask for admin
        // (`--exec-role admin`), checked by the handler.
        "Exec" => RpcRule::Fixed(Role::Operator),
        "WriteBackup" => RpcRule::Fixed(Role::Admin),
        "Act" => RpcRule::PerRequest,
        _ => RpcRule::Fixed(Role::Admin),
    }
}

/// Actions classified below admin, by [`action_kind`] name. Anything else needs admin.
pub const ACTION_ROLES: &[(&str, Role)] = &[
    ("container.start", Role::Operator),
    ("container.stop", Role::Operator),
    ("container.restart", Role::Operator),
    ("container.remove", Role::Operator),
    ("container.commit", Role::Operator),
    ("container.create", Role::Operator),
    ("container.backup", Role::Operator),
    // Fencing stale copies after a failover is what any operator console does first.
    ("note.fence", Role::Operator),
    // A rollout's start and end, recorded on every node it touches.
    ("note.rollout", Role::Operator),
    ("node.cordon", Role::Operator),
    ("node.uncordon", Role::Operator),
    ("node.set_standby", Role::Operator),
    ("node.set_active", Role::Operator),
];

/// A stable name for what `req` asks, e.g. `container.stop`; unknown verbs get names no
/// table lists (so they need admin, and are then refused as invalid).
pub fn action_kind(req: &pb::ActRequest) -> String {
    use pb::act_request::Action as A;
    match &req.action {
        None => "none".into(),
        Some(A::Container(c)) => {
            use pb::container_action::Verb;
            let verb = match Verb::try_from(c.verb) {
                Ok(Verb::Start) => "start",
                Ok(Verb::Stop) => "stop",
                Ok(Verb::Restart) => "restart",
                Ok(Verb::Remove) => "remove",
                Ok(Verb::Commit) => "commit",
                Ok(Verb::Unspecified) | Err(_) => "unknown",
            };
            format!("container.{verb}")
        }
        Some(A::Node(n)) => {
            use pb::node_action::Verb;
            let verb = match Verb::try_from(n.verb) {
                Ok(Verb::Cordon) => "cordon",
                Ok(Verb::Uncordon) => "uncordon",
                Ok(Verb::SetStandby) => "set_standby",
                Ok(Verb::SetActive) => "set_active",
                // A drain's first step: admin's (not in ACTION_ROLES).
                Ok(Verb::Drain) => "drain",
                Ok(Verb::Unspecified) | Err(_) => "unknown",
            };
            format!("node.{verb}")
        }
        // Drill faults on sim nodes: not classified, so admin's.
        Some(A::SimFault(_)) => "sim_fault".into(),
        // A copy that says it replaces a container of a failed node is a failover: admin's
        // (not in ACTION_ROLES).
        Some(A::Create(c)) if creates_failover_copy(c) => "container.create_failover".into(),
        Some(A::Create(_)) => "container.create".into(),
        Some(A::Backup(_)) => "container.backup".into(),
        // Restore and failover records are admin's: they are not in ACTION_ROLES.
        Some(A::Restore(_)) => "backup.restore".into(),
        Some(A::Note(n)) => match n.kind.as_str() {
            k if !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_') => {
                format!("note.{k}")
            }
            _ => "note.unknown".into(),
        },
    }
}

/// Labels only a failover puts on the copies it creates.
fn is_failover_label(key: &str) -> bool {
    key.trim() == crate::model::REPLACES_LABEL || key.trim() == crate::model::REPLACES_EPOCH_LABEL
}

/// Whether a create makes a failover copy: it adds the `replaces` labels, or its spec carries
/// them and it is not a migration's pending copy (moving an earlier failover copy).
fn creates_failover_copy(c: &pb::CreateAction) -> bool {
    let added = c.labels.keys().any(|k| is_failover_label(k));
    let carried = c
        .spec
        .as_ref()
        .is_some_and(|s| s.labels.keys().any(|k| is_failover_label(k)));
    let migrating = c.labels.contains_key(crate::model::PENDING_LABEL);
    added || (carried && !migrating)
}

/// The role the action in `req` needs: its entry in [`ACTION_ROLES`], else admin.
pub fn action_role(req: &pb::ActRequest) -> Role {
    let kind = action_kind(req);
    ACTION_ROLES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(Role::Admin, |(_, r)| *r)
}

/// How a caller proved who it is; what [`AuthPolicy::still_valid`] re-checks on a
/// long-lived stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// Nothing: an open agent (no tokens at start).
    None,
    /// A client certificate only (mutual TLS without tokens).
    Certificate,
    /// A bearer token, by its SHA-256 (so a token revoked and re-created under the same
    /// name does not keep the old one's streams).
    Token(String),
}

/// Callback run once when an open agent starts requiring tokens.
pub type OnRequired = Arc<dyn Fn() + Send + Sync>;

/// How a running agent decides who a caller is.
///
/// Whether tokens are required is decided at start ([`AuthPolicy::new`]) and only ever
/// tightens while the agent runs: an open agent starts requiring tokens on the first call
/// after the tokens file gains one, and an agent that requires tokens keeps requiring them
/// when the file is emptied or deleted (then nobody gets in). Going back to open takes a
/// restart with `--no-tokens`.
pub struct AuthPolicy {
    /// Tokens file of this agent.
    pub tokens: Option<Arc<TokenStore>>,
    /// Callers were checked by client certificate (mutual TLS); without tokens they are
    /// admins (the CA is the gate).
    pub client_certs: bool,
    required: AtomicBool,
    /// Set while a token-requiring agent has no token, so the error is logged once.
    starved: AtomicBool,
    on_required: Mutex<Option<OnRequired>>,
}

impl fmt::Debug for AuthPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthPolicy")
            .field("tokens", &self.tokens.as_ref().map(|t| t.path().to_owned()))
            .field("client_certs", &self.client_certs)
            .field("required", &self.tokens_required())
            .finish_non_exhaustive()
    }
}

impl AuthPolicy {
    /// Checks nothing: every caller is an anonymous admin.
    pub fn open() -> Self {
        Self::new(None, false, false)
    }

    /// A policy reading `tokens`; `required` = tokens were in force at start.
    pub fn new(tokens: Option<Arc<TokenStore>>, client_certs: bool, required: bool) -> Self {
        Self {
            tokens,
            client_certs,
            required: AtomicBool::new(required),
            starved: AtomicBool::new(false),
            on_required: Mutex::new(None),
        }
    }

    /// Runs `f` when an open agent starts requiring tokens (to update what it reports).
    pub fn on_required(&self, f: OnRequired) {
        *self
            .on_required
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(f);
    }

    /// True once every call must carry a token.
    pub fn tokens_required(&self) -> bool {
        self.required.load(Ordering::Acquire)
    }

    /// True when this agent checks no caller at all: every caller is an anonymous admin.
    pub fn is_open(&self) -> bool {
        !self.client_certs && !self.tokens_required()
    }

    /// Re-reads the tokens file and tightens the mode: tokens appearing on an open agent
    /// make them required from now on; a required set that went empty is logged once.
    fn refresh_mode(&self) {
        let Some(store) = &self.tokens else { return };
        let has_tokens = store.is_enabled();
        if has_tokens && !self.required.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                tokens = %store.path().display(),
                "the tokens file now holds tokens: every call must carry one from now on"
            );
            let hook = self
                .on_required
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            if let Some(hook) = hook {
                hook();
            }
        }
        if self.tokens_required() {
            let empty = !has_tokens;
            if empty && !self.starved.swap(true, Ordering::AcqRel) {
                tracing::error!(
                    tokens = %store.path().display(),
                    "this agent requires tokens but its tokens file holds none (revoked or deleted): \
                     every call is refused until one is created with `fleetdeck-agent token create`"
                );
            } else if !empty && self.starved.swap(false, Ordering::AcqRel) {
                tracing::info!("the tokens file holds tokens again");
            }
        }
    }

    /// Who is calling, from the `authorization` header value and the client certificate
    /// subject; the error is the message sent back (UNAUTHENTICATED).
    pub fn identify(&self, header: Option<&str>, cert: Option<&str>) -> Result<Identity, String> {
        self.refresh_mode();
        let cert_name = cert.map(|s| format!("cert:{s}"));
        let token = match header {
            None => None,
            Some(h) => Some(
                h.strip_prefix("Bearer ")
                    .map(str::trim)
                    .ok_or("the authorization header is not `Bearer TOKEN`")?,
            ),
        };
        match (token, &self.tokens) {
            (Some(t), Some(store)) => match store.check(t) {
                Some((name, role)) => {
                    let name = match cert_name {
                        Some(c) => format!("token:{name} {c}"),
                        None => format!("token:{name}"),
                    };
                    Ok(Identity {
                        name,
                        role,
                        credential: Credential::Token(tokens::hash_token(t)),
                    })
                }
                None => Err("the token is not valid (unknown or revoked)".into()),
            },
            (Some(_), None) => Err("the token is not valid (this agent has no tokens)".into()),
            (None, _) if self.tokens_required() => {
                Err("a token is required; set token_file or FLEETDECK_TOKEN".into())
            }
            (None, _) => Ok(match cert_name {
                Some(name) => Identity {
                    name,
                    role: Role::Admin,
                    credential: Credential::Certificate,
                },
                None => Identity::anonymous(),
            }),
        }
    }

    /// Whether `who`, admitted earlier, may still be served (a long-lived stream asks
    /// this every few seconds); the error says why not.
    pub fn still_valid(&self, who: &Identity) -> Result<(), String> {
        self.refresh_mode();
        match &who.credential {
            Credential::Token(hash) => {
                let known = self
                    .tokens
                    .as_ref()
                    .is_some_and(|store| store.has_hash(hash, who.role));
                if known {
                    Ok(())
                } else {
                    Err(format!("the token of {} was revoked", who.name))
                }
            }
            Credential::None | Credential::Certificate if self.tokens_required() => {
                Err("this agent now requires a token; set token_file or FLEETDECK_TOKEN".into())
            }
            Credential::None | Credential::Certificate => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
