//! `--fault KIND:CONTAINER[@SECONDS]`: faults a sim agent puts on its own containers on a
//! schedule, for incident drills and demos without a gRPC client. Each one runs as a
//! `sim_fault` action through the same path as a remote Act, so it is audited too.

use std::str::FromStr;
use std::time::Duration;

use fleetdeck_proto as pb;
use tokio::task::JoinHandle;
use tokio_stream::StreamExt;

use crate::model::SimFaultKind;
use crate::server::RunningAgent;

/// Who the audit log says asked for a scheduled fault.
pub const REQUESTED_BY: &str = "fleetdeck-agent --fault";

/// One scheduled fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultArg {
    /// What to do.
    pub kind: SimFaultKind,
    /// Container name, id or id prefix.
    pub container: String,
    /// How long after the start.
    pub after: Duration,
}

const KINDS: [SimFaultKind; 4] = [
    SimFaultKind::CrashLoop,
    SimFaultKind::Unhealthy,
    SimFaultKind::CpuSpike,
    SimFaultKind::Clear,
];

impl FromStr for FaultArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let usage = "write it as KIND:CONTAINER[@SECONDS], e.g. crash_loop:web-1@30";
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}` has no `:`; {usage}"))?;
        let kind = KINDS
            .into_iter()
            .find(|k| k.name() == kind.trim())
            .ok_or_else(|| {
                let names: Vec<&str> = KINDS.iter().map(|k| k.name()).collect();
                format!("unknown fault `{kind}`; one of {}", names.join(", "))
            })?;
        let (container, after) = match rest.split_once('@') {
            Some((c, secs)) => {
                let secs: u64 = secs
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{secs}` is not a whole number of seconds; {usage}"))?;
                (c, Duration::from_secs(secs))
            }
            None => (rest, Duration::ZERO),
        };
        let container = container.trim();
        if container.is_empty() {
            return Err(format!("`{s}` names no container; {usage}"));
        }
        Ok(Self {
            kind,
            container: container.to_owned(),
            after,
        })
    }
}

fn request(n: usize, fault: &FaultArg, epoch: u64) -> pb::ActRequest {
    let kind = match fault.kind {
        SimFaultKind::CrashLoop => pb::sim_fault::Kind::CrashLoop,
        SimFaultKind::Unhealthy => pb::sim_fault::Kind::Unhealthy,
        SimFaultKind::CpuSpike => pb::sim_fault::Kind::CpuSpike,
        SimFaultKind::Clear => pb::sim_fault::Kind::Clear,
    };
    pb::ActRequest {
        // Unique per agent instance, so a restarted agent runs its schedule again.
        action_id: format!("drill-{epoch:x}-{n}"),
        requested_by: REQUESTED_BY.to_owned(),
        action: Some(pb::act_request::Action::SimFault(pb::SimFault {
            kind: kind as i32,
            container: fault.container.clone(),
            duration_secs: 0,
        })),
        ..Default::default()
    }
}

/// Starts one task per fault: it waits its time, runs the fault and logs the outcome.
pub fn schedule(agent: &RunningAgent, faults: &[FaultArg]) -> Vec<JoinHandle<()>> {
    faults
        .iter()
        .enumerate()
        .map(|(n, fault)| {
            let req = request(n, fault, agent.epoch());
            let actions = agent.actions();
            let fault = fault.clone();
            let node = agent.node_id().to_owned();
            tokio::spawn(async move {
                tokio::time::sleep(fault.after).await;
                let mut stream = actions.start(req, None);
                let mut outcome = None;
                while let Some(Ok(m)) = stream.next().await {
                    outcome = m.result.or(outcome);
                }
                let what = format!("{}:{}", fault.kind.name(), fault.container);
                match outcome {
                    Some(pb::act_progress::Result::Done(d)) => {
                        tracing::info!(node, fault = what, "{}", d.message);
                    }
                    Some(pb::act_progress::Result::Error(e)) => {
                        tracing::warn!(node, fault = what, "fault refused: {}", e.message);
                    }
                    None => tracing::warn!(node, fault = what, "fault ended without an outcome"),
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_flags_parse_or_say_what_is_wrong() {
        let f: FaultArg = "crash_loop:web-1@30".parse().unwrap();
        assert_eq!(f.kind, SimFaultKind::CrashLoop);
        assert_eq!(f.container, "web-1");
        assert_eq!(f.after, Duration::from_secs(30));
        let f: FaultArg = "unhealthy:api-2".parse().unwrap();
        assert_eq!((f.kind, f.after), (SimFaultKind::Unhealthy, Duration::ZERO));
        for (bad, says) in [
            ("crash_loop", "no `:`"),
            (
                "meltdown:web-1",
                "unknown fault `meltdown`; one of crash_loop",
            ),
            ("cpu_spike:web-1@soon", "`soon` is not a whole number"),
            ("clear:@5", "names no container"),
        ] {
            let err = bad.parse::<FaultArg>().unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
