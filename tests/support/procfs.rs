//! What Linux's `/proc` says of a process, for the watch test and bench.

/// Times the process went to sleep of its own accord (voluntary context
/// switches, summed over its threads): its wakeups. Unlike CPU time, this
/// does not grow when other processes load the machine, so a timer or a
/// poll that fires too often shows here whatever the load. `None` when
/// `/proc` cannot be read (the process is gone).
pub fn wakeups(pid: u32) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    Some(
        tasks
            .flatten()
            .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
            .filter_map(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
            .sum(),
    )
}
