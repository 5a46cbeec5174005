//! What `/proc` says about a process: resident memory and CPU time.

use std::path::PathBuf;

fn proc_dir(pid: Option<u32>) -> PathBuf {
    match pid {
        Some(pid) => PathBuf::from(format!("/proc/{pid}")),
        None => PathBuf::from("/proc/self"),
    }
}

/// Resident set size in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kb(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(proc_dir(pid).join("status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU time in clock ticks (USER_HZ, 100 per second on Linux).
pub fn cpu_ticks(pid: Option<u32>) -> Option<u64> {
    let stat = std::fs::read_to_string(proc_dir(pid).join("stat")).ok()?;
    // The command name may hold spaces: fields are counted after its closing ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    let mut fields = after.split_whitespace();
    // After the name, field 3 (state) is index 0, so utime (14) is index 11, stime 12.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Ticks the whole machine spent busy, and stolen by the hypervisor (`/proc/stat`).
pub fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let f: Vec<u64> = line
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal
    let busy = f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)?;
    Some((busy, *f.get(7)?))
}

/// Ticks per second of `cpu_ticks` (USER_HZ is 100 on every Linux ABI).
pub const TICKS_PER_SEC: f64 = 100.0;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn reads_this_process() {
        assert!(super::rss_kb(None).unwrap() > 0);
        assert!(super::cpu_ticks(None).is_some());
        assert!(super::machine_ticks().is_some());
    }
}
