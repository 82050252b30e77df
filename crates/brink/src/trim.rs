//! Giving start-up code back to the kernel.
//!
//! An idle agent runs little code: the link's keep-alives, the Lease, node
//! status every 10 s. Start-up (join, TLS set-up, opening redb, the first
//! sync) runs much more, and the kernel's read-around brings in the code
//! next to it, so right after start most of what is resident of brink's
//! 40 MB executable is code that will not run again. Once the agent has
//! settled, [`release_startup_code`] asks the kernel to page out the clean,
//! file-backed pages of the executable (`MADV_PAGEOUT`); whatever runs later
//! faults back in from the file. This is what the kernel would do to these
//! pages under memory pressure anyway, done before the pressure comes: on a
//! small gateway it roughly halves the idle agent's resident memory.

use std::path::Path;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How long after start the agent is taken to have settled.
pub const SETTLE: Duration = Duration::from_secs(30);

/// After [`SETTLE`] (unless shut down first), releases the start-up code.
pub async fn release_startup_code(shutdown: CancellationToken) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(SETTLE) => match page_out_executable() {
            Ok(bytes) => tracing::debug!(bytes, "paged out start-up code"),
            Err(e) => tracing::debug!(error = %e, "cannot page out start-up code"),
        },
    }
}

/// Pages out the read-only mappings of the running executable; the bytes
/// they span.
fn page_out_executable() -> std::io::Result<usize> {
    let exe = std::fs::read_link("/proc/self/exe")?;
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let mut total = 0;
    for (start, len) in read_only_mappings(&maps, &exe) {
        page_out(start, len)?;
        total += len;
    }
    Ok(total)
}

/// `(start, length)` of the mappings of `path` that are not writable (code
/// and constants: clean pages that can be read again from the file).
fn read_only_mappings(maps: &str, path: &Path) -> Vec<(usize, usize)> {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let range = fields.next()?;
            let perms = fields.next()?;
            let name = fields.nth(3)?;
            if Path::new(name) != path || perms.contains('w') {
                return None;
            }
            let (a, b) = range.split_once('-')?;
            let a = usize::from_str_radix(a, 16).ok()?;
            let b = usize::from_str_radix(b, 16).ok()?;
            (b > a).then_some((a, b - a))
        })
        .collect()
}

#[allow(unsafe_code)]
fn page_out(start: usize, len: usize) -> std::io::Result<()> {
    // SAFETY: the range is a read-only, file-backed mapping of our own
    // executable, mapped for the life of the process (from /proc/self/maps).
    // MADV_PAGEOUT only drops its clean pages from memory; their contents
    // are unchanged and are read again from the file on the next access.
    unsafe {
        rustix::mm::madvise(
            start as *mut std::ffi::c_void,
            len,
            rustix::mm::Advice::LinuxPageOut,
        )
    }
    .map_err(std::io::Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_executables_read_only_mappings_are_chosen() {
        let maps = "\
55e67fa2f000-55e680606000 r--p 00000000 fd:01 123 /usr/bin/brink
55e680607000-55e682bcf000 r-xp 00bd7000 fd:01 123 /usr/bin/brink
55e682d40000-55e682d4d000 rw-p 03311000 fd:01 123 /usr/bin/brink
7f0000000000-7f0000001000 r-xp 00000000 fd:01 456 /usr/lib/libc.so.6
7f0000002000-7f0000003000 rw-p 00000000 00:00 0
7ffd00000000-7ffd00001000 rw-p 00000000 00:00 0 [stack]
";
        let got = read_only_mappings(maps, Path::new("/usr/bin/brink"));
        assert_eq!(
            got,
            vec![
                (0x55e67fa2f000, 0x55e680606000 - 0x55e67fa2f000),
                (0x55e680607000, 0x55e682bcf000 - 0x55e680607000),
            ]
        );
    }

    /// Resident KiB of this process's executable.
    fn resident_code_kib() -> u64 {
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut ours = false;
        let mut kib = 0;
        for line in smaps.lines() {
            if line.contains('-') && line.split_whitespace().count() >= 5 {
                ours = line.split_whitespace().nth(5).map(Path::new) == Some(exe.as_path());
            } else if ours && let Some(v) = line.strip_prefix("Rss:") {
                kib += v.trim().trim_end_matches(" kB").parse::<u64>().unwrap();
            }
        }
        kib
    }

    #[test]
    fn paging_out_our_own_code_frees_it_and_keeps_running() {
        let before = resident_code_kib();
        let bytes = page_out_executable().unwrap();
        let after = resident_code_kib();
        assert!(bytes > 0);
        assert!(
            after < before,
            "{before} KiB resident before, {after} after"
        );
        // (still running here: the code came back from the file)
        assert_eq!(read_only_mappings("", Path::new("/x")), Vec::new());
    }
}
