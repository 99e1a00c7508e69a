//! Deterministic identifiers (UUIDs, access keys, account ids) and time formatting.
//!
//! Everything here draws from a caller-provided [`SimRng`], so the same seed always
//! gives the same identifiers.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The random generator used everywhere in the simulator.
pub(crate) type SimRng = ChaCha8Rng;

/// Characters AWS uses in access key ids and unique ids (base32 alphabet).
const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Characters of the random suffix of CloudTrail S3 object names.
const ALNUM_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX_LOWER: &[u8] = b"0123456789abcdef";

/// Mixes a master seed with a list of labels into an independent sub-seed
/// (SplitMix64 finaliser over each component), so generation units can be seeded
/// independently and processed in any order or in parallel.
pub(crate) fn derive_seed(master: u64, parts: &[u64]) -> u64 {
    let mut state = master ^ 0x9E37_79B9_7F4A_7C15;
    for &part in parts {
        state = splitmix(state ^ splitmix(part.wrapping_add(0x632B_E59B_D9B4_E019)));
    }
    state
}

/// Hashes a label into a `u64` (FNV-1a), for use as a seed component.
pub(crate) fn label(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
    }
    hash
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A generator seeded from the master seed and labels.
pub(crate) fn rng_for(master: u64, parts: &[u64]) -> SimRng {
    SimRng::seed_from_u64(derive_seed(master, parts))
}

/// A random version-4 UUID in its canonical lower-case form.
pub(crate) fn uuid(rng: &mut SimRng) -> String {
    let mut bytes: [u8; 16] = rng.random();
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX_LOWER[usize::from(byte >> 4)] as char);
        out.push(HEX_LOWER[usize::from(byte & 0x0f)] as char);
    }
    out
}

/// `count` random characters from `alphabet`.
fn random_from(rng: &mut SimRng, alphabet: &[u8], count: usize) -> String {
    (0..count)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// `count` random upper-case letters and digits 2-7 (the AWS unique-id alphabet).
pub(crate) fn key_chars(rng: &mut SimRng, count: usize) -> String {
    random_from(rng, KEY_ALPHABET, count)
}

/// `count` random letters and digits, as in S3 delivery object names.
pub(crate) fn alnum(rng: &mut SimRng, count: usize) -> String {
    random_from(rng, ALNUM_ALPHABET, count)
}

/// `count` random lower-case hex digits.
pub(crate) fn hex(rng: &mut SimRng, count: usize) -> String {
    random_from(rng, HEX_LOWER, count)
}

/// `count` random upper-case hex digits (S3 request ids look like this).
pub(crate) fn hex_upper(rng: &mut SimRng, count: usize) -> String {
    random_from(rng, b"0123456789ABCDEF", count)
}

/// A long-term access key id (`AKIA` + 16).
pub(crate) fn long_term_key(rng: &mut SimRng) -> String {
    format!("AKIA{}", key_chars(rng, 16))
}

/// A temporary access key id (`ASIA` + 16).
pub(crate) fn temporary_key(rng: &mut SimRng) -> String {
    format!("ASIA{}", key_chars(rng, 16))
}

/// A 12-digit AWS account id that does not start with 0.
pub(crate) fn account_id(rng: &mut SimRng) -> String {
    let first = rng.random_range(1..10u8);
    let rest: u64 = rng.random_range(0..100_000_000_000u64);
    format!("{first}{rest:011}")
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
/// (Howard Hinnant's `civil_from_days`.)
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let year = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if month <= 2 { year + 1 } else { year }, month, day)
}

/// Broken-down UTC time of a Unix timestamp in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Civil {
    /// Splits a Unix timestamp (seconds) into UTC calendar fields.
    pub fn from_unix(seconds: i64) -> Civil {
        let days = seconds.div_euclid(86_400);
        let rem = seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: ((rem % 3600) / 60) as u32,
            second: (rem % 60) as u32,
        }
    }

    /// Day of the week, 0 = Monday .. 6 = Sunday.
    pub fn weekday_of(seconds: i64) -> u32 {
        // 1970-01-01 was a Thursday (3 when Monday is 0).
        ((seconds.div_euclid(86_400) + 3).rem_euclid(7)) as u32
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the CloudTrail `eventTime` format.
pub(crate) fn event_time(seconds: i64) -> String {
    let c = Civil::from_unix(seconds);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `Oct 1, 2026, 1:33:28 PM` style dates that IAM and STS put in response elements.
pub(crate) fn response_date(seconds: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let c = Civil::from_unix(seconds);
    let (hour12, meridiem) = match c.hour {
        0 => (12, "AM"),
        1..=11 => (c.hour, "AM"),
        12 => (12, "PM"),
        _ => (c.hour - 12, "PM"),
    };
    format!(
        "{} {}, {} {}:{:02}:{:02} {}",
        MONTHS[(c.month as usize).saturating_sub(1) % 12],
        c.day,
        c.year,
        hour12,
        c.minute,
        c.second,
        meridiem
    )
}

/// `YYYYMMDDTHHMMZ`, the timestamp in S3 delivery object names.
pub(crate) fn object_time(seconds: i64) -> String {
    let c = Civil::from_unix(seconds);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        // 2026-10-01T00:00:00Z
        let t = 1_790_812_800;
        assert_eq!(event_time(t), "2026-10-01T00:00:00Z");
        assert_eq!(event_time(t + 86_400 * 31 + 3661), "2026-11-01T01:01:01Z");
        assert_eq!(object_time(t + 300), "20261001T0005Z");
        assert_eq!(response_date(t + 13 * 3600 + 5), "Oct 1, 2026 1:00:05 PM");
        assert_eq!(event_time(951_782_400), "2000-02-29T00:00:00Z");
        // 2026-10-01 is a Thursday.
        assert_eq!(Civil::weekday_of(t), 3);
    }

    #[test]
    fn identifiers_have_aws_shapes() {
        let mut rng = rng_for(7, &[1]);
        let id = uuid(&mut rng);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        let key = long_term_key(&mut rng);
        assert!(key.starts_with("AKIA") && key.len() == 20);
        let account = account_id(&mut rng);
        assert_eq!(account.len(), 12);
        assert!(!account.starts_with('0'));
        assert_ne!(derive_seed(1, &[2, 3]), derive_seed(1, &[3, 2]));
    }
}
