//! A bounded buffer of a session's most recent output, and reading output by absolute byte
//! offsets (a cursor), so a client can follow it without repeats or gaps.
//!
//! Offsets count every byte the session ever wrote, including those the buffer has since
//! dropped: the byte at offset `n` keeps that offset for the session's whole life.

use crate::model::session::LogChunk;
use std::{collections::VecDeque, sync::Mutex};

struct Kept {
    bytes: VecDeque<u8>,
    /// How many bytes were dropped from the front: the offset of `bytes[0]`.
    dropped: u64,
}

pub struct LogBuffer {
    max: usize,
    kept: Mutex<Kept>,
}

impl LogBuffer {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            kept: Mutex::new(Kept {
                bytes: VecDeque::with_capacity(max.min(4096)),
                dropped: 0,
            }),
        }
    }

    /// Appends output, dropping the oldest bytes beyond the limit.
    pub fn push(&self, data: &[u8]) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        let cut = data.len().saturating_sub(self.max);
        let data = &data[cut..];
        let overflow = (kept.bytes.len() + data.len()).saturating_sub(self.max);
        kept.bytes.drain(..overflow);
        kept.dropped += (overflow + cut) as u64;
        kept.bytes.extend(data);
    }

    /// The last `max` bytes as text (invalid UTF-8 replaced; a cut character at the start is
    /// dropped rather than shown broken).
    pub fn tail(&self, max: usize) -> String {
        self.read(None, max).text
    }

    /// Output after the offset `after` (or the newest, without one), at most `max` bytes:
    /// see [`chunk`].
    pub fn read(&self, after: Option<u64>, max: usize) -> LogChunk {
        let Ok(mut kept) = self.kept.lock() else {
            return LogChunk::default();
        };
        let dropped = kept.dropped;
        chunk(kept.bytes.make_contiguous(), dropped, after, max)
    }
}

/// Reads from `bytes`, whose first byte is at offset `base`: the bytes after `after` (at most
/// `max`), or with no `after` the newest `max`. Returns them as text with `next`, the offset to
/// ask for next time, and `skipped`, how many bytes after `after` are no longer there:
///
/// - an `after` that points at dropped bytes (older than `base`) starts at the oldest byte
///   kept, and `skipped` says how many were lost;
/// - an `after` beyond the end (output that is gone, such as a stopped session's) gives no text
///   and `next` = the end;
/// - text is cut only between characters: a character still incomplete at the end is left for
///   the next read (`next` points at its first byte), and continuation bytes at the start of a
///   read that began inside one are skipped. Invalid UTF-8 is shown as U+FFFD.
pub fn chunk(bytes: &[u8], base: u64, after: Option<u64>, max: usize) -> LogChunk {
    let end = base + bytes.len() as u64;
    let (mut start, skipped_before) = match after {
        None => (bytes.len().saturating_sub(max), 0),
        Some(a) if a < base => (0, base - a),
        Some(a) if a >= end => {
            return LogChunk {
                text: String::new(),
                next: end,
                skipped: 0,
            }
        }
        Some(a) => ((a - base) as usize, 0),
    };
    let mut stop = (start + max).min(bytes.len());
    // Do not start inside a character.
    let lead = bytes[start..stop]
        .iter()
        .position(|b| !is_continuation(*b))
        .unwrap_or(stop - start);
    let skipped_inside = if after.is_some() { lead as u64 } else { 0 };
    start += lead;
    // Do not end inside one: hold back a last character whose bytes are not all there yet.
    stop -= incomplete_tail(&bytes[start..stop]);
    LogChunk {
        text: String::from_utf8_lossy(&bytes[start..stop]).into_owned(),
        next: base + stop as u64,
        skipped: skipped_before + skipped_inside,
    }
}

fn is_continuation(b: u8) -> bool {
    (b as i8) < -0x40
}

/// How many bytes at the end of `bytes` begin a character they do not finish (0 to 3).
fn incomplete_tail(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let b = bytes[bytes.len() - back];
        if is_continuation(b) {
            continue;
        }
        let length = match b {
            0xF0.. => 4,
            0xE0.. => 3,
            0xC0.. => 2,
            _ => 1,
        };
        return if length > back { back } else { 0 };
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_newest_bytes() {
        let log = LogBuffer::new(10);
        log.push(b"hello ");
        log.push(b"world!");
        assert_eq!(log.tail(100), "llo world!");
        assert_eq!(log.tail(3), "ld!");
        // A single write larger than the buffer keeps its end.
        log.push(b"0123456789abcdef");
        assert_eq!(log.tail(100), "6789abcdef");
    }

    #[test]
    fn a_cut_character_is_dropped_not_garbled() {
        let log = LogBuffer::new(100);
        log.push("é!".as_bytes()); // é is two bytes
        assert_eq!(log.tail(2), "!");
        assert_eq!(log.tail(3), "é!");
    }

    #[test]
    fn offsets_are_absolute_over_the_whole_output() {
        let log = LogBuffer::new(10);
        log.push(b"hello ");
        let first = log.read(Some(0), 100);
        assert_eq!(
            (first.text.as_str(), first.next, first.skipped),
            ("hello ", 6, 0)
        );
        log.push(b"world!"); // drops "he"
        let second = log.read(Some(first.next), 100);
        assert_eq!(
            (second.text.as_str(), second.next, second.skipped),
            ("world!", 12, 0)
        );
        // Nothing new: same offset, no text.
        let idle = log.read(Some(second.next), 100);
        assert_eq!((idle.text.as_str(), idle.next), ("", 12));
        // The newest, without a cursor, says where it ends.
        assert_eq!(log.read(None, 3).next, 12);
    }

    #[test]
    fn following_in_small_reads_sees_everything_once() {
        let log = LogBuffer::new(1000);
        let mut seen = String::new();
        let mut next = 0;
        for i in 0..50 {
            log.push(format!("line {i} ünïcödé\n").as_bytes());
            loop {
                let c = log.read(Some(next), 7);
                assert_eq!(c.skipped, 0);
                if c.next == next {
                    break;
                }
                seen.push_str(&c.text);
                next = c.next;
            }
        }
        let expected: String = (0..50).map(|i| format!("line {i} ünïcödé\n")).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_cursor_on_dropped_bytes_starts_at_the_oldest_kept_and_says_how_many_are_lost() {
        let log = LogBuffer::new(4);
        log.push(b"abcdefgh"); // keeps efgh at offsets 4..8
        let c = log.read(Some(1), 100);
        assert_eq!((c.text.as_str(), c.next, c.skipped), ("efgh", 8, 3));
        // Beyond the end: nothing, and where the end is.
        let c = log.read(Some(99), 100);
        assert_eq!((c.text.as_str(), c.next, c.skipped), ("", 8, 0));
    }

    #[test]
    fn only_an_unfinished_last_character_is_held_back() {
        assert_eq!(incomplete_tail(b"abc"), 0);
        assert_eq!(incomplete_tail("é".as_bytes()), 0);
        assert_eq!(incomplete_tail(&"€".as_bytes()[..2]), 2);
        assert_eq!(incomplete_tail(&"😀".as_bytes()[..3]), 3);
        assert_eq!(incomplete_tail(&[b'a', 0xff, 0xC3]), 1);
        // Invalid bytes earlier on do not stop an unfinished end from being held back.
        let log = LogBuffer::new(100);
        log.push(&[0xff, b'a', 0xC3]);
        let c = log.read(Some(0), 100);
        assert_eq!((c.text.as_str(), c.next), ("\u{fffd}a", 2));
    }

    #[test]
    fn an_incomplete_character_waits_for_its_last_bytes() {
        let log = LogBuffer::new(100);
        let e = "é".as_bytes();
        log.push(&[b'a', e[0]]);
        let c = log.read(Some(0), 100);
        assert_eq!((c.text.as_str(), c.next), ("a", 1));
        log.push(&[e[1]]);
        let c = log.read(Some(c.next), 100);
        assert_eq!((c.text.as_str(), c.next), ("é", 3));
        // Dropped bytes that cut a character: its tail is skipped, not garbled.
        let log = LogBuffer::new(2);
        log.push("xé!".as_bytes()); // x, é (2 bytes), ! : keeps é's second byte and !
        let c = log.read(Some(0), 100);
        assert_eq!((c.text.as_str(), c.next, c.skipped), ("!", 4, 3));
    }
}
