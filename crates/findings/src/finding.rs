//! The [`Finding`] record.

use std::sync::Arc;

use firebreak_detect::Level;
use firebreak_events::CloudTrailEvent;
use serde::{Deserialize, Serialize};

/// What a finding says about the rule that raised it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleInfo {
    /// The rule's `id` (a UUID for Sigma rules).
    pub id: String,
    /// The rule's title.
    pub title: String,
    /// The rule's author(s), shown with every finding.
    pub author: String,
    /// The rule's level.
    #[serde(with = "level_text")]
    pub level: Level,
    /// The rule's description.
    pub description: String,
    /// The rule's tags (`attack.t1078`, ...).
    pub tags: Vec<String>,
    /// The file the rule was loaded from (`builtin:...` for the embedded pack).
    pub origin: String,
}

/// The fields of the matched event that a responder reads first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventSummary {
    /// `eventID`.
    pub event_id: Option<String>,
    /// `eventTime`, as logged.
    pub event_time: Option<String>,
    /// `eventTime` in Unix milliseconds, when it parses.
    pub event_time_ms: Option<i64>,
    /// `eventSource`.
    pub event_source: Option<String>,
    /// `eventName`.
    pub event_name: Option<String>,
    /// `userIdentity.arn`.
    pub principal_arn: Option<String>,
    /// `userIdentity.type`.
    pub principal_type: Option<String>,
    /// `userIdentity.accessKeyId`.
    pub access_key_id: Option<String>,
    /// `sourceIPAddress`, as logged (not always an IP).
    pub source_ip: Option<String>,
    /// `userAgent`.
    pub user_agent: Option<String>,
    /// `recipientAccountId`, else `userIdentity.accountId`.
    pub account_id: Option<String>,
    /// `awsRegion`.
    pub region: Option<String>,
    /// `errorCode`.
    pub error_code: Option<String>,
}

impl EventSummary {
    /// Reads the summary from a [`CloudTrailEvent`]'s head fields, without rescanning it.
    pub fn from_cloudtrail(event: &CloudTrailEvent<'_>) -> Self {
        let o = |v: Option<&str>| v.map(str::to_owned);
        EventSummary {
            event_id: o(event.event_id()),
            event_time: o(event.event_time()),
            event_time_ms: event.event_time_millis(),
            event_source: o(event.event_source()),
            event_name: o(event.event_name()),
            principal_arn: o(event.principal_arn()),
            principal_type: o(event.user_identity_type()),
            access_key_id: o(event.access_key_id()),
            source_ip: o(event.source_ip()),
            user_agent: o(event.user_agent()),
            account_id: o(event.recipient_account_id().or_else(|| event.account_id())),
            region: o(event.aws_region()),
            error_code: o(event.error_code()),
        }
    }
}

/// The window of a correlation finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrelationWindow {
    /// The group-by fields and their values.
    pub group: Vec<(String, String)>,
    /// How many events (or distinct values) the window holds.
    pub count: u64,
    /// First event of the window, Unix milliseconds.
    pub first_ms: i64,
    /// Last event of the window, Unix milliseconds.
    pub last_ms: i64,
    /// The `eventID`s of the events in the window.
    pub event_ids: Vec<String>,
}

/// Whether a finding is about one event or a window of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// One rule matched one event.
    Event,
    /// A correlation rule matched a window of events.
    Correlation,
}

/// One detection: a rule and the event (or window) it matched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Event or correlation.
    pub kind: FindingKind,
    /// The rule (shared by all its findings).
    pub rule: Arc<RuleInfo>,
    /// The matched event (for a correlation, the window's first event where known).
    pub event: EventSummary,
    /// For correlations, the window.
    pub correlation: Option<CorrelationWindow>,
    /// The input the event came from, and its record index there.
    pub input: Option<String>,
    /// Record index in `input`.
    pub record_index: Option<u64>,
    /// The whole event as JSON text, kept only when the output format needs it.
    pub raw_event: Option<String>,
}

impl Finding {
    /// The finding's time: the event's time, or the correlation window's end.
    pub fn time_ms(&self) -> Option<i64> {
        self.correlation.as_ref().map(|c| c.last_ms).or(self.event.event_time_ms)
    }

    /// A stable identifier: rule id and event id (or window), hashed into hex.
    pub fn stable_id(&self) -> String {
        stable_id_hex(&self.rule.id, self.event.event_id.as_deref(), self.correlation.as_ref()).as_str().to_string()
    }

    /// Sort key that makes output deterministic whatever the thread scheduling.
    pub fn sort_key(&self) -> (i64, &str, &str) {
        (
            self.time_ms().unwrap_or(i64::MIN),
            self.rule.id.as_str(),
            self.event.event_id.as_deref().unwrap_or(""),
        )
    }
}

/// Levels are written as their lowercase Sigma names.
mod level_text {
    use firebreak_detect::Level;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(level: &Level, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(level.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Level, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|_| serde::de::Error::custom(format!("unknown level '{text}'")))
    }
}

/// A finding's stable identifier: 16 lowercase hex digits, kept on the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StableId([u8; 16]);

impl StableId {
    /// The identifier as text.
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII hex digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl Serialize for StableId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Rule id and event id (or window) hashed with FNV-1a (64-bit, stable across runs and
/// platforms, unlike `DefaultHasher`) into hex: the same bytes `Hash` feeds for the
/// owned fields of a [`Finding`], so borrowed and owned findings get the same id.
pub(crate) fn stable_id_hex(rule_id: &str, event_id: Option<&str>, correlation: Option<&CorrelationWindow>) -> StableId {
    use std::hash::{Hash, Hasher};
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 ^= u64::from(*b);
                self.0 = self.0.wrapping_mul(0x100_0000_01b3);
            }
        }
    }
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    rule_id.hash(&mut h);
    event_id.hash(&mut h);
    if let Some(c) = correlation {
        c.first_ms.hash(&mut h);
        c.last_ms.hash(&mut h);
        c.group.hash(&mut h);
    }
    let value = h.finish();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 16];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = HEX[((value >> (60 - 4 * i)) & 0xf) as usize];
    }
    StableId(out)
}

/// The rule descriptions findings carry, one per rule of `rules` (same indices).
pub fn rule_infos(rules: &firebreak_detect::RuleSet) -> Vec<Arc<RuleInfo>> {
    rules
        .rules()
        .iter()
        .map(|m| {
            Arc::new(RuleInfo {
                id: m.id.clone(),
                title: m.title.clone(),
                author: m.author.clone().unwrap_or_else(|| "unknown".into()),
                level: m.level,
                description: m.description.clone().unwrap_or_default(),
                tags: m.tags.clone(),
                origin: m.origin.clone(),
            })
        })
        .collect()
}

/// The finding of one correlation window: its first event's time and id, and the
/// group-by values that name a principal, key, IP, account, region or call.
pub fn correlation_finding(info: &Arc<RuleInfo>, m: firebreak_detect::CorrelationMatch) -> Finding {
    let mut event = EventSummary { event_time_ms: Some(m.first_ms), ..Default::default() };
    event.event_time = jiff::Timestamp::from_millisecond(m.first_ms).ok().map(|t| t.to_string());
    event.event_id = m.event_ids.first().cloned();
    for (field, value) in &m.group {
        match field.as_str() {
            "userIdentity.arn" => event.principal_arn = Some(value.clone()),
            "userIdentity.accessKeyId" => event.access_key_id = Some(value.clone()),
            "sourceIPAddress" => event.source_ip = Some(value.clone()),
            "recipientAccountId" | "userIdentity.accountId" => event.account_id = Some(value.clone()),
            "awsRegion" => event.region = Some(value.clone()),
            "eventName" => event.event_name = Some(value.clone()),
            "eventSource" => event.event_source = Some(value.clone()),
            _ => {}
        }
    }
    Finding {
        kind: FindingKind::Correlation,
        rule: Arc::clone(info),
        event,
        correlation: Some(CorrelationWindow {
            group: m.group,
            count: m.count,
            first_ms: m.first_ms,
            last_ms: m.last_ms,
            event_ids: m.event_ids,
        }),
        input: None,
        record_index: None,
        raw_event: None,
    }
}
