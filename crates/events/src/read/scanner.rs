//! A streaming JSON structure scanner over any [`Read`].
//!
//! It keeps one window of the input in a reusable buffer: everything before `mark`
//! (the start of the value being scanned) may be dropped when more input is read, so
//! memory stays at one chunk plus the largest record, however long the input.
//! The grammar itself is checked by [`crate::json`] on the buffered bytes; when a
//! value runs past the end of the buffer, more is read and the value is scanned again
//! from its start (buffers grow by doubling, so this costs little).

use std::io::{self, Read};

use crate::head::{self, HeadCollector, HeadSpans};
use crate::json::{self, MemberAction, ObjectScan, ScanOptions, Stop};

/// Bytes asked from the source per read once the input proves large.
pub(crate) const CHUNK: usize = 256 * 1024;
/// The buffer's first size: small inputs (most S3 objects, fuzzing) stay small.
const FIRST_CHUNK: usize = 16 * 1024;
/// The largest single record (or top-level value being classified) accepted.
pub(crate) const MAX_VALUE: usize = 64 * 1024 * 1024;
pub(crate) use crate::json::MAX_DEPTH;

/// What stopped a scan.
#[derive(Debug)]
pub(crate) enum ScanError {
    /// The input ended inside a value (the source's own error, if any, is kept
    /// in [`Scanner::take_io_error`]).
    Eof,
    /// A grammar error at the given absolute offset.
    Syntax { offset: u64, message: String },
    /// The value being scanned is larger than [`MAX_VALUE`].
    TooLarge,
    /// The value is nested deeper than [`MAX_DEPTH`].
    TooDeep { offset: u64 },
}

/// Spans of interesting top-level keys' values in an object just scanned,
/// relative to the scanner's `mark`.
#[derive(Debug, Default, Clone)]
pub(crate) struct ObjectSummary {
    /// Number of keys.
    pub keys: u32,
    /// Number of keys that name CloudTrail record fields.
    pub cloudtrail_keys: u32,
    /// The first few keys (raw, without quotes), for messages: `first_keys[..first_key_count]`.
    pub first_keys: [(usize, usize); 4],
    /// How many of `first_keys` are set.
    pub first_key_count: usize,
    /// `detail-type` value (EventBridge).
    pub detail_type: Option<(usize, usize)>,
    /// `detail` value (EventBridge).
    pub detail: Option<(usize, usize)>,
    /// `CloudTrailEvent` value (`lookup-events`).
    pub cloudtrail_event: Option<(usize, usize)>,
    /// `Type` value (SNS).
    pub sns_type: Option<(usize, usize)>,
    /// `Message` value (SNS).
    pub message: Option<(usize, usize)>,
    /// `s3ObjectKey` value (CloudTrail S3 notification).
    pub s3_object_key: Option<(usize, usize)>,
}

/// The arrays that hold records inside a top-level object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContainerKey {
    /// `Records` (S3 delivery).
    Records,
    /// `Events` (`lookup-events`).
    Events,
    /// `QueryResultRows` (CloudTrail Lake).
    QueryResultRows,
}

/// How scanning a top-level object ended.
// The summary is built once per object and moved once: boxing it would cost an
// allocation per record instead.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum ObjectEnd {
    /// The whole object was scanned; `pos` is just past its `}`.
    Complete(ObjectSummary),
    /// A record container key was found; `pos` is on the `[` of its array.
    Container(ContainerKey),
}

/// The scanner. Positions (`pos`, `mark`, spans) index `buf`; `base` is the absolute
/// offset of `buf[0]` in the decoded input.
pub(crate) struct Scanner<R> {
    src: R,
    buf: Vec<u8>,
    end: usize,
    /// Next byte to look at.
    pub pos: usize,
    /// First byte that must stay in the buffer.
    pub mark: usize,
    base: u64,
    eof: bool,
    io_error: Option<io::Error>,
    /// Reads done so far (the buffer grows to [`CHUNK`] after a few).
    fills: u32,
    /// Line breaks in the input before `buf[0]` (for line numbers in errors).
    lines_before_base: u64,
    /// When set, a line break between the tokens of a value is an error (JSON lines).
    pub newline_is_error: bool,
}

impl<R: Read> Scanner<R> {
    pub fn new(src: R) -> Self {
        Scanner {
            src,
            buf: Vec::new(),
            end: 0,
            pos: 0,
            mark: 0,
            base: 0,
            eof: false,
            io_error: None,
            fills: 0,
            lines_before_base: 0,
            newline_is_error: false,
        }
    }

    /// A scanner over input already decoded whole into memory: `bytes` becomes the
    /// buffer records are sliced from (no copy, no zeroing) and `src` is never read.
    pub fn from_bytes(src: R, bytes: Vec<u8>) -> Self {
        let end = bytes.len();
        Scanner {
            buf: bytes,
            end,
            eof: true,
            ..Scanner::new(src)
        }
    }

    /// Gives the buffer back (to reuse its allocation).
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// The bytes `buf[start..end]`.
    pub fn slice(&self, start: usize, end: usize) -> &[u8] {
        &self.buf[start..end]
    }

    /// Absolute offset in the decoded input of buffer position `at`.
    pub fn offset_of(&self, at: usize) -> u64 {
        self.base + at as u64
    }

    /// The 1-based line of the decoded input at absolute `offset`, when that part of
    /// the input is still buffered.
    pub fn line_at(&self, offset: u64) -> Option<u64> {
        let at = usize::try_from(offset.checked_sub(self.base)?).ok()?;
        let before = self.buf.get(..at.min(self.end))?;
        Some(self.lines_before_base + memchr::memchr_iter(b'\n', before).count() as u64 + 1)
    }

    /// Decoded bytes read from the source so far.
    pub fn bytes_decoded(&self) -> u64 {
        self.base + self.end as u64
    }

    /// The buffer's allocated size (for memory checks).
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// End of the valid bytes in the buffer.
    pub fn end(&self) -> usize {
        self.end
    }

    /// The error that ended the source early, if any (taken once).
    pub fn take_io_error(&mut self) -> Option<io::Error> {
        self.io_error.take()
    }

    /// Reads more input, first dropping everything before `mark`.
    /// Returns `Ok(false)` at the end of the input (or after a source error).
    fn fill(&mut self) -> Result<bool, ScanError> {
        if self.eof {
            return Ok(false);
        }
        if self.mark > 0 {
            self.lines_before_base +=
                memchr::memchr_iter(b'\n', &self.buf[..self.mark]).count() as u64;
            self.buf.copy_within(self.mark..self.end, 0);
            self.end -= self.mark;
            self.pos -= self.mark;
            self.base += self.mark as u64;
            self.mark = 0;
        }
        self.fills = self.fills.saturating_add(1);
        if self.end == self.buf.len() {
            if self.end >= MAX_VALUE {
                return Err(ScanError::TooLarge);
            }
            let grown = (self.buf.len() * 2).max(FIRST_CHUNK);
            self.buf.resize(grown, 0);
        } else if self.fills == 4 && self.buf.len() < CHUNK {
            self.buf.resize(CHUNK, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.eof = true;
                    self.io_error = Some(e);
                    return Ok(false);
                }
            }
        }
    }

    /// Reads and discards the rest of the input (to find out whether a damaged
    /// compressed stream also fails its own checks).
    pub fn drain(&mut self) {
        loop {
            self.pos = self.end;
            self.mark = self.end;
            if !matches!(self.fill(), Ok(true)) {
                return;
            }
        }
    }

    /// Runs a slice scan from `pos`, reading more input and scanning again while the
    /// value runs past the buffered bytes. `scan` gets the buffer, `pos` and `mark`.
    fn run<T>(
        &mut self,
        mut scan: impl FnMut(&[u8], usize, usize, ScanOptions) -> Result<T, Stop>,
    ) -> Result<T, ScanError> {
        loop {
            let opts = ScanOptions {
                at_eof: self.eof,
                newline_is_error: self.newline_is_error,
            };
            match scan(&self.buf[..self.end], self.pos, self.mark, opts) {
                Ok(t) => return Ok(t),
                Err(Stop::NeedMore) => {
                    if opts.at_eof {
                        return Err(ScanError::Eof);
                    }
                    // Read at least as much again as this value has so far before
                    // scanning it again, so a huge value costs O(size) rescans in total.
                    let target = 2 * (self.end - self.pos) + 1;
                    while self.fill()? && self.end - self.pos < target {}
                }
                Err(Stop::Syntax { at, message }) => {
                    return Err(ScanError::Syntax {
                        offset: self.offset_of(at),
                        message,
                    });
                }
                Err(Stop::TooDeep { at }) => {
                    return Err(ScanError::TooDeep {
                        offset: self.offset_of(at),
                    })
                }
            }
        }
    }

    /// Skips whitespace between values (moving `mark` along when `move_mark`), skips a
    /// UTF-8 byte-order mark at the very start, and returns the next byte without
    /// consuming it; `None` at the end of the input.
    pub fn peek_between(&mut self, move_mark: bool) -> Result<Option<u8>, ScanError> {
        loop {
            while self.pos < self.end {
                let b = self.buf[self.pos];
                if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                    if b == 0xEF && self.offset_of(self.pos) == 0 {
                        while self.end - self.pos < 3 && self.fill()? {}
                        if self.buf.get(self.pos..self.pos + 3) == Some(&[0xEF, 0xBB, 0xBF][..]) {
                            self.pos += 3;
                            continue;
                        }
                    }
                    if move_mark {
                        self.mark = self.pos;
                    }
                    return Ok(Some(b));
                }
                self.pos += 1;
            }
            if move_mark {
                self.mark = self.pos;
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// Up to `n` bytes from `pos` (fewer at the end of the input), for messages.
    pub fn lookahead(&mut self, n: usize) -> &[u8] {
        while self.end - self.pos < n && matches!(self.fill(), Ok(true)) {}
        &self.buf[self.pos..self.end.min(self.pos + n)]
    }

    /// Skips one complete JSON value starting at `pos`.
    pub fn skip_value(&mut self) -> Result<(), ScanError> {
        let end = self.run(|buf, pos, _, opts| json::skip_value(buf, pos, opts))?;
        self.pos = end;
        Ok(())
    }

    /// The first byte of the value at `pos` (after whitespace), moving `pos` onto it.
    pub fn peek_value(&mut self) -> Result<u8, ScanError> {
        let at = self.run(|buf, pos, _, opts| {
            let mut i = pos;
            loop {
                match buf.get(i) {
                    Some(b' ' | b'\t' | b'\r') => i += 1,
                    Some(b'\n') if !opts.newline_is_error => i += 1,
                    Some(_) => return Ok(i),
                    None => return Err(Stop::NeedMore),
                }
            }
        })?;
        self.pos = at;
        Ok(self.buf[at])
    }

    /// Scans an object whose `{` is at `pos`, noting its interesting keys (spans
    /// relative to `mark`) and, should it be a record, where its head values are
    /// (into `head`). With `find_container`, stops on the first `Records` /
    /// `Events` / `QueryResultRows` key whose value is an array.
    pub fn scan_object(
        &mut self,
        find_container: bool,
        head: &mut HeadSpans,
    ) -> Result<ObjectEnd, ScanError> {
        let mut summary = ObjectSummary::default();
        let mut container = None;
        let result = self.run(|buf, pos, mark, opts| {
            summary = ObjectSummary::default();
            container = None;
            let mut collector = HeadCollector::new(pos, opts, head);
            let note = |summary: &mut ObjectSummary,
                        key: &[u8],
                        key_span: (usize, usize),
                        (start, end): (usize, usize)| {
                summary.keys += 1;
                if summary.first_key_count < summary.first_keys.len() {
                    summary.first_keys[summary.first_key_count] =
                        (key_span.0 - mark, key_span.1 - mark);
                    summary.first_key_count += 1;
                }
                let value = Some((start - mark, end - mark));
                match key {
                    b"eventVersion"
                    | b"eventTime"
                    | b"eventName"
                    | b"eventSource"
                    | b"eventID"
                    | b"userIdentity"
                    | b"awsRegion"
                    | b"eventType"
                    | b"eventCategory"
                    | b"recipientAccountId"
                    | b"sourceIPAddress"
                    | b"requestParameters" => summary.cloudtrail_keys += 1,
                    b"detail-type" => summary.detail_type = value,
                    b"detail" => summary.detail = value,
                    b"CloudTrailEvent" => summary.cloudtrail_event = value,
                    b"Type" => summary.sns_type = value,
                    b"Message" => summary.message = value,
                    b"s3ObjectKey" => summary.s3_object_key = value,
                    _ => {}
                }
            };
            let scanned = json::scan_object(buf, pos, opts, |member, span| {
                // Before skipping, only arrays (containers) and objects (`userIdentity`)
                // matter: other keys are decoded once their value is skipped.
                if span.is_none() && !matches!(buf[member.value_start], b'{' | b'[') {
                    return MemberAction::Skip;
                }
                let key = head::key_bytes(buf, member);
                match span {
                    None => {
                        if find_container && buf[member.value_start] == b'[' {
                            container = match &*key {
                                b"Records" => Some(ContainerKey::Records),
                                b"Events" => Some(ContainerKey::Events),
                                b"QueryResultRows" => Some(ContainerKey::QueryResultRows),
                                _ => None,
                            };
                            if container.is_some() {
                                return MemberAction::Stop;
                            }
                        }
                        let action = collector.on_member(buf, &key, member, None);
                        if let MemberAction::SkipTo(end) = action {
                            note(&mut summary, &key, member.key, (member.value_start, end));
                        }
                        action
                    }
                    Some(value) => {
                        collector.on_member(buf, &key, member, Some(value));
                        note(&mut summary, &key, member.key, value);
                        MemberAction::Skip
                    }
                }
            });
            if let Some(e) = collector.nested_error.take() {
                return Err(e);
            }
            scanned
        })?;
        match result {
            ObjectScan::End(end) => {
                self.pos = end;
                Ok(ObjectEnd::Complete(summary))
            }
            ObjectScan::Stopped(at) => {
                self.pos = at;
                match container {
                    Some(key) => Ok(ObjectEnd::Container(key)),
                    None => Err(ScanError::Syntax {
                        offset: self.offset_of(at),
                        message: "internal: stopped without a container".into(),
                    }),
                }
            }
        }
    }

    /// Scans a record object at `pos`, locating its head values (relative to `pos`)
    /// into `head`.
    pub fn scan_record(&mut self, head: &mut HeadSpans) -> Result<(), ScanError> {
        let end = self.run(|buf, pos, _, opts| head::scan_record(buf, pos, opts, head))?;
        self.pos = end;
        Ok(())
    }

    /// After a container array: skips the rest of its object (`, "key": value ... }`).
    pub fn finish_object(&mut self) -> Result<(), ScanError> {
        let end = self.run(|buf, pos, _, opts| json::skip_object_rest(buf, pos, opts))?;
        self.pos = end;
        Ok(())
    }

    /// Inside an array: consumes the `,` before the next element or the closing `]`.
    /// Returns `true` when an element follows (and `pos` is on it), `false` at `]`.
    pub fn next_element(&mut self, first: bool) -> Result<bool, ScanError> {
        let (at, more) = self.run(|buf, pos, _, opts| json::next_element(buf, pos, first, opts))?;
        self.pos = at;
        Ok(more)
    }

    /// Moves `pos` (and `mark`) just past the next line break at or after `from`,
    /// reading more input as needed. Returns `false` when the input ends first.
    pub fn skip_to_next_line(&mut self, from: usize) -> bool {
        let mut from = from.min(self.end);
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[from..self.end]) {
                self.pos = from + i + 1;
                self.mark = self.pos;
                return true;
            }
            // Nothing up to the end of the buffer is needed any more.
            self.pos = self.end;
            self.mark = self.end;
            if !matches!(self.fill(), Ok(true)) {
                return false;
            }
            from = self.pos;
        }
    }
}
