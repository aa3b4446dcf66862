//! Following a session's output: read the log from a cursor (`after`, the `next` of the
//! previous read), so each byte is printed once, until the session has ended and its last
//! output is read; Ctrl-C stops following and leaves the session running.

use super::{error::ClientError, http::Api, output::Format};
use crate::model::session::{LogChunk, SessionInfo};
use std::{io::Write, process::ExitCode, time::Duration};

/// How often a quiet session's log is read again.
const POLL: Duration = Duration::from_millis(400);
/// How often a quiet session's status is read (listing refreshes every session's status, a
/// backend call each on Kubernetes, so less often than the log).
const STATUS_EVERY: Duration = Duration::from_secs(2);

pub async fn read(api: &Api, id: &str, after: u64) -> Result<LogChunk, ClientError> {
    let after = after.to_string();
    let (chunk, _) = api
        .call_as::<LogChunk>("sessions/logs", &[("id", id), ("after", &after)])
        .await?;
    Ok(chunk)
}

/// Everything kept from `after` on, in as many reads as it takes (each returns at most
/// 16 KiB), as one chunk.
pub async fn read_all(api: &Api, id: &str, after: u64) -> Result<LogChunk, ClientError> {
    let mut all = LogChunk {
        next: after,
        ..Default::default()
    };
    loop {
        let chunk = read(api, id, all.next).await?;
        all.next = chunk.next;
        all.skipped += chunk.skipped;
        if chunk.text.is_empty() {
            return Ok(all);
        }
        all.text.push_str(&chunk.text);
    }
}

/// The session as listed (`None` when the list no longer holds it).
pub async fn session(api: &Api, id: &str) -> Result<Option<SessionInfo>, ClientError> {
    let (list, _) = api
        .call_as::<Vec<SessionInfo>>("sessions/list", &[])
        .await?;
    Ok(list.into_iter().find(|s| s.id == id))
}

fn emit(chunk: &LogChunk, format: Format) {
    if chunk.skipped > 0 && format == Format::Table {
        // Said on standard error, so standard output stays the session's own bytes.
        eprintln!(
            "\nlockbox: {} bytes of output were dropped before they could be read (the server \
             keeps only the most recent output)",
            chunk.skipped
        );
    }
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is the reader's choice, not an error worth a panic.
    let _ = match format {
        Format::Table => out.write_all(chunk.text.as_bytes()),
        // JSON Lines: one object per read, so a script can resume from `next`.
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string(chunk).expect("plain data serialises")
        ),
    };
    let _ = out.flush();
}

/// Prints the output from `after` on until the session ends; returns how it ended.
async fn until_end(
    api: &Api,
    id: &str,
    mut after: u64,
    format: Format,
) -> Result<Option<SessionInfo>, ClientError> {
    let mut last_status = tokio::time::Instant::now();
    loop {
        let chunk = read(api, id, after).await?;
        after = chunk.next;
        if !chunk.text.is_empty() || chunk.skipped > 0 {
            emit(&chunk, format);
            continue;
        }
        if last_status.elapsed() >= STATUS_EVERY {
            last_status = tokio::time::Instant::now();
            let info = session(api, id).await?;
            if !info.as_ref().is_some_and(|s| s.status.is_live()) {
                // It has ended: what it printed last is in the log now; read to the end.
                loop {
                    let chunk = read(api, id, after).await?;
                    after = chunk.next;
                    if chunk.text.is_empty() {
                        return Ok(info);
                    }
                    emit(&chunk, format);
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Follows the session's output from `after`; Ctrl-C ends following (exit 130) and says how
/// to stop the session, which keeps running.
pub async fn follow(
    api: &Api,
    id: &str,
    after: u64,
    format: Format,
) -> Result<ExitCode, ClientError> {
    // Registered before any output is printed: `ctrl_c()` would register only when first
    // polled, and a Ctrl-C in between would kill the client instead.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(|e| ClientError::usage(format!("cannot watch for Ctrl-C: {e}")))?;
    tokio::select! {
        ended = until_end(api, id, after, format) => {
            match ended? {
                Some(s) => {
                    let detail = s.status_detail.map(|d| format!(" ({d})")).unwrap_or_default();
                    eprintln!("lockbox: session {id} ended: {}{detail}", s.status.as_str());
                }
                None => eprintln!("lockbox: session {id} is no longer listed"),
            }
            Ok(ExitCode::SUCCESS)
        }
        _ = interrupt.recv() => {
            eprintln!(
                "\nlockbox: stopped following; session {id} is still running. Stop it with: \
                 lockbox sessions stop {id}"
            );
            Ok(ExitCode::from(130))
        }
    }
}
