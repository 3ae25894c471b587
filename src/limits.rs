//! Open-file limit: a fleet of N agents holds N sockets, so raise RLIMIT_NOFILE's soft
//! limit to the hard one and refuse to start, clearly, when even that is too small.

/// Descriptors kept free beyond one socket per agent: terminal, log file, config, DNS,
/// the runtime's own, reconnects overlapping a closing socket.
pub const FD_HEADROOM: u64 = 64;

/// The open-file limit cannot hold the fleet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{agents} agents need {needed} open files but the limit is {limit}; \
     raise it (`ulimit -n {needed}` in the shell, or LimitNOFILE={needed} in a systemd unit) \
     or follow fewer agents"
)]
pub struct LimitError {
    pub agents: usize,
    pub needed: u64,
    pub limit: u64,
}

/// Open files a fleet of `agents` agents needs.
pub fn files_needed(agents: usize) -> u64 {
    (agents as u64).saturating_add(FD_HEADROOM)
}

/// Checks that a soft limit of `limit` is enough for `agents` agents.
pub fn check(agents: usize, limit: u64) -> Result<(), LimitError> {
    let needed = files_needed(agents);
    if needed <= limit {
        Ok(())
    } else {
        Err(LimitError {
            agents,
            needed,
            limit,
        })
    }
}

/// Raises the soft open-file limit as far as the hard limit allows and returns it.
pub fn raise_nofile() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// Raises the limit, then checks it fits `agents` agents. A failure to read or raise the
/// limit is reported as such, not mistaken for "too small".
pub fn ensure_for(agents: usize) -> Result<u64, EnsureError> {
    let limit = raise_nofile().map_err(EnsureError::Raise)?;
    check(agents, limit)?;
    Ok(limit)
}

/// Why the open-file limit could not be made to fit.
#[derive(Debug, thiserror::Error)]
pub enum EnsureError {
    /// Reading or setting RLIMIT_NOFILE failed.
    #[error("cannot raise the open-file limit: {0}")]
    Raise(std::io::Error),
    /// The limit is too small even at the hard limit.
    #[error(transparent)]
    TooLow(#[from] LimitError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_socket_per_agent_plus_headroom() {
        assert_eq!(files_needed(0), 64);
        assert_eq!(files_needed(1000), 1064);
        assert_eq!(files_needed(usize::MAX), u64::MAX, "saturates");
        assert!(check(960, 1024).is_ok());
        assert!(check(961, 1024).is_err());
    }

    #[test]
    fn the_error_says_what_and_what_to_do() {
        let e = check(5000, 1024).unwrap_err();
        assert_eq!(
            e,
            LimitError {
                agents: 5000,
                needed: 5064,
                limit: 1024
            }
        );
        let text = e.to_string();
        assert!(!text.contains('\n'));
        for part in [
            "5000 agents",
            "5064",
            "1024",
            "ulimit -n 5064",
            "LimitNOFILE=5064",
        ] {
            assert!(text.contains(part), "{part} missing from: {text}");
        }
    }

    #[test]
    fn raising_works_and_is_idempotent() {
        let first = raise_nofile().unwrap();
        assert!(first >= 1, "limit {first}");
        assert_eq!(raise_nofile().unwrap(), first);
        assert_eq!(ensure_for(3).unwrap(), first);
        if first < u64::MAX - 64 {
            assert!(matches!(
                ensure_for(first as usize),
                Err(EnsureError::TooLow(_))
            ));
        }
    }
}
