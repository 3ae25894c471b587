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
use std::sync::Arc;

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
    /// Watch, GetInfo, Logs: reads only (a wall display).
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
}

impl Identity {
    /// The caller of an agent that checks nothing (loopback, or `--insecure`).
    pub fn anonymous() -> Self {
        Self {
            name: "anonymous".into(),
            role: Role::Admin,
        }
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
        "Watch" | "GetInfo" | "Logs" => RpcRule::Fixed(Role::Viewer),
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
                Ok(Verb::Unspecified) | Err(_) => "unknown",
            };
            format!("node.{verb}")
        }
    }
}

/// The role the action in `req` needs: its entry in [`ACTION_ROLES`], else admin.
pub fn action_role(req: &pb::ActRequest) -> Role {
    let kind = action_kind(req);
    ACTION_ROLES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(Role::Admin, |(_, r)| *r)
}

/// How a running agent decides who a caller is.
#[derive(Debug, Clone)]
pub struct AuthPolicy {
    /// Tokens; when it holds any, every call must carry one of them.
    pub tokens: Option<Arc<TokenStore>>,
    /// Callers were checked by client certificate (mutual TLS); without tokens they are
    /// admins (the CA is the gate).
    pub client_certs: bool,
}

impl AuthPolicy {
    /// Checks nothing: every caller is an anonymous admin.
    pub fn open() -> Self {
        Self {
            tokens: None,
            client_certs: false,
        }
    }

    /// True when no token store holds any token.
    fn tokens_enabled(&self) -> bool {
        self.tokens.as_ref().is_some_and(|t| t.is_enabled())
    }

    /// Who is calling, from the `authorization` header value and the client certificate
    /// subject; the error is the message sent back (UNAUTHENTICATED).
    pub fn identify(&self, header: Option<&str>, cert: Option<&str>) -> Result<Identity, String> {
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
                    Ok(Identity { name, role })
                }
                None => Err("the token is not valid (unknown or revoked)".into()),
            },
            (Some(_), None) => Err("the token is not valid (this agent has no tokens)".into()),
            (None, _) if self.tokens_enabled() => {
                Err("a token is required; set token_file or FLEETDECK_TOKEN".into())
            }
            (None, _) => Ok(match cert_name {
                Some(name) => Identity {
                    name,
                    role: Role::Admin,
                },
                None => Identity::anonymous(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(action: pb::act_request::Action) -> pb::ActRequest {
        pb::ActRequest {
            action_id: "a".into(),
            action: Some(action),
            ..Default::default()
        }
    }

    #[test]
    fn rpcs_and_actions_are_classified_and_the_rest_needs_admin() {
        assert_eq!(
            rpc_rule("/fleetdeck.v1.Agent/Watch"),
            RpcRule::Fixed(Role::Viewer)
        );
        assert_eq!(rpc_rule("/fleetdeck.v1.Agent/Act"), RpcRule::PerRequest);
        for unknown in [
            "/fleetdeck.v1.Agent/Restore",
            "/fleetdeck.v1.Other/Watch",
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            "",
            "/fleetdeck.v1.Agent/",
        ] {
            assert_eq!(rpc_rule(unknown), RpcRule::Fixed(Role::Admin), "{unknown}");
        }
        let stop = act(pb::act_request::Action::Container(pb::ContainerAction {
            verb: pb::container_action::Verb::Stop as i32,
            container: "web".into(),
        }));
        assert_eq!(action_kind(&stop), "container.stop");
        assert_eq!(action_role(&stop), Role::Operator);
        let weird = act(pb::act_request::Action::Node(pb::NodeAction { verb: 99 }));
        assert_eq!(action_role(&weird), Role::Admin);
        assert_eq!(action_role(&pb::ActRequest::default()), Role::Admin);
    }

    #[test]
    fn roles_order_and_parse() {
        assert!(Role::Viewer < Role::Operator && Role::Operator < Role::Admin);
        for r in [Role::Viewer, Role::Operator, Role::Admin] {
            assert_eq!(r.name().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().unwrap_err().contains("viewer"));
    }

    #[test]
    fn identify_by_token_certificate_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TOKENS_FILE);
        let open = AuthPolicy::open();
        assert_eq!(open.identify(None, None).unwrap(), Identity::anonymous());
        assert!(open.identify(Some("Bearer x"), None).is_err());
        let store = Arc::new(TokenStore::open(path.clone()).unwrap());
        let policy = AuthPolicy {
            tokens: Some(store),
            client_certs: true,
        };
        let by_cert = policy.identify(None, Some("CN=ops")).unwrap();
        assert_eq!(
            (by_cert.name.as_str(), by_cert.role),
            ("cert:CN=ops", Role::Admin)
        );
        let t = tokens::create(&path, "wall", Role::Viewer).unwrap();
        assert!(
            policy
                .identify(None, Some("CN=ops"))
                .unwrap_err()
                .contains("required")
        );
        let id = policy
            .identify(Some(&format!("Bearer {t}")), Some("CN=ops"))
            .unwrap();
        assert_eq!(id.name, "token:wall cert:CN=ops");
        assert_eq!(id.role, Role::Viewer);
        assert!(
            policy
                .identify(Some(&t), None)
                .unwrap_err()
                .contains("Bearer")
        );
        assert!(
            policy
                .identify(Some("Bearer fdk_0"), None)
                .unwrap_err()
                .contains("not valid")
        );
    }
}
