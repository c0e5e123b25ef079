//! CPU time and memory of a process, read from Linux's /proc (the broker under test, or the bench
//! itself). Elsewhere every read is `None` and the report just leaves those columns out.
//!
//! CPU time is utime + stime from /proc/PID/stat, in clock ticks of USER_HZ, which is 100 on
//! every Linux ABI (the kernel converts to it for /proc), so a tick is 10 ms. Memory is VmRSS and
//! VmHWM (peak RSS) from /proc/PID/status, in KiB.

/// Milliseconds per USER_HZ tick.
const MS_PER_TICK: u64 = 10;

/// One reading of a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// User + system CPU time, ms (10 ms resolution).
    pub cpu_ms: u64,
    /// Resident set size, KiB.
    pub rss_kib: u64,
    /// Peak resident set size, KiB.
    pub peak_rss_kib: u64,
}

/// What to read: the bench itself or another process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// /proc/self.
    Me,
    /// /proc/PID.
    Pid(u32),
}

impl Target {
    fn dir(self) -> String {
        match self {
            Self::Me => "/proc/self".to_owned(),
            Self::Pid(pid) => format!("/proc/{pid}"),
        }
    }

    /// Read the process's CPU time and memory now; `None` if it is gone or this is not Linux.
    #[must_use]
    pub fn read(self) -> Option<Usage> {
        let dir = self.dir();
        let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
        let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
        Some(Usage {
            cpu_ms: cpu_ticks(&stat)? * MS_PER_TICK,
            rss_kib: status_kib(&status, "VmRSS:")?,
            peak_rss_kib: status_kib(&status, "VmHWM:")?,
        })
    }
}

/// utime + stime (fields 14 and 15) of a /proc/PID/stat line. The command name (field 2) may hold
/// spaces and parentheses, so fields are counted from the last `)`.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after_comm = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after_comm.split_ascii_whitespace().skip(11); // field 3 is the first here
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// A `Key:   1234 kB` line of /proc/PID/status.
fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.get(key.len()..)?.split_ascii_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_an_awkward_command_name() {
        let stat = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 3 0 100 1000 50";
        assert_eq!(cpu_ticks(stat), Some(325));
        assert_eq!(cpu_ticks("garbage"), None);
    }

    #[test]
    fn parses_status_lines() {
        let status = "Name:\tmosquitto\nVmHWM:\t   20480 kB\nVmRSS:\t    8192 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(8192));
        assert_eq!(status_kib(status, "VmHWM:"), Some(20480));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn reads_this_process() {
        let me = Target::Me.read().expect("/proc/self");
        assert!(me.rss_kib > 0 && me.peak_rss_kib >= me.rss_kib);
        assert!(Target::Pid(u32::MAX).read().is_none());
    }
}
