//! A bounded buffer of a session's most recent output.

use std::{collections::VecDeque, sync::Mutex};

pub struct LogBuffer {
    max: usize,
    bytes: Mutex<VecDeque<u8>>,
}

impl LogBuffer {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            bytes: Mutex::new(VecDeque::with_capacity(max.min(4096))),
        }
    }

    /// Appends output, dropping the oldest bytes beyond the limit.
    pub fn push(&self, data: &[u8]) {
        let Ok(mut bytes) = self.bytes.lock() else {
            return;
        };
        let data = &data[data.len().saturating_sub(self.max)..];
        let overflow = (bytes.len() + data.len()).saturating_sub(self.max);
        bytes.drain(..overflow);
        bytes.extend(data);
    }

    /// The last `max` bytes as text (invalid UTF-8 replaced; a cut character at the start is
    /// dropped rather than shown broken).
    pub fn tail(&self, max: usize) -> String {
        let Ok(bytes) = self.bytes.lock() else {
            return String::new();
        };
        let skip = bytes.len().saturating_sub(max);
        let tail: Vec<u8> = bytes.iter().skip(skip).copied().collect();
        let start = tail
            .iter()
            .position(|b| (*b as i8) >= -0x40)
            .unwrap_or(tail.len());
        String::from_utf8_lossy(&tail[start..]).into_owned()
    }
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
}
