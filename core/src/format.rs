//! Sizes and durations as text, one way for the console's tables, its messages and the
//! agent's messages.

use std::time::Duration;

const IEC: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
const SHORT: [&str; 6] = ["B", "K", "M", "G", "T", "P"];

/// `n` bytes scaled to the largest binary unit below it: the value and the unit's index.
fn scaled(n: u64) -> (f64, usize) {
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < IEC.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    (value, unit)
}

/// A size in binary units for messages: `512B`, `1.5KiB`, `128.0MiB`, `2.0GiB`.
pub fn bytes(n: u64) -> String {
    match scaled(n) {
        (_, 0) => format!("{n}B"),
        (v, u) => format!("{v:.1}{}", IEC[u]),
    }
}

/// A size for a narrow column: `512B`, `1.5K`, `64M`, `1.0G` (one decimal only while it
/// still says something).
pub fn bytes_short(n: u64) -> String {
    match scaled(n) {
        (_, 0) => format!("{n}B"),
        (v, u) if v < 9.95 => format!("{v:.1}{}", SHORT[u]),
        (v, u) => format!("{v:.0}{}", SHORT[u]),
    }
}

/// A duration in at most two units: `45s`, `12m`, `3h12m`, `5d3h`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h{}m", s / 3_600, s % 3_600 / 60),
        _ => format!("{}d{}h", s / 86_400, s % 86_400 / 3_600),
    }
}

/// A duration to the tenth of a second while short: `840ms`, `4.2s`, `2m05s`, `1h03m`.
pub fn duration_precise(d: Duration) -> String {
    let ms = d.as_millis();
    let s = d.as_secs();
    match s {
        _ if ms < 1_000 => format!("{ms}ms"),
        0..60 => format!("{:.1}s", d.as_secs_f64()),
        60..3_600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3_600, s % 3_600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_both_forms() {
        assert_eq!(bytes(512), "512B");
        assert_eq!(bytes(1536), "1.5KiB");
        assert_eq!(bytes(128 * 1024 * 1024), "128.0MiB");
        assert_eq!(bytes(u64::MAX), "16384.0PiB");
        assert_eq!(bytes_short(512), "512B");
        assert_eq!(bytes_short(1536), "1.5K");
        assert_eq!(bytes_short(64 * 1024 * 1024), "64M");
        assert_eq!(bytes_short(1024 * 1024 * 1024), "1.0G");
    }

    #[test]
    fn durations_in_both_forms() {
        assert_eq!(duration(Duration::from_secs(45)), "45s");
        assert_eq!(duration(Duration::from_secs(3 * 3600 + 12 * 60)), "3h12m");
        assert_eq!(duration(Duration::from_secs(5 * 86_400 + 3 * 3600)), "5d3h");
        assert_eq!(duration_precise(Duration::from_millis(840)), "840ms");
        assert_eq!(duration_precise(Duration::from_millis(4_200)), "4.2s");
        assert_eq!(duration_precise(Duration::from_secs(125)), "2m05s");
        assert_eq!(duration_precise(Duration::from_secs(3_780)), "1h03m");
    }
}
