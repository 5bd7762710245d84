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
