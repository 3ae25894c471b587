//! Any bytes decoded as the agent's requests, then validated and classified as the agent
//! does: no panic, and what validation accepts carries no NUL, control character or `..`
//! into a container reference.
#![no_main]

use fleetdeck_agent::{auth, convert, validate};
use fleetdeck_proto as pb;
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = pb::ActRequest::decode(data) {
        let ok = validate::act_request(&req).is_ok();
        let _ = convert::action(&req);
        let _ = auth::action_role(&req);
        if ok {
            assert!(!req.action_id.chars().any(char::is_control));
            if let Some(pb::act_request::Action::Container(c)) = &req.action {
                assert!(!c.container.contains(".."));
                assert!(!c.container.contains('\0'));
            }
        }
    }
    if let Ok(req) = pb::LogsRequest::decode(data) {
        if validate::logs_request(&req).is_ok() {
            assert!(!req.container.trim().contains(".."));
        }
    }
    if let Ok(req) = pb::WatchRequest::decode(data) {
        let name = validate::client_name(&req.client_name);
        assert!(!name.chars().any(char::is_control));
    }
});
