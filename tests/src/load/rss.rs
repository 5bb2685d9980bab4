//! Resident memory of a process, from `/proc/PID/status` (Linux).

/// The resident set size (`VmRSS`) of process `pid`, KiB; 0 when it cannot
/// be read (the process is gone).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|l| {
                l.strip_prefix("VmRSS:")?
                    .trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse()
                    .ok()
            })
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_has_resident_memory() {
        assert!(super::rss_kib(std::process::id()) > 0);
    }
}
