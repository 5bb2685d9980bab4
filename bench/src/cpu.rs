//! CPU time of a process (user + system, all threads), read from
//! `/proc/PID/stat` (Linux), for the "CPU time per call" columns.

use std::sync::OnceLock;

use crate::error::{BenchError, Result};

/// Clock ticks per second of `/proc` times (`getconf CLK_TCK`; 100 on
/// every mainstream Linux architecture, used if `getconf` is missing).
fn ticks_per_sec() -> u64 {
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&t| t > 0)
            .unwrap_or(100)
    })
}

/// User + system CPU time, in nanoseconds, of process `pid` (`None`: this
/// process), summed over its threads. Resolution: one clock tick (10 ms).
///
/// # Errors
///
/// [`BenchError::Io`] if `/proc/PID/stat` cannot be read (no such
/// process, not Linux), [`BenchError::BadResult`] if it cannot be parsed.
pub fn process_cpu_ns(pid: Option<u32>) -> Result<u64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| BenchError::io(&path, e))?;
    parse_stat_cpu_ticks(&text)
        .map(|ticks| ticks.saturating_mul(1_000_000_000) / ticks_per_sec())
        .ok_or_else(|| BenchError::BadResult {
            line: text.clone(),
            reason: format!("no utime/stime fields in {path}"),
        })
}

/// utime + stime (fields 14 and 15 of proc(5)'s `stat`), in ticks. The
/// command name (field 2) may hold spaces and parentheses, so fields are
/// counted from the last `)`.
fn parse_stat_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    // After the command name: field 3 (state) is index 0, so field 14 is 11.
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime.saturating_add(stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_a_tricky_name() {
        let line = "1234 (a) b (c)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0";
        assert_eq!(parse_stat_cpu_ticks(line), Some(300));
    }

    #[test]
    fn reads_this_process() {
        assert!(process_cpu_ns(None).is_ok());
    }
}
