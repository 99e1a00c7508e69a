//! Event identity for de-duplication: a 128-bit hash of the `eventID`, or of the whole
//! record's bytes when it has none.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

use arrow::array::{Array, AsArray};

use crate::error::{Result, StoreError};
use crate::parts;
use crate::schema::col;

/// Seeds that keep the two kinds of keys apart.
const ID_SEED: u64 = 0x6576_656e_7449_4400;
const RAW_SEED: u64 = 0x7261_7762_7974_6573;

/// The de-duplication key of an event.
pub fn event_key(event_id: Option<&str>, raw: &[u8]) -> u128 {
    match event_id {
        Some(id) => xxhash_rust::xxh3::xxh3_128_with_seed(id.as_bytes(), ID_SEED),
        None => xxhash_rust::xxh3::xxh3_128_with_seed(raw, RAW_SEED),
    }
}

/// A hasher for keys that already are uniform hashes: it keeps their low 64 bits.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
}

/// An event key stored as two 64-bit halves: a map entry with one-byte state then takes
/// 24 bytes instead of the 32 a 16-byte-aligned `u128` needs (a case of millions of events
/// keeps every key in memory while ingesting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PackedKey(u64, u64);

impl std::hash::Hash for PackedKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The key is already a uniform hash: its low half is the hash.
        state.write_u64(self.0);
    }
}

impl From<u128> for PackedKey {
    fn from(key: u128) -> Self {
        PackedKey(key as u64, (key >> 64) as u64)
    }
}

/// A map from event keys to a small value.
#[derive(Debug, Clone)]
pub struct KeyMap<V> {
    map: HashMap<PackedKey, V, BuildHasherDefault<KeyHasher>>,
}

impl<V> KeyMap<V> {
    /// An empty map with room for `capacity` keys.
    pub fn with_capacity(capacity: usize) -> Self {
        KeyMap {
            map: HashMap::with_capacity_and_hasher(capacity, Default::default()),
        }
    }

    /// The value of `key`, for changing it.
    pub fn get_mut(&mut self, key: &u128) -> Option<&mut V> {
        self.map.get_mut(&PackedKey::from(*key))
    }

    /// Sets the value of `key`; returns the previous one.
    pub fn insert(&mut self, key: u128, value: V) -> Option<V> {
        self.map.insert(PackedKey::from(key), value)
    }

    /// How many keys it holds.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether it holds no key.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Appends the keys of every event stored in a part file to `out`: the `eventid`
/// column alone, plus the `raw` column only for files that have rows without one.
pub fn keys_of_part(path: &Path, out: &mut Vec<u128>) -> Result<()> {
    let batches = parts::read_columns(path, &[col::EVENT_ID])?;
    let text_column = |batch: &arrow::array::RecordBatch, i: usize| {
        batch
            .column(i)
            .as_string_opt::<i32>()
            .cloned()
            .ok_or_else(|| StoreError::BadPart {
                path: path.to_path_buf(),
                message: "eventid/raw columns are not text".into(),
            })
    };
    let mut missing = false;
    for batch in &batches {
        let ids = text_column(batch, 0)?;
        for i in 0..ids.len() {
            if ids.is_null(i) {
                missing = true;
            } else {
                out.push(event_key(Some(ids.value(i)), b""));
            }
        }
    }
    if missing {
        for batch in parts::read_columns(path, &[col::EVENT_ID, col::RAW])? {
            let ids = text_column(&batch, 0)?;
            let raws = text_column(&batch, 1)?;
            for i in 0..ids.len() {
                if ids.is_null(i) && !raws.is_null(i) {
                    out.push(event_key(None, raws.value(i).as_bytes()));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_map_entries_are_small_and_keep_both_halves() {
        assert_eq!(std::mem::size_of::<(PackedKey, u8)>(), 24);
        let mut map = KeyMap::with_capacity(2);
        let a = event_key(Some("a"), b"");
        // Same low half, other high half: two keys.
        let b = a ^ (1u128 << 100);
        assert_eq!(map.insert(a, 1u8), None);
        assert_eq!(map.insert(b, 2u8), None);
        assert_eq!(map.len(), 2);
        assert_eq!(map.get_mut(&a).copied(), Some(1));
        assert_eq!(map.get_mut(&b).copied(), Some(2));
        assert_eq!(map.get_mut(&(a ^ 1)), None);
    }

    #[test]
    fn id_and_raw_keys_differ() {
        assert_eq!(event_key(Some("a"), b"x"), event_key(Some("a"), b"y"));
        assert_ne!(event_key(Some("a"), b""), event_key(None, b"a"));
        assert_ne!(event_key(Some("a"), b""), event_key(Some("b"), b""));
    }
}
