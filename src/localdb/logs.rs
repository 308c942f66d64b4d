//! Reading back what a server wrote to its logs, for error messages.

use std::fmt::Write as _;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use super::init::Layout;

/// What this start attempt wrote to the error log (and to stdout/stderr, where
/// early failures such as a bad option or a failing `setpriv` end up).
pub(super) fn startup_output(layout: &Layout, (log_offset, out_offset): (u64, u64)) -> String {
    let mut text = log_tail(&layout.error_log, log_offset);
    let out = log_tail(&layout.stdout_log, out_offset);
    if !out.starts_with('(') {
        let _ = write!(text, "\n--- {} ---\n{out}", layout.stdout_log.display());
    }
    text
}

/// The part of `path` written after `offset`, last 30 lines.
fn log_tail(path: &Path, offset: u64) -> String {
    let read = || -> io::Result<String> {
        let mut f = std::fs::File::open(path)?;
        let len = f.metadata()?.len();
        // At most the last 16 KiB of this run's output.
        let start = offset.max(len.saturating_sub(16 * 1024));
        f.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    };
    match read() {
        Ok(text) if text.trim().is_empty() => "(error log is empty)".to_string(),
        Ok(text) => last_lines(&text, 30),
        Err(e) => format!("(cannot read {}: {e})", path.display()),
    }
}

pub(super) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
