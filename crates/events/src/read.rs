//! Streaming readers for every CloudTrail delivery shape.
//!
//! The shape is recognised by content, never by file name: gzip by its magic bytes,
//! then the first JSON byte and the top-level keys. Records are cut out of the input
//! one at a time by a small structural scanner ([`RecordReader`]), so memory stays at
//! one read buffer plus the largest record however large the input is.
//!
//! Accepted shapes ([`InputShape`]): S3 delivery objects `{"Records":[...]}`, a bare
//! JSON array of records, one record per file, JSON lines, EventBridge envelopes,
//! `aws cloudtrail lookup-events` output and CloudTrail Lake query results, all plain
//! or gzip-compressed. Damage (truncated or corrupt gzip, invalid JSON) is reported
//! with the file and record index or byte offset; every good record before it is
//! still delivered, and for JSON lines every good line after it too.

mod envelope;
mod scanner;

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use scanner::{ContainerKey, ObjectEnd, ScanError, Scanner};

/// One input to read: a file (or `-` for standard input) and its size on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The path as given or found while walking a directory; `-` is standard input.
    pub path: PathBuf,
    /// Size on disk in bytes (0 for standard input).
    pub len: u64,
}

impl InputFile {
    /// The standard input.
    pub fn stdin() -> Self {
        InputFile {
            path: PathBuf::from("-"),
            len: 0,
        }
    }

    /// Whether this input is standard input.
    pub fn is_stdin(&self) -> bool {
        self.path.as_os_str() == "-"
    }

    /// The name used in reports and errors.
    pub fn display_name(&self) -> String {
        if self.is_stdin() {
            "<stdin>".to_string()
        } else {
            self.path.display().to_string()
        }
    }
}

/// How the records of an input were delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputShape {
    /// An S3 delivery object `{"Records":[...]}` (plain or gzip).
    S3Delivery,
    /// A bare JSON array of records.
    JsonArray,
    /// One record per file (a single object).
    SingleRecord,
    /// One JSON value per line.
    JsonLines,
    /// EventBridge / CloudWatch Events envelopes; the record is `detail`.
    EventBridge,
    /// `aws cloudtrail lookup-events` output; the record is the `CloudTrailEvent` string.
    LookupEvents,
    /// CloudTrail Lake `get-query-results` output; each row is merged into a record.
    LakeQueryResults,
}

impl fmt::Display for InputShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InputShape::S3Delivery => "S3 delivery object",
            InputShape::JsonArray => "JSON array",
            InputShape::SingleRecord => "single record",
            InputShape::JsonLines => "JSON lines",
            InputShape::EventBridge => "EventBridge envelopes",
            InputShape::LookupEvents => "lookup-events output",
            InputShape::LakeQueryResults => "CloudTrail Lake query results",
        })
    }
}

/// One record cut out of an input.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The CloudTrail record as JSON text, envelope removed.
    pub bytes: &'a [u8],
    /// 0-based index of the record in its input (counting damaged or skipped entries
    /// too, so it matches error locations).
    pub index: u64,
    /// Offset in the decoded (uncompressed) input where the record's entry starts.
    pub byte_offset: u64,
    /// How the record was delivered.
    pub shape: InputShape,
    /// Where the head values are, when the reader found them while scanning.
    pub(crate) head: Option<&'a crate::head::HeadSpans>,
}

impl<'a> Record<'a> {
    /// The record as a [`CloudTrailEvent`](crate::CloudTrailEvent), reusing what the
    /// reader learnt while scanning it (no second pass over the bytes).
    pub fn event(&self) -> Result<crate::CloudTrailEvent<'a>, crate::RecordError> {
        crate::CloudTrailEvent::from_record(self)
    }
}

/// Where in an input an error was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorLocation {
    /// The input as a whole.
    File,
    /// A byte offset: in the compressed file for gzip errors, else in the decoded input.
    ByteOffset(u64),
    /// A record (entry) and the decoded offset where it starts.
    Record {
        /// 0-based record index.
        index: u64,
        /// Decoded offset of the record's start.
        byte_offset: u64,
    },
    /// A 1-based line.
    Line(u64),
}

impl fmt::Display for ErrorLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorLocation::File => Ok(()),
            ErrorLocation::ByteOffset(o) => write!(f, ": byte {o}"),
            ErrorLocation::Record { index, byte_offset } => {
                write!(f, ": record {index} (byte {byte_offset})")
            }
            ErrorLocation::Line(l) => write!(f, ": line {l}"),
        }
    }
}

/// What kind of problem a [`ReadError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadErrorKind {
    /// The input could not be opened or read.
    Io,
    /// The gzip stream ends early.
    TruncatedGzip,
    /// The gzip stream is damaged (bad header, bad deflate data, bad checksum).
    CorruptGzip,
    /// The JSON is not valid.
    InvalidJson,
    /// The input ends in the middle of a JSON value.
    TruncatedJson,
    /// An entry is valid JSON but not a record object (a number, a string...).
    NotAnObject,
    /// The input (or an entry) is not CloudTrail data: another JSON document, an S3
    /// notification, a non-CloudTrail EventBridge event, or not JSON at all.
    NotCloudTrail,
    /// A single record or top-level value exceeds the size limit (64 MiB), or nesting
    /// exceeds the depth limit.
    TooLarge,
    /// The input is empty (or only whitespace).
    Empty,
}

impl ReadErrorKind {
    /// Whether the error is informational (the input is simply not CloudTrail, or
    /// empty) rather than damage.
    pub fn is_informational(self) -> bool {
        matches!(self, ReadErrorKind::NotCloudTrail | ReadErrorKind::Empty)
    }
}

impl fmt::Display for ReadErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadErrorKind::Io => "cannot read",
            ReadErrorKind::TruncatedGzip => "truncated gzip",
            ReadErrorKind::CorruptGzip => "corrupt gzip",
            ReadErrorKind::InvalidJson => "invalid JSON",
            ReadErrorKind::TruncatedJson => "truncated JSON",
            ReadErrorKind::NotAnObject => "not a record",
            ReadErrorKind::NotCloudTrail => "not CloudTrail",
            ReadErrorKind::TooLarge => "too large",
            ReadErrorKind::Empty => "empty input",
        })
    }
}

/// A problem met while reading an input, with the file and where in it.
///
/// Displays as `logs/x.json.gz: record 17 (byte 18234): invalid JSON: expected ',' or '}'`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{location}: {kind}: {message}")]
pub struct ReadError {
    /// The input's name (path, or `<stdin>`).
    pub file: String,
    /// Where in the input.
    pub location: ErrorLocation,
    /// What kind of problem.
    pub kind: ReadErrorKind,
    /// The details.
    pub message: String,
}

impl ReadError {
    /// A new error.
    pub fn new(
        file: impl Into<String>,
        location: ErrorLocation,
        kind: ReadErrorKind,
        message: impl Into<String>,
    ) -> Self {
        ReadError {
            file: file.into(),
            location,
            kind,
            message: message.into(),
        }
    }

    /// An error about a record that the reader delivered but that failed to parse
    /// (for the consumer of [`Record`]s to report uniformly).
    pub fn for_record(
        file: impl Into<String>,
        record: &Record<'_>,
        error: &crate::event::RecordError,
    ) -> Self {
        let kind = match error {
            crate::event::RecordError::NotAnObject { .. } => ReadErrorKind::NotAnObject,
            _ => ReadErrorKind::InvalidJson,
        };
        ReadError::new(
            file,
            ErrorLocation::Record {
                index: record.index,
                byte_offset: record.byte_offset,
            },
            kind,
            error.to_string(),
        )
    }
}

/// The outcome of reading one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// The input's name.
    pub name: String,
    /// The shape recognised, if any.
    pub shape: Option<InputShape>,
    /// Records delivered to the sink.
    pub records: u64,
    /// Bytes read from the input as stored (compressed for gzip).
    pub bytes_read: u64,
    /// Bytes of decoded (uncompressed) JSON.
    pub bytes_decoded: u64,
    /// Every problem met, in input order.
    pub errors: Vec<ReadError>,
}

/// Counts the bytes read through it (shared with the reader for reports).
struct CountingReader<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where the reader is in the input's structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between top-level values.
    TopLevel,
    /// Inside a record array.
    InArray { container: Container, first: bool },
    /// Finished.
    Done,
}

/// What a record array belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    /// A top-level array.
    Bare,
    /// `Records`, `Events` or `QueryResultRows` inside a top-level object.
    Keyed(ContainerKey),
}

/// Where the bytes of a record to deliver are.
#[derive(Debug, Clone, Copy)]
enum RecordBytes {
    /// In the scan buffer.
    Buffer(usize, usize),
    /// In the scratch buffer (decoded or merged records).
    Scratch,
}

/// One step of the reader.
enum Step {
    Record {
        bytes: RecordBytes,
        index: u64,
        byte_offset: u64,
        shape: InputShape,
        /// Whether the reader's `head` holds this record's head spans.
        has_head: bool,
    },
    Error(ReadError),
    Continue,
    Done,
}

/// A pull reader over one input: call [`RecordReader::next_record`] until `None`.
///
/// ```
/// use firebreak_events::RecordReader;
/// let input = br#"{"Records":[{"eventName":"A"},{"eventName":"B"}]}"#;
/// let mut reader = RecordReader::new("example", &input[..]);
/// let mut names = Vec::new();
/// while let Some(item) = reader.next_record() {
///     names.push(String::from_utf8(item.unwrap().bytes.to_vec()).unwrap());
/// }
/// assert_eq!(names, [r#"{"eventName":"A"}"#, r#"{"eventName":"B"}"#]);
/// ```
pub struct RecordReader<'r> {
    name: String,
    scanner: Scanner<Box<dyn Read + 'r>>,
    compressed: Arc<AtomicU64>,
    gzip: bool,
    state: State,
    scratch: Vec<u8>,
    next_index: u64,
    top_values: u64,
    line_mode: bool,
    shape: Option<InputShape>,
    records: u64,
    started: bool,
    pending: Option<ReadError>,
    /// The head spans of the record being delivered (filled in place while
    /// scanning, lent to the [`Record`]).
    head: crate::head::HeadSpans,
}

impl<'r> RecordReader<'r> {
    /// A reader over `input`, which may be gzip-compressed (detected by its magic
    /// bytes). `name` is used in errors.
    pub fn new(name: impl Into<String>, input: impl Read + 'r) -> Self {
        let compressed = Arc::new(AtomicU64::new(0));
        let mut counting = CountingReader {
            inner: input,
            count: Arc::clone(&compressed),
        };
        let mut magic = [0u8; 2];
        let mut got = 0;
        let mut early_error = None;
        while got < 2 {
            match counting.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    early_error = Some(e);
                    break;
                }
            }
        }
        let gzip = got == 2 && magic == [0x1f, 0x8b];
        let head = io::Cursor::new(magic[..got].to_vec());
        let source: Box<dyn Read + 'r> = match early_error {
            Some(e) => Box::new(FailingReader(Some(e))),
            None if gzip => Box::new(flate2::read::MultiGzDecoder::new(
                io::BufReader::with_capacity(64 * 1024, head.chain(counting)),
            )),
            None => Box::new(head.chain(counting)),
        };
        RecordReader::with_scanner(name.into(), Scanner::new(source), compressed, gzip)
    }

    /// A reader at the start of the input `scanner` reads.
    fn with_scanner(
        name: String,
        scanner: Scanner<Box<dyn Read + 'r>>,
        compressed: Arc<AtomicU64>,
        gzip: bool,
    ) -> RecordReader<'r> {
        RecordReader {
            name,
            scanner,
            compressed,
            gzip,
            state: State::TopLevel,
            scratch: Vec::new(),
            next_index: 0,
            top_values: 0,
            line_mode: false,
            shape: None,
            records: 0,
            started: false,
            pending: None,
            head: crate::head::HeadSpans::default(),
        }
    }

    /// A reader over an input already decoded whole into memory (plain JSON, never
    /// gzip): `bytes` becomes the scan buffer records are sliced from.
    fn from_decoded(name: impl Into<String>, bytes: Vec<u8>) -> RecordReader<'static> {
        let compressed = Arc::new(AtomicU64::new(bytes.len() as u64));
        let source: Box<dyn Read> = Box::new(io::empty());
        RecordReader::with_scanner(
            name.into(),
            Scanner::from_bytes(source, bytes),
            compressed,
            false,
        )
    }

    /// The input's name, as used in errors.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The shape recognised so far.
    pub fn shape(&self) -> Option<InputShape> {
        self.shape
    }

    /// Records delivered so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes read from the input as stored (compressed for gzip).
    pub fn bytes_read(&self) -> u64 {
        self.compressed.load(Ordering::Relaxed)
    }

    /// Decoded bytes read so far.
    pub fn bytes_decoded(&self) -> u64 {
        self.scanner.bytes_decoded()
    }

    /// Whether the input is gzip-compressed.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// Bytes currently allocated for buffering (scan buffer plus scratch), to check
    /// that memory stays flat.
    pub fn buffer_capacity(&self) -> usize {
        self.scanner.buffer_capacity() + self.scratch.capacity()
    }

    /// The next record, or an error about the input (after which reading goes on
    /// when it can), or `None` at the end.
    pub fn next_record(&mut self) -> Option<Result<Record<'_>, ReadError>> {
        loop {
            match self.step() {
                Step::Continue => continue,
                Step::Done => return None,
                Step::Error(e) => return Some(Err(e)),
                Step::Record {
                    bytes,
                    index,
                    byte_offset,
                    shape,
                    has_head,
                } => {
                    self.records += 1;
                    if self.shape.is_none() {
                        self.shape = Some(shape);
                    }
                    let bytes = match bytes {
                        RecordBytes::Buffer(start, end) => self.scanner.slice(start, end),
                        RecordBytes::Scratch => &self.scratch[..],
                    };
                    return Some(Ok(Record {
                        bytes,
                        index,
                        byte_offset,
                        shape,
                        head: if has_head { Some(&self.head) } else { None },
                    }));
                }
            }
        }
    }

    fn error(
        &self,
        location: ErrorLocation,
        kind: ReadErrorKind,
        message: impl Into<String>,
    ) -> ReadError {
        ReadError::new(self.name.clone(), location, kind, message)
    }

    fn record_location(&self, index: u64) -> ErrorLocation {
        ErrorLocation::Record {
            index,
            byte_offset: self.scanner.offset_of(self.scanner.mark),
        }
    }

    /// Turns the end of input (or a source failure) into an error when it cut a value.
    fn io_error(&mut self) -> Option<ReadError> {
        let e = self.scanner.take_io_error()?;
        let (kind, what) = if self.gzip {
            match e.kind() {
                io::ErrorKind::UnexpectedEof => {
                    (ReadErrorKind::TruncatedGzip, "compressed stream ends early")
                }
                io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
                    (ReadErrorKind::CorruptGzip, "damaged compressed data")
                }
                _ => (ReadErrorKind::Io, "read failed"),
            }
        } else {
            (ReadErrorKind::Io, "read failed")
        };
        let location = if self.gzip {
            ErrorLocation::ByteOffset(self.bytes_read())
        } else if self.scanner.bytes_decoded() == 0 {
            ErrorLocation::File
        } else {
            ErrorLocation::ByteOffset(self.scanner.bytes_decoded())
        };
        let message = if self.gzip {
            format!(
                "{what} ({e}) after {} decoded bytes; {} records delivered before the damage",
                self.scanner.bytes_decoded(),
                self.records
            )
        } else {
            format!("{what}: {e}")
        };
        Some(self.error(location, kind, message))
    }

    /// Converts a scan error inside entry `index` into a report, preferring the
    /// source's own error when the input was cut.
    fn scan_failure(&mut self, err: ScanError, index: u64) -> ReadError {
        match err {
            ScanError::Eof => match self.io_error() {
                Some(e) => e,
                None => self.error(
                    self.record_location(index),
                    ReadErrorKind::TruncatedJson,
                    match self.scanner.line_at(self.scanner.offset_of(self.scanner.mark)) {
                        Some(line) => format!(
                            "input ends inside this entry (which starts on line {line}; input ends at byte {})",
                            self.scanner.bytes_decoded()
                        ),
                        None => format!(
                            "input ends inside this entry (at byte {})",
                            self.scanner.bytes_decoded()
                        ),
                    },
                ),
            },
            ScanError::Syntax { offset, message } => {
                if let Some(e) = self.io_error() {
                    return e;
                }
                let place = match self.scanner.line_at(offset) {
                    Some(line) => format!("at byte {offset}, line {line}"),
                    None => format!("at byte {offset}"),
                };
                self.error(
                    self.record_location(index),
                    ReadErrorKind::InvalidJson,
                    format!("{message} ({place})"),
                )
            }
            ScanError::TooLarge => self.error(
                self.record_location(index),
                ReadErrorKind::TooLarge,
                format!("entry larger than {} MiB", scanner::MAX_VALUE >> 20),
            ),
            ScanError::TooDeep { offset } => self.error(
                self.record_location(index),
                ReadErrorKind::TooLarge,
                format!("nesting deeper than {} levels (at byte {offset})", scanner::MAX_DEPTH),
            ),
        }
    }

    /// After a damaged top-level value: in JSON lines, go on at the next line.
    fn resync_after_damage(&mut self) {
        let first_line_has_pair = {
            let start = self.scanner.mark;
            let end = self.scanner.end();
            let line = self.scanner.slice(start, end);
            let line = match memchr::memchr(b'\n', line) {
                Some(i) => &line[..i],
                None => line,
            };
            memchr::memmem::find(line, b"\":").is_some()
        };
        if !(self.line_mode || first_line_has_pair) {
            self.stop_after_damage();
            return;
        }
        self.line_mode = true;
        let from = self.scanner.mark;
        if self.scanner.skip_to_next_line(from) {
            self.state = State::TopLevel;
        } else {
            self.stop_after_damage();
        }
    }

    /// Stops reading after damage that cannot be resynchronised. A gzip input is
    /// still decoded to its end, so that damage in the compressed stream itself (the
    /// usual cause of garbled JSON) is reported too.
    fn stop_after_damage(&mut self) {
        self.state = State::Done;
        if self.gzip {
            self.scanner.drain();
            self.pending = self.io_error();
        }
    }

    fn step(&mut self) -> Step {
        if let Some(e) = self.pending.take() {
            return Step::Error(e);
        }
        match self.state {
            State::Done => Step::Done,
            State::TopLevel => self.step_top_level(),
            State::InArray { container, first } => self.step_in_array(container, first),
        }
    }

    fn step_top_level(&mut self) -> Step {
        self.scanner.newline_is_error = false;
        let b = match self.scanner.peek_between(true) {
            Ok(Some(b)) => b,
            Ok(None) => {
                self.state = State::Done;
                if let Some(e) = self.io_error() {
                    return Step::Error(e);
                }
                if !self.started {
                    self.started = true;
                    return Step::Error(self.error(
                        ErrorLocation::File,
                        ReadErrorKind::Empty,
                        "no JSON in the input",
                    ));
                }
                return Step::Done;
            }
            Err(e) => {
                self.state = State::Done;
                let index = self.next_index;
                return Step::Error(self.scan_failure(e, index));
            }
        };
        let first_value = !self.started;
        self.started = true;
        self.scanner.newline_is_error = self.line_mode;
        match b {
            b'[' => {
                self.scanner.pos += 1;
                if self.shape.is_none() {
                    self.shape = Some(InputShape::JsonArray);
                }
                self.state = State::InArray {
                    container: Container::Bare,
                    first: true,
                };
                Step::Continue
            }
            b'{' => {
                let index = self.next_index;
                match self.scanner.scan_object(true, &mut self.head) {
                    Ok(ObjectEnd::Container(key)) => {
                        self.scanner.pos += 1;
                        if self.shape.is_none() {
                            self.shape = Some(match key {
                                ContainerKey::Records => InputShape::S3Delivery,
                                ContainerKey::Events => InputShape::LookupEvents,
                                ContainerKey::QueryResultRows => InputShape::LakeQueryResults,
                            });
                        }
                        self.top_values += 1;
                        self.state = State::InArray {
                            container: Container::Keyed(key),
                            first: true,
                        };
                        Step::Continue
                    }
                    Ok(ObjectEnd::Complete(summary)) => {
                        self.next_index += 1;
                        self.top_values += 1;
                        let len = self.scanner.pos - self.scanner.mark;
                        // One value per file is a single record; several, one after another,
                        // are JSON lines (or concatenated JSON, read the same way).
                        let mut shape = if self.top_values > 1 || self.line_mode {
                            InputShape::JsonLines
                        } else {
                            InputShape::SingleRecord
                        };
                        if first_value {
                            let start = self.scanner.mark;
                            let single_line =
                                memchr::memchr(b'\n', self.scanner.slice(start, start + len))
                                    .is_none();
                            // Look ahead (keeping this object in the buffer) for more values.
                            if let Ok(Some(_)) = self.scanner.peek_between(false) {
                                shape = InputShape::JsonLines;
                                self.line_mode = single_line;
                            }
                        }
                        // The look-ahead may have refilled (and moved) the buffer: re-read `mark`.
                        let start = self.scanner.mark;
                        let byte_offset = self.scanner.offset_of(start);
                        self.classify_object(
                            &summary,
                            start,
                            start + len,
                            index,
                            byte_offset,
                            shape,
                            None,
                        )
                    }
                    Err(e) => {
                        self.next_index += 1;
                        let err = self.scan_failure(e, index);
                        self.resync_after_damage();
                        Step::Error(err)
                    }
                }
            }
            _ => {
                let index = self.next_index;
                self.next_index += 1;
                if first_value && !matches!(b, b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') {
                    let head = self.scanner.lookahead(16);
                    let message =
                        if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
                            "not JSON in UTF-8: UTF-16 text (convert it to UTF-8 first)".to_string()
                        } else {
                            format!("not JSON (starts with {:?})", String::from_utf8_lossy(head))
                        };
                    let err =
                        self.error(ErrorLocation::File, ReadErrorKind::NotCloudTrail, message);
                    self.stop_after_damage();
                    return Step::Error(err);
                }
                match self.scanner.skip_value() {
                    Ok(()) => Step::Error(self.error(
                        self.record_location(index),
                        ReadErrorKind::NotAnObject,
                        format!("top-level value is {}, not a record object", kind_of(b)),
                    )),
                    Err(e) => {
                        let err = self.scan_failure(e, index);
                        self.resync_after_damage();
                        Step::Error(err)
                    }
                }
            }
        }
    }

    fn step_in_array(&mut self, container: Container, first: bool) -> Step {
        // Between elements the scan buffer may drop everything before `pos`.
        self.scanner.mark = self.scanner.pos;
        match self.scanner.next_element(first) {
            Ok(true) => {}
            Ok(false) => {
                self.state = State::TopLevel;
                if let Container::Keyed(_) = container {
                    if let Err(e) = self.scanner.finish_object() {
                        let index = self.next_index;
                        let err = self.scan_failure(e, index);
                        self.stop_after_damage();
                        return Step::Error(err);
                    }
                }
                return Step::Continue;
            }
            Err(e) => {
                let index = self.next_index;
                let err = self.scan_failure(e, index);
                self.give_up_on_array();
                return Step::Error(err);
            }
        }
        self.state = State::InArray {
            container,
            first: false,
        };
        self.scanner.mark = self.scanner.pos;
        let index = self.next_index;
        self.next_index += 1;
        let start = self.scanner.pos;
        let byte_offset = self.scanner.offset_of(start);
        let b = match self.scanner.peek_value() {
            Ok(b) => b,
            Err(e) => {
                let err = self.scan_failure(e, index);
                self.give_up_on_array();
                return Step::Error(err);
            }
        };
        let shape_of_container = match container {
            Container::Bare => InputShape::JsonArray,
            Container::Keyed(ContainerKey::Records) => InputShape::S3Delivery,
            Container::Keyed(ContainerKey::Events) => InputShape::LookupEvents,
            Container::Keyed(ContainerKey::QueryResultRows) => InputShape::LakeQueryResults,
        };
        if container == Container::Keyed(ContainerKey::QueryResultRows) {
            if let Err(e) = self.scanner.skip_value() {
                let err = self.scan_failure(e, index);
                self.give_up_on_array();
                return Step::Error(err);
            }
            let start = self.scanner.mark;
            let end = self.scanner.pos;
            if b != b'[' {
                return Step::Error(self.error(
                    ErrorLocation::Record { index, byte_offset },
                    ReadErrorKind::NotAnObject,
                    format!("Lake result row is {}, not a list of columns", kind_of(b)),
                ));
            }
            let mut scratch = std::mem::take(&mut self.scratch);
            let merged = envelope::merge_lake_row(self.scanner.slice(start, end), &mut scratch);
            self.scratch = scratch;
            return match merged {
                Ok(()) => Step::Record {
                    bytes: RecordBytes::Scratch,
                    index,
                    byte_offset,
                    shape: shape_of_container,
                    has_head: false,
                },
                Err(message) => Step::Error(self.error(
                    ErrorLocation::Record { index, byte_offset },
                    ReadErrorKind::InvalidJson,
                    message,
                )),
            };
        }
        if b != b'{' {
            return match self.scanner.skip_value() {
                Ok(()) => Step::Error(self.error(
                    ErrorLocation::Record { index, byte_offset },
                    ReadErrorKind::NotAnObject,
                    format!("entry is {}, not a record object", kind_of(b)),
                )),
                Err(e) => {
                    let err = self.scan_failure(e, index);
                    self.give_up_on_array();
                    Step::Error(err)
                }
            };
        }
        if container == Container::Keyed(ContainerKey::Records) {
            // Inside `Records` every object is a record: no need to look at its keys.
            return match self.scanner.scan_record(&mut self.head) {
                Ok(()) => {
                    let start = self.scanner.mark;
                    let end = self.scanner.pos;
                    Step::Record {
                        bytes: RecordBytes::Buffer(start, end),
                        index,
                        byte_offset,
                        shape: shape_of_container,
                        has_head: true,
                    }
                }
                Err(e) => {
                    let err = self.scan_failure(e, index);
                    self.give_up_on_array();
                    Step::Error(err)
                }
            };
        }
        match self.scanner.scan_object(false, &mut self.head) {
            Ok(ObjectEnd::Complete(summary)) => {
                let start = self.scanner.mark;
                let end = self.scanner.pos;
                self.classify_object(
                    &summary,
                    start,
                    end,
                    index,
                    byte_offset,
                    shape_of_container,
                    Some(container),
                )
            }
            Ok(ObjectEnd::Container(_)) => {
                // Not reachable: containers are only looked for at the top level.
                self.state = State::Done;
                Step::Error(self.error(
                    ErrorLocation::Record { index, byte_offset },
                    ReadErrorKind::InvalidJson,
                    "unexpected nesting",
                ))
            }
            Err(e) => {
                let err = self.scan_failure(e, index);
                self.give_up_on_array();
                Step::Error(err)
            }
        }
    }

    /// A record array is damaged: nothing after the damage can be trusted, except in
    /// JSON lines where the next line starts afresh.
    fn give_up_on_array(&mut self) {
        if self.line_mode {
            let from = self.scanner.mark;
            if self.scanner.skip_to_next_line(from) {
                self.state = State::TopLevel;
                return;
            }
        }
        self.stop_after_damage();
    }

    /// Decides what a complete object at `start..end` is and delivers or reports it.
    #[allow(clippy::too_many_arguments)]
    fn classify_object(
        &mut self,
        summary: &scanner::ObjectSummary,
        start: usize,
        end: usize,
        index: u64,
        byte_offset: u64,
        shape: InputShape,
        container: Option<Container>,
    ) -> Step {
        // A file holding one object that is not a record is reported as a whole.
        let location = if container.is_none() && shape == InputShape::SingleRecord {
            ErrorLocation::File
        } else {
            ErrorLocation::Record { index, byte_offset }
        };
        let object = self.scanner.slice(start, end);
        let span = |s: (usize, usize)| &object[s.0..s.1];
        // Inside `Records`, every object is a record.
        if container == Some(Container::Keyed(ContainerKey::Records)) || summary.cloudtrail_keys > 0
        {
            return Step::Record {
                bytes: RecordBytes::Buffer(start, end),
                index,
                byte_offset,
                shape,
                has_head: true,
            };
        }
        if let (Some(detail_type), Some(detail)) = (summary.detail_type, summary.detail) {
            let detail_type_text = String::from_utf8_lossy(span(detail_type)).into_owned();
            let detail_bytes = span(detail);
            if detail_type_text.contains("CloudTrail") && detail_bytes.first() == Some(&b'{') {
                return Step::Record {
                    bytes: RecordBytes::Buffer(start + detail.0, start + detail.1),
                    index,
                    byte_offset,
                    shape: InputShape::EventBridge,
                    has_head: false,
                };
            }
            return Step::Error(self.error(
                location,
                ReadErrorKind::NotCloudTrail,
                format!(
                    "EventBridge event of type {} does not carry a CloudTrail record",
                    snippet(detail_type_text.trim_matches('"').as_bytes())
                ),
            ));
        }
        if let Some(ct) = summary.cloudtrail_event {
            let mut scratch = std::mem::take(&mut self.scratch);
            let decoded = envelope::decode_string_record(span(ct), &mut scratch);
            self.scratch = scratch;
            return match decoded {
                Ok(()) => Step::Record {
                    bytes: RecordBytes::Scratch,
                    index,
                    byte_offset,
                    shape: InputShape::LookupEvents,
                    has_head: false,
                },
                Err(message) => {
                    Step::Error(self.error(location, ReadErrorKind::InvalidJson, message))
                }
            };
        }
        if let Some(n) = envelope::s3_notification_objects(summary, object) {
            return Step::Error(self.error(
                location,
                ReadErrorKind::NotCloudTrail,
                format!("S3 notification listing {n} log objects"),
            ));
        }
        let keys: Vec<String> = summary.first_keys[..summary.first_key_count]
            .iter()
            .map(|&k| snippet(span(k)))
            .collect();
        let what = if keys.is_empty() {
            "an empty object".to_string()
        } else {
            format!(
                "an object without CloudTrail record keys (keys: {}{})",
                keys.join(", "),
                if summary.keys as usize > keys.len() {
                    ", ..."
                } else {
                    ""
                }
            )
        };
        Step::Error(self.error(location, ReadErrorKind::NotCloudTrail, what))
    }
}

/// A reader that fails once with the given error.
struct FailingReader(Option<io::Error>);

impl Read for FailingReader {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

/// Log text quoted in an error message: decoded leniently and cut to a readable
/// length (it is attacker-controlled and may be huge).
fn snippet(bytes: &[u8]) -> String {
    const MAX_CHARS: usize = 64;
    let text = String::from_utf8_lossy(bytes);
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.into_owned(),
    }
}

fn kind_of(first: u8) -> &'static str {
    match first {
        b'[' => "an array",
        b'{' => "an object",
        b'"' => "a string",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => "a number",
    }
}

/// Reads every record of `input` into `sink` (which may stop early by returning
/// `ControlFlow::Break`). `name` is used in the report and errors.
pub fn read_stream(
    name: &str,
    input: impl Read,
    sink: &mut dyn FnMut(Record<'_>) -> ControlFlow<()>,
) -> FileReport {
    read_all(name, &mut RecordReader::new(name, input), sink)
}

/// Reads every record of an input decoded whole into memory (`bytes`, plain JSON)
/// into `sink`, slicing records straight out of `bytes`; gives `bytes` back for reuse.
fn read_decoded(
    name: &str,
    bytes: Vec<u8>,
    sink: &mut dyn FnMut(Record<'_>) -> ControlFlow<()>,
) -> (FileReport, Vec<u8>) {
    let mut reader = RecordReader::from_decoded(name, bytes);
    let report = read_all(name, &mut reader, sink);
    (report, reader.scanner.into_buffer())
}

/// Drains `reader` into `sink` and reports.
fn read_all(
    name: &str,
    reader: &mut RecordReader<'_>,
    sink: &mut dyn FnMut(Record<'_>) -> ControlFlow<()>,
) -> FileReport {
    let mut errors = Vec::new();
    while let Some(item) = reader.next_record() {
        match item {
            Ok(record) => {
                if sink(record).is_break() {
                    break;
                }
            }
            Err(e) => errors.push(e),
        }
    }
    FileReport {
        name: name.to_string(),
        shape: reader.shape(),
        records: reader.records(),
        bytes_read: reader.bytes_read(),
        bytes_decoded: reader.bytes_decoded(),
        errors,
    }
}

/// Gzip files up to this size (compressed) are decompressed in one go with libdeflate,
/// which is faster than streaming; larger ones stream.
const WHOLE_GZIP_MAX_COMPRESSED: u64 = 16 * 1024 * 1024;
/// ... provided they decode to at most this much.
const WHOLE_GZIP_MAX_DECODED: usize = 64 * 1024 * 1024;

/// Reads every record of one input (a file, or standard input for `-`) into `sink`.
///
/// Small gzip files (the usual S3 delivery objects) are decompressed whole (at most
/// 64 MiB decoded) with libdeflate and checked against their CRC and size; when that
/// fails (damage, or several gzip members), the file is streamed instead, which
/// delivers every record before the damage and reports where it is.
pub fn read_file(
    file: &InputFile,
    sink: &mut dyn FnMut(Record<'_>) -> ControlFlow<()>,
) -> FileReport {
    let name = file.display_name();
    if file.is_stdin() {
        let stdin = io::stdin();
        return read_stream(&name, stdin.lock(), sink);
    }
    let open_error = |e: io::Error| FileReport {
        name: name.clone(),
        shape: None,
        records: 0,
        bytes_read: 0,
        bytes_decoded: 0,
        errors: vec![ReadError::new(
            name.clone(),
            ErrorLocation::File,
            ReadErrorKind::Io,
            e.to_string(),
        )],
    };
    let mut f = match fs::File::open(&file.path) {
        Ok(f) => f,
        Err(e) => return open_error(e),
    };
    let small = f
        .metadata()
        .map(|m| m.is_file() && m.len() <= WHOLE_GZIP_MAX_COMPRESSED)
        .unwrap_or(false);
    if !small {
        return read_stream(&name, f, sink);
    }
    let mut compressed = Vec::new();
    if let Err(e) = f.read_to_end(&mut compressed) {
        // Deliver what could be read, then the error.
        let mut report = read_stream(&name, &compressed[..], sink);
        report.errors.push(ReadError::new(
            name.clone(),
            ErrorLocation::ByteOffset(compressed.len() as u64),
            ReadErrorKind::Io,
            format!("read failed: {e}"),
        ));
        return report;
    }
    let mut state = WholeFileState::take();
    let report = match gunzip_whole(&compressed, &mut state) {
        // Decoded data that is itself gzip goes through the streaming reader, which
        // unwraps it again.
        Some(decoded) if !is_gzip(&decoded) && decoded.len() < scanner::MAX_VALUE => {
            let (mut report, buffer) = read_decoded(&name, decoded, sink);
            report.bytes_read = compressed.len() as u64;
            state.spare = buffer;
            report
        }
        Some(decoded) => {
            let mut report = read_stream(&name, &decoded[..], sink);
            report.bytes_read = compressed.len() as u64;
            state.spare = decoded;
            report
        }
        // A plain file: its bytes are the buffer records are sliced from.
        None if !is_gzip(&compressed) && compressed.len() < scanner::MAX_VALUE => {
            read_decoded(&name, compressed, sink).0
        }
        None => read_stream(&name, &compressed[..], sink),
    };
    state.put_back();
    report
}

/// Whether `bytes` start with the gzip magic.
fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// What [`read_file`] keeps between files on one thread: the libdeflate
/// decompressor (its tables cost more to set up than a small file costs to decode)
/// and the last decoded buffer (reused without zeroing it again).
#[derive(Default)]
struct WholeFileState {
    decompressor: Option<libdeflater::Decompressor>,
    spare: Vec<u8>,
}

/// Spare buffers larger than this are freed rather than kept for the next file.
const SPARE_BUFFER_MAX: usize = 8 * 1024 * 1024;

thread_local! {
    static WHOLE_FILE_STATE: std::cell::Cell<Option<Box<WholeFileState>>> = const { std::cell::Cell::new(None) };
}

impl WholeFileState {
    /// This thread's state (a fresh one if a caller up the stack holds it).
    fn take() -> Box<WholeFileState> {
        WHOLE_FILE_STATE
            .with(|cell| cell.take())
            .unwrap_or_default()
    }

    /// Keeps the state for this thread's next file.
    fn put_back(mut self: Box<Self>) {
        if self.spare.capacity() > SPARE_BUFFER_MAX {
            self.spare = Vec::new();
        }
        WHOLE_FILE_STATE.with(|cell| cell.set(Some(self)));
    }
}

/// Decompresses a whole single-member gzip file with libdeflate, when it is one and
/// its size and CRC check out; `None` otherwise (the caller then streams it).
fn gunzip_whole(compressed: &[u8], state: &mut WholeFileState) -> Option<Vec<u8>> {
    if compressed.len() < 18 || !is_gzip(compressed) {
        return None;
    }
    let trailer = &compressed[compressed.len() - 8..];
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]) as usize;
    if size == 0 || size > WHOLE_GZIP_MAX_DECODED {
        return None;
    }
    // libdeflate stops after the first member: files that may hold several (as
    // `cat a.gz b.gz` makes) are streamed instead.
    if may_hold_several_members(compressed) {
        return None;
    }
    // Only bytes never used before get zeroed; libdeflate overwrites the rest.
    let mut out = std::mem::take(&mut state.spare);
    out.resize(size, 0);
    let decompressor = state
        .decompressor
        .get_or_insert_with(libdeflater::Decompressor::new);
    let decoded = decompressor.gzip_decompress(compressed, &mut out);
    if decoded.is_ok_and(|n| n == size) && libdeflater::crc32(&out) == crc {
        Some(out)
    } else {
        state.spare = out;
        None
    }
}

/// Whether something that looks like another gzip member header appears after the
/// first one. (False alarms only cost speed: the file is then streamed.)
fn may_hold_several_members(compressed: &[u8]) -> bool {
    memchr::memmem::find_iter(&compressed[10..], b"\x1f\x8b\x08").any(|i| {
        let header = &compressed[10 + i..];
        match header.get(3..10) {
            // FLG reserved bits clear, XFL 0/2/4, a known OS.
            Some(h) => h[0] & 0xE0 == 0 && matches!(h[5], 0 | 2 | 4) && (h[6] <= 13 || h[6] == 255),
            None => true,
        }
    })
}

/// Expands `paths` into the inputs to read: files as given, directories walked
/// recursively in sorted (deterministic) order, `-` as standard input. Nothing is
/// skipped silently: whatever cannot be listed or opened comes back as an error.
pub fn discover_inputs(paths: &[PathBuf]) -> (Vec<InputFile>, Vec<ReadError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut visited_dirs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            files.push(InputFile::stdin());
            continue;
        }
        discover_path(path, &mut files, &mut errors, &mut visited_dirs);
    }
    (files, errors)
}

fn io_error_for(path: &Path, e: &io::Error) -> ReadError {
    ReadError::new(
        path.display().to_string(),
        ErrorLocation::File,
        ReadErrorKind::Io,
        e.to_string(),
    )
}

fn discover_path(
    path: &Path,
    files: &mut Vec<InputFile>,
    errors: &mut Vec<ReadError>,
    visited: &mut Vec<PathBuf>,
) {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            errors.push(io_error_for(path, &e));
            return;
        }
    };
    if !meta.is_dir() {
        files.push(InputFile {
            path: path.to_path_buf(),
            len: meta.len(),
        });
        return;
    }
    match fs::canonicalize(path) {
        Ok(real) => {
            if visited.contains(&real) {
                errors.push(ReadError::new(
                    path.display().to_string(),
                    ErrorLocation::File,
                    ReadErrorKind::Io,
                    "directory already visited (symbolic link loop?)",
                ));
                return;
            }
            visited.push(real);
        }
        Err(e) => {
            errors.push(io_error_for(path, &e));
            return;
        }
    }
    let entries = match fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) => {
            errors.push(io_error_for(path, &e));
            return;
        }
    };
    let mut children = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => children.push((entry.file_name(), entry.path())),
            Err(e) => errors.push(io_error_for(path, &e)),
        }
    }
    // All children share `path` as parent, so ordering them by name orders their
    // paths (and costs far less than comparing paths component by component).
    children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for (_, child) in children {
        discover_path(&child, files, errors, visited);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Everything a read delivers, in order: records (bytes, index, offset, shape)
    /// and errors, then the report's counts.
    fn transcript(
        read: impl FnOnce(&mut dyn FnMut(Record<'_>) -> ControlFlow<()>) -> FileReport,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let report = read(&mut |r| {
            let head = r
                .event()
                .map(|e| format!("{:?}/{:?}", e.event_name(), e.user_name()));
            out.push(format!(
                "{} {} {:?} {} {:?}",
                r.index,
                r.byte_offset,
                r.shape,
                String::from_utf8_lossy(r.bytes),
                head
            ));
            ControlFlow::Continue(())
        });
        out.extend(
            report
                .errors
                .iter()
                .map(|e| format!("{:?} {e}", e.location)),
        );
        out.push(format!(
            "{} {} {:?}",
            report.records, report.bytes_decoded, report.shape
        ));
        out
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).expect("in memory");
        enc.finish().expect("in memory")
    }

    #[test]
    fn whole_file_reads_match_streamed_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big: String = (0..300)
            .map(|i| format!(r#"{{"eventName":"Big{i}","userIdentity":{{"type":"IAMUser","userName":"u\"{i}"}}}}"#))
            .collect::<Vec<_>>()
            .join(",");
        let inputs: Vec<(&str, Vec<u8>)> = vec![
            ("big.json", format!(r#"{{"Records":[{big}]}}"#).into_bytes()),
            // Damage in the middle: records before it are delivered, then the error.
            (
                "damaged.json",
                br#"{"Records":[{"eventName":"A"},{"eventName":"B" "x":1},{"eventName":"C"}]}"#
                    .to_vec(),
            ),
            (
                "lines.jsonl",
                b"{\"eventName\":\"L1\"}\n{\"eventName\":\n{\"eventName\":\"L3\"}\n".to_vec(),
            ),
            (
                "cut.json",
                br#"{"Records":[{"eventName":"A"},{"eventName":"B"#.to_vec(),
            ),
            ("empty.json", Vec::new()),
            ("small.json", br#"{"eventName":"S"}"#.to_vec()),
        ];
        // Each input plain and gzip-compressed, read in this order on one thread, so
        // the reused decompression buffer goes from large to small inputs too.
        for (name, plain) in &inputs {
            for compressed in [false, true] {
                let bytes = if compressed {
                    gzip(plain)
                } else {
                    plain.clone()
                };
                let path = dir.path().join(if compressed {
                    format!("{name}.gz")
                } else {
                    name.to_string()
                });
                fs::write(&path, &bytes).expect("write");
                let file = InputFile {
                    len: bytes.len() as u64,
                    path,
                };
                let display = file.display_name();
                let whole = transcript(|sink| read_file(&file, sink));
                let streamed = transcript(|sink| read_stream(&display, &bytes[..], sink));
                assert_eq!(whole, streamed, "{name} (gzip: {compressed})");
                assert!(whole.len() > 1, "{name}: {whole:?}");
            }
        }
    }
}
