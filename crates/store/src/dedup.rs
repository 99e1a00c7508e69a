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
    fn write_u128(&mut self, value: u128) {
        self.0 = value as u64;
    }
}

/// A map keyed by event keys.
pub type KeyMap<V> = HashMap<u128, V, BuildHasherDefault<KeyHasher>>;

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
    fn id_and_raw_keys_differ() {
        assert_eq!(event_key(Some("a"), b"x"), event_key(Some("a"), b"y"));
        assert_ne!(event_key(Some("a"), b""), event_key(None, b"a"));
        assert_ne!(event_key(Some("a"), b""), event_key(Some("b"), b""));
    }
}
