//! `fleetdeck logs CONTAINER`: a container's log on the terminal, like `docker logs`, from
//! whichever node runs it. The container's stdout goes to stdout and its stderr to stderr,
//! so pipes and redirections work as they do with the engine's own tool.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Args;
use fleetdeck_proto as pb;

use crate::cli::{Cli, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE};
use crate::client::Connections;
use crate::config::Settings;

/// Exit status after Ctrl-c, as a shell reports a command ended by SIGINT.
pub const EXIT_INTERRUPTED: i32 = 130;
/// Time allowed to find the container and open its log.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// `fleetdeck logs`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct LogsArgs {
    /// Container name, id or id prefix.
    pub container: String,
    /// The node it runs on (needed when the name is on several nodes).
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    /// Keep printing new lines until Ctrl-c or until the container is removed.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Lines from the end of the log to print: a number, or `all`.
    #[arg(short = 'n', long, value_name = "N|all", default_value = "all", value_parser = parse_tail)]
    pub tail: u32,
    /// Only lines written since then: a time ago (`90s`, `10m`, `2h`) or an RFC 3339 time.
    #[arg(long, value_name = "10m|RFC3339")]
    pub since: Option<String>,
    /// Start each line with the time the container wrote it (RFC 3339, UTC).
    #[arg(short = 't', long)]
    pub timestamps: bool,
}

/// Lines the agent sends at most for `--tail all`.
const ALL_LINES: u32 = 100_000;

fn parse_tail(text: &str) -> Result<u32, String> {
    if text == "all" {
        return Ok(ALL_LINES);
    }
    match text.parse::<u32>() {
        Ok(n) if n <= ALL_LINES => Ok(n),
        Ok(_) => Err(format!(
            "at most {ALL_LINES} lines; use `all` for as many as are kept"
        )),
        Err(_) => Err(format!(
            "`{text}` is not a line count; give a number or `all`"
        )),
    }
}

/// `--since` as milliseconds since the Unix epoch, from `now_unix_ms`.
pub fn since_unix_ms(text: &str, now_unix_ms: u64) -> Result<u64, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return u64::try_from(t.timestamp_millis())
            .map_err(|_| format!("--since {text}: the time is before 1970"));
    }
    let ago = crate::alerts::parse_duration(text).map_err(|_| {
        format!("--since `{text}` is neither a time ago (`10m`, `2h`) nor an RFC 3339 time (`2026-12-07T10:00:00Z`)")
    })?;
    Ok(now_unix_ms
        .saturating_sub(u64::try_from(ago.as_millis()).unwrap_or(u64::MAX))
        .max(1))
}

/// What `main` calls for `fleetdeck logs`; returns the exit status.
pub async fn run_cli(cli: &Cli, args: &LogsArgs) -> i32 {
    let settings = match cli.settings() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fleetdeck: {e}");
            return EXIT_USAGE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr();
    let interrupt = async {
        // Without a signal handler Ctrl-c would still end the process; with it, the
        // status is the shell's usual one and the output is flushed.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        status = print_logs(&settings, args, &mut stdout, &mut stderr) => match status {
            Ok(()) => EXIT_OK,
            Err((status, message)) => {
                let _ = stdout.flush();
                eprintln!("fleetdeck: {message}");
                status
            }
        },
        () = interrupt => EXIT_INTERRUPTED,
    }
}

/// An exit status and its one-line reason.
type Failure = (i32, String);

/// Finds the container, opens its log and copies it to `out` and `err` until it ends.
pub async fn print_logs(
    settings: &Settings,
    args: &LogsArgs,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<(), Failure> {
    if settings.agents.is_empty() {
        return Err((
            EXIT_USAGE,
            "no agents to ask; pass --agent HOST:PORT, set FLEETDECK_AGENTS, or add agents = [\"HOST:PORT\"] to the config file".into(),
        ));
    }
    let now_ms = unix_ms(SystemTime::now());
    let since = match &args.since {
        Some(text) => since_unix_ms(text, now_ms).map_err(|e| (EXIT_USAGE, e))?,
        None => 0,
    };
    let conns = Connections::new(settings.credentials.clone(), LOOKUP_TIMEOUT);
    let fleet = crate::get::fleet_once(&settings.agents, LOOKUP_TIMEOUT, &conns).await;
    let (node, container) =
        crate::model::locate::find_container(&fleet, args.node.as_deref(), &args.container)
            .map_err(|e| (EXIT_UNREACHABLE, e))?;
    let slot = fleet
        .nodes()
        .iter()
        .position(|n| std::ptr::eq(n, node))
        .ok_or_else(|| (EXIT_UNREACHABLE, "the node went away".to_string()))?;
    let addr = &settings.agents[slot];
    let node_name = node.name().to_string();
    let lost = |e: String| (EXIT_UNREACHABLE, format!("{node_name}: {e}"));
    let mut client = conns.client(addr).await.map_err(|e| lost(e.to_string()))?;
    let request = pb::LogsRequest {
        container: container.spec.id.clone(),
        tail: args.tail,
        follow: args.follow,
        since_unix_ms: since,
    };
    let mut stream = client
        .logs(request)
        .await
        .map_err(|s| lost(s.message().to_string()))?
        .into_inner();
    loop {
        match stream.message().await {
            Ok(Some(chunk)) => {
                if write_chunk(&chunk, args.timestamps, out, err).is_err() {
                    // The reader went away (`| head`): that is the end, not an error.
                    return Ok(());
                }
            }
            Ok(None) => return Ok(()),
            Err(s) => return Err(lost(format!("log stream lost: {}", s.message()))),
        }
    }
}

/// Writes one batch of lines, each to the stream it came from, and flushes both so a
/// follower sees lines as they come.
fn write_chunk(
    chunk: &pb::LogChunk,
    timestamps: bool,
    out: &mut impl Write,
    err: &mut impl Write,
) -> std::io::Result<()> {
    for line in &chunk.lines {
        let to: &mut dyn Write = if line.stream == pb::LogStream::Stderr as i32 {
            err
        } else {
            out
        };
        if timestamps {
            write!(to, "{} ", rfc3339(line.time_unix_ms))?;
        }
        writeln!(to, "{}", line.text)?;
    }
    out.flush()?;
    err.flush()
}

fn rfc3339(unix_ms: u64) -> String {
    i64::try_from(unix_ms)
        .ok()
        .filter(|&ms| ms > 0)
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || "-".to_string(),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_time_ago_or_an_rfc3339_time() {
        let now = 1_800_000_000_000;
        assert_eq!(since_unix_ms("10m", now).unwrap(), now - 600_000);
        assert_eq!(since_unix_ms("1h30m", now).unwrap(), now - 5_400_000);
        assert_eq!(
            since_unix_ms("2026-12-07T10:00:00Z", now).unwrap(),
            1_796_637_600_000
        );
        assert_eq!(
            since_unix_ms("2026-12-07T11:00:00+01:00", now).unwrap(),
            1_796_637_600_000
        );
        let e = since_unix_ms("yesterday", now).unwrap_err();
        assert!(e.contains("10m") && e.contains("RFC 3339"), "{e}");
        assert!(since_unix_ms("1969-01-01T00:00:00Z", now).is_err());
    }

    #[test]
    fn tail_is_a_count_or_all() {
        assert_eq!(parse_tail("all").unwrap(), ALL_LINES);
        assert_eq!(parse_tail("5").unwrap(), 5);
        assert!(parse_tail("-1").unwrap_err().contains("number"));
        assert!(parse_tail("200000").unwrap_err().contains("at most"));
    }

    #[test]
    fn lines_go_to_their_own_stream_with_optional_times() {
        let chunk = pb::LogChunk {
            lines: vec![
                pb::LogLine {
                    time_unix_ms: 1_796_637_600_123,
                    stream: pb::LogStream::Stdout as i32,
                    text: "out".into(),
                },
                pb::LogLine {
                    time_unix_ms: 0,
                    stream: pb::LogStream::Stderr as i32,
                    text: "err".into(),
                },
            ],
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        write_chunk(&chunk, true, &mut out, &mut err).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2026-12-07T10:00:00.123Z out\n"
        );
        assert_eq!(String::from_utf8(err).unwrap(), "- err\n");
    }
}
