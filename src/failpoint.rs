//! Test-only failure points, shared by every step so crash tests can stop the process anywhere.

/// Test-only failure points (`JIRA_AGILE_SYNC_FAILPOINT=<name>[:<n>]`): the process exits
/// abruptly (as a kill would) when it reaches the named point for the n-th time.
pub fn failpoint(name: &str) {
    static SPEC: std::sync::OnceLock<Option<(String, usize)>> = std::sync::OnceLock::new();
    static HITS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let spec = SPEC.get_or_init(|| {
        let v = std::env::var("JIRA_AGILE_SYNC_FAILPOINT").ok()?;
        let (n, c) = v.split_once(':').unwrap_or((v.as_str(), "1"));
        Some((n.to_string(), c.parse().unwrap_or(1)))
    });
    if let Some((n, count)) = spec {
        if n == name && HITS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 >= *count {
            eprintln!("failpoint {name} reached: exiting");
            std::process::exit(99);
        }
    }
}

/// Test-only injected write failure (`JIRA_AGILE_SYNC_FAIL_WRITE=<path substring>`): a write to a
/// path containing the substring fails with ENOSPC, as on a full disk. Read once; when the
/// variable is unset this is one atomic load and a `None` check.
pub fn fail_write(path: &std::path::Path) -> std::io::Result<()> {
    static SPEC: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let spec = SPEC.get_or_init(|| {
        std::env::var("JIRA_AGILE_SYNC_FAIL_WRITE")
            .ok()
            .filter(|s| !s.is_empty())
    });
    match spec {
        Some(needle) if path.to_string_lossy().contains(needle.as_str()) => {
            Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
        }
        _ => Ok(()),
    }
}
