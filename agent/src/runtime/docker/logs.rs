//! Container logs from the engine (stdout and stderr, with the engine's timestamps).

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptions;
use futures::StreamExt;

use super::convert::unix_ms;
use crate::logs::{LineStream, LogLine, LogQuery, LogSource, clamp_line};
use crate::runtime::RuntimeError;

/// The lines of container `id` that `query` asks for.
pub fn stream(docker: &Docker, id: &str, query: LogQuery) -> LineStream {
    let options = LogsOptions {
        follow: query.follow,
        stdout: true,
        stderr: true,
        since: i32::try_from(query.since_unix_ms / 1000).unwrap_or(i32::MAX),
        until: 0,
        timestamps: true,
        tail: query.tail.to_string(),
    };
    let id = id.to_owned();
    let frames = docker.logs(&id, Some(options));
    let lines = frames.flat_map(move |frame| {
        let out: Vec<Result<LogLine, RuntimeError>> = match frame {
            Ok(f) => split(&f),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => vec![Err(RuntimeError::NotFound(id.clone()))],
            Err(e) => vec![Err(RuntimeError::Failed(format!("log stream broke: {e}")))],
        };
        futures::stream::iter(out)
    });
    Box::pin(lines)
}

/// The lines in one frame. The engine prefixes each with its RFC 3339 time and a space.
fn split(frame: &LogOutput) -> Vec<Result<LogLine, RuntimeError>> {
    let source = match frame {
        LogOutput::StdErr { .. } => LogSource::Stderr,
        _ => LogSource::Stdout,
    };
    let text = String::from_utf8_lossy(frame.as_ref());
    text.split_terminator('\n')
        .map(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let (time, rest) = match line.split_once(' ') {
                Some((ts, rest)) if unix_ms(ts) > 0 => (unix_ms(ts), rest),
                _ => (0, line),
            };
            Ok(LogLine {
                time_unix_ms: time,
                source,
                text: clamp_line(rest.to_owned()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_become_lines() {
        let f = LogOutput::StdErr {
            message: "2024-01-01T00:00:00.000000001Z oops\n2024-01-01T00:00:01Z again\n".into(),
        };
        let lines: Vec<LogLine> = split(&f).into_iter().map(Result::unwrap).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "oops");
        assert_eq!(lines[0].source, LogSource::Stderr);
        assert_eq!(lines[1].time_unix_ms, 1_704_067_201_000);
        let plain = LogOutput::StdOut {
            message: "no time here\r\n".into(),
        };
        let l = split(&plain).remove(0).unwrap();
        assert_eq!((l.time_unix_ms, l.text.as_str()), (0, "no time here"));
    }
}
