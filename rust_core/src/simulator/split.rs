//! The cutting of a response body into writes.
//!
//! `none` writes each SSE event (or a whole JSON body) at once. `bytes:N` cuts
//! the byte stream at every multiple of N bytes counted from the start of the
//! body. `adversarial` cuts where naive parsers break: inside every multi-byte
//! UTF-8 character, between every CR and LF, at pseudo-random points, and it
//! sometimes keeps the tail of one event back and sends it together with the
//! head of the next. The cuts come from a seeded generator, so one seed always
//! gives the same writes.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    None,
    Bytes(usize),
    Adversarial,
}

impl Split {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "none" => Ok(Split::None),
            "adversarial" => Ok(Split::Adversarial),
            other => {
                let size = other
                    .strip_prefix("bytes:")
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|n| *n > 0);
                size.map(Split::Bytes).ok_or_else(|| {
                    format!("expected none, adversarial or bytes:N with N >= 1, got {other:?}")
                })
            }
        }
    }
}

/// SplitMix64: a tiny generator whose output depends only on its seed.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True with probability 1/`n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.next_u64() % n == 0
    }
}

/// Cuts successive parts of one body into writes.
#[derive(Debug)]
pub struct Splitter {
    split: Split,
    /// Bytes of the body handed out so far, which places the `bytes:N` cuts.
    offset: usize,
    rng: SplitMix64,
    /// Tail of the previous event held back by the adversarial mode.
    held: Option<Bytes>,
}

impl Splitter {
    pub fn new(split: Split, seed: u64) -> Self {
        Self {
            split,
            offset: 0,
            rng: SplitMix64::new(seed),
            held: None,
        }
    }

    /// Cut `part` into writes and append them to `out`. In adversarial mode the last write
    /// may be held back until the next part or [`Splitter::flush`].
    pub fn push(&mut self, part: Bytes, out: &mut VecDeque<Bytes>) {
        let part = match self.held.take() {
            Some(held) => {
                let mut joined = BytesMut::with_capacity(held.len() + part.len());
                joined.extend_from_slice(&held);
                joined.extend_from_slice(&part);
                self.offset -= held.len();
                joined.freeze()
            }
            None => part,
        };
        let cuts = match self.split {
            Split::None => Vec::new(),
            Split::Bytes(size) => {
                let first = (size - self.offset % size) % size;
                (first..part.len())
                    .step_by(size)
                    .filter(|&p| p > 0)
                    .collect()
            }
            Split::Adversarial => self.adversarial_cuts(&part),
        };
        self.offset += part.len();

        let mut start = 0;
        for cut in cuts {
            out.push_back(part.slice(start..cut));
            start = cut;
        }
        let last = part.slice(start..);
        if self.split == Split::Adversarial && !last.is_empty() && self.rng.one_in(2) {
            self.offset -= last.len();
            self.held = Some(last);
        } else if !last.is_empty() {
            out.push_back(last);
        }
    }

    /// Release any held-back bytes.
    pub fn flush(&mut self, out: &mut VecDeque<Bytes>) {
        if let Some(held) = self.held.take() {
            self.offset += held.len();
            out.push_back(held);
        }
    }

    fn adversarial_cuts(&mut self, part: &[u8]) -> Vec<usize> {
        let mut cuts = Vec::new();
        let mut i = 0;
        while i < part.len() {
            let byte = part[i];
            let width = utf8_width(byte);
            if width > 1 && i + width <= part.len() {
                // Cut at a random point inside the character.
                let inner = 1 + (self.rng.next_u64() % (width as u64 - 1)) as usize;
                cuts.push(i + inner);
                i += width;
                continue;
            }
            if byte == b'\r' && part.get(i + 1) == Some(&b'\n') {
                cuts.push(i + 1);
            } else if i > 0 && self.rng.one_in(7) {
                cuts.push(i);
            }
            i += 1;
        }
        cuts.sort_unstable();
        cuts.dedup();
        cuts.retain(|&cut| cut > 0 && cut < part.len());
        cuts
    }
}

/// Return the length of the UTF-8 sequence that starts with `byte`, or 1 for any other byte.
fn utf8_width(byte: u8) -> usize {
    match byte {
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(split: Split, seed: u64, parts: &[&[u8]]) -> Vec<Bytes> {
        let mut splitter = Splitter::new(split, seed);
        let mut out = VecDeque::new();
        for part in parts {
            splitter.push(Bytes::copy_from_slice(part), &mut out);
        }
        splitter.flush(&mut out);
        out.into_iter().collect()
    }

    fn joined(writes: &[Bytes]) -> Vec<u8> {
        writes.iter().flat_map(|w| w.iter().copied()).collect()
    }

    #[test]
    fn parse_accepts_the_three_modes() {
        assert_eq!(Split::parse("none"), Ok(Split::None));
        assert_eq!(Split::parse("bytes:7"), Ok(Split::Bytes(7)));
        assert_eq!(Split::parse("adversarial"), Ok(Split::Adversarial));
        assert!(Split::parse("bytes:0").is_err());
        assert!(Split::parse("lines").is_err());
    }

    #[test]
    fn none_keeps_each_part_whole() {
        let writes = run(Split::None, 1, &[b"abc", b"defg"]);
        assert_eq!(writes, vec![Bytes::from("abc"), Bytes::from("defg")]);
    }

    #[test]
    fn bytes_cuts_at_global_offsets() {
        let writes = run(Split::Bytes(4), 1, &[b"abcdef", b"ghijk"]);
        let lengths: Vec<usize> = writes.iter().map(Bytes::len).collect();
        // Cuts at offsets 4, 8: "abcd" "ef" | "gh" "ijk".
        assert_eq!(lengths, vec![4, 2, 2, 3]);
        assert_eq!(joined(&writes), b"abcdefghijk");
    }

    #[test]
    fn adversarial_cuts_inside_characters_and_crlf() {
        let body = "data: é🙂\r\n\r\n".as_bytes();
        let writes = run(Split::Adversarial, 42, &[body]);
        assert_eq!(joined(&writes), body);
        let mut ends = Vec::new();
        let mut offset = 0;
        for write in &writes {
            offset += write.len();
            ends.push(offset);
        }
        // é starts at 6 (2 bytes), 🙂 at 8 (4 bytes), the CRs at 12 and 14.
        assert!(ends.contains(&7), "{ends:?}");
        let inside_emoji = ends.iter().any(|&e| e > 8 && e < 12);
        assert!(inside_emoji, "{ends:?}");
        assert!(ends.contains(&13), "{ends:?}");
        assert!(ends.contains(&15), "{ends:?}");
    }

    #[test]
    fn adversarial_is_deterministic_per_seed() {
        let parts: [&[u8]; 3] = [b"event: a\ndata: {}\n\n", b"data: xyz\n\n", b"data: 1\n\n"];
        assert_eq!(
            run(Split::Adversarial, 9, &parts),
            run(Split::Adversarial, 9, &parts)
        );
        assert_ne!(
            run(Split::Adversarial, 9, &parts),
            run(Split::Adversarial, 10, &parts)
        );
    }

    #[test]
    fn adversarial_reassembles_any_seed() {
        let parts: [&[u8]; 2] = ["data: ünïcödé ✓\r\n\r\n".as_bytes(), b"data: [DONE]\n\n"];
        for seed in 0..200 {
            let writes = run(Split::Adversarial, seed, &parts);
            assert_eq!(joined(&writes), parts.concat(), "seed {seed}");
            assert!(writes.iter().all(|w| !w.is_empty()), "seed {seed}");
        }
    }
}
