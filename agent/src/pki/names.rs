//! What a certificate may be made for: a holder's name (it names the files too) and the
//! addresses an agent's certificate vouches for. Both are checked before anything is made,
//! so a typo is refused in one line instead of ending up in a certificate.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// Longest holder name: it becomes a file name and a common name.
const MAX_NAME_CHARS: usize = 64;
/// Longest DNS name (RFC 1035).
const MAX_DNS_CHARS: usize = 253;
/// Longest DNS label (RFC 1035).
const MAX_LABEL_CHARS: usize = 63;

/// A certificate holder's name: the certificate's common name (`CN=NAME`, the caller's
/// identity on an agent) and the stem of its files (`NAME.pem`, `NAME.key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Name {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        let shown: String = s.chars().take(MAX_NAME_CHARS).collect::<String>();
        if s.is_empty()
            || s.chars().count() > MAX_NAME_CHARS
            || !s.chars().all(allowed)
            || s.starts_with(['.', '-'])
        {
            return Err(format!(
                "`{}` cannot name a certificate: use up to {MAX_NAME_CHARS} letters, digits, \
                 `.`, `_` and `-`, not starting with `.` or `-`",
                shown.escape_debug()
            ));
        }
        if s.eq_ignore_ascii_case(super::CA_STEM) {
            return Err(format!(
                "`{s}` is the CA's own file name (ca.pem, ca.key); pick another name"
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

/// A subject alternative name of an agent's certificate: what consoles dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    /// An IP address, e.g. `10.0.0.11`.
    Ip(IpAddr),
    /// A DNS name, e.g. `node-1.example.com` or `*.nodes.example.com`.
    Dns(String),
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ip(ip) => ip.fmt(f),
            Self::Dns(name) => f.write_str(name),
        }
    }
}

impl FromStr for San {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Self::Ip(ip));
        }
        if is_dns_name(s) {
            return Ok(Self::Dns(s.to_owned()));
        }
        let shown: String = s.chars().take(MAX_DNS_CHARS).collect();
        Err(format!(
            "`{}` is neither an IP address nor a DNS name; give what consoles dial, e.g. \
             10.0.0.11 or node-1.example.com",
            shown.escape_debug()
        ))
    }
}

/// Letters, digits and inner `-` in dot-separated labels; a leading `*` label for a
/// wildcard; and a last label that is not all digits, so `10.0.0.300` is not taken for a
/// name.
fn is_dns_name(s: &str) -> bool {
    if s.is_empty() || s.len() > MAX_DNS_CHARS {
        return false;
    }
    let labels: Vec<&str> = s.split('.').collect();
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= MAX_LABEL_CHARS
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let (first, rest) = match labels.split_first() {
        Some((&"*", rest)) if !rest.is_empty() => (None, rest),
        Some((first, rest)) => (Some(*first), rest),
        None => return false,
    };
    let all_ok = first.is_none_or(label_ok) && rest.iter().all(|l| label_ok(l));
    let last_numeric = labels
        .last()
        .is_some_and(|l| l.chars().all(|c| c.is_ascii_digit()));
    all_ok && !last_numeric
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_make_safe_file_names_pass() {
        for ok in ["node-1", "web_2.eu", "OPS", "a"] {
            assert_eq!(ok.parse::<Name>().unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "-x",
            ".hidden",
            "a/b",
            "../up",
            "two words",
            "é",
            &"n".repeat(65),
        ] {
            let err = bad.parse::<Name>().unwrap_err();
            assert!(err.contains("cannot name a certificate"), "{bad}: {err}");
        }
        let err = "CA".parse::<Name>().unwrap_err();
        assert!(err.contains("the CA's own file name"), "{err}");
    }

    #[test]
    fn sans_are_ip_addresses_or_dns_names() {
        assert_eq!(
            "10.0.0.11".parse::<San>().unwrap(),
            San::Ip("10.0.0.11".parse().unwrap())
        );
        assert_eq!(
            "::1".parse::<San>().unwrap(),
            San::Ip("::1".parse().unwrap())
        );
        for name in ["localhost", "node-1.example.com", "*.nodes.internal", "x1"] {
            assert_eq!(name.parse::<San>().unwrap(), San::Dns(name.into()));
        }
        for bad in [
            "",
            "10.0.0.300",
            "1.2.3",
            "under_score.com",
            "-lead.com",
            "trail-.com",
            "a..b",
            "dot.",
            "*",
            "a.*.b",
            "with space",
            "10.0.0.1:7400",
            "http://node",
            &format!("{}.com", "l".repeat(64)),
        ] {
            let err = bad.parse::<San>().unwrap_err();
            assert!(
                err.contains("neither an IP address nor a DNS name"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn refusals_escape_what_they_echo() {
        let err = "a\nb".parse::<San>().unwrap_err();
        assert!(!err.contains('\n') && err.contains("a\\nb"), "{err}");
        let err = "a\u{1b}b".parse::<Name>().unwrap_err();
        assert!(!err.contains('\u{1b}'), "{err}");
    }
}
