//! Prefixed, time-sortable identifiers such as `req_01jfq3…`.
//!
//! The part after the prefix is a ULID in lowercase Crockford base32: 48 bits
//! of Unix milliseconds then 80 random bits, 26 characters. Ids of one prefix
//! therefore sort by creation time, to the millisecond.

use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngCore;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Encode `millis` and 80 random bits as a 26-character ULID.
pub fn ulid_at(millis: u64, random: [u8; 10]) -> String {
    let mut value: u128 = u128::from(millis & 0xFFFF_FFFF_FFFF) << 80;
    for (i, byte) in random.iter().enumerate() {
        value |= u128::from(*byte) << (72 - 8 * i);
    }
    let mut out = [0u8; 26];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(value & 0x1F) as usize];
        value >>= 5;
    }
    out.iter().map(|&b| b as char).collect()
}

/// Milliseconds since the Unix epoch by the system clock.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A new id such as `req_01jfq3…` for `prefix = "req"`.
pub fn new_id(prefix: &str) -> String {
    let mut random = [0u8; 10];
    rand::thread_rng().fill_bytes(&mut random);
    format!("{prefix}_{}", ulid_at(now_millis(), random))
}

/// The creation time in milliseconds encoded in an id made by [`new_id`].
pub fn id_millis(id: &str) -> Option<u64> {
    let ulid = id.rsplit_once('_').map_or(id, |(_, tail)| tail);
    if ulid.len() != 26 {
        return None;
    }
    let mut value: u64 = 0;
    for byte in ulid.bytes().take(10) {
        let digit = ALPHABET.iter().position(|&a| a == byte)? as u64;
        value = (value << 5) | digit;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time() {
        let a = format!("req_{}", ulid_at(1_000, [255; 10]));
        let b = format!("req_{}", ulid_at(1_001, [0; 10]));
        assert!(a < b);
    }

    #[test]
    fn time_round_trips() {
        let id = format!("eu_{}", ulid_at(1_733_000_000_123, [7; 10]));
        assert_eq!(id_millis(&id), Some(1_733_000_000_123));
    }

    #[test]
    fn new_id_has_prefix_and_length() {
        let id = new_id("req");
        assert!(id.starts_with("req_"));
        assert_eq!(id.len(), 4 + 26);
        assert_ne!(new_id("req"), new_id("req"));
    }
}
