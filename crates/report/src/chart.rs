//! The timeline chart: an inline SVG with a time axis, one lane for attacker events (circles
//! coloured by level) and one for responder actions (squares coloured by status). Markers carry
//! the row number of the timeline table and a `<title>` tooltip.
//!
//! Attacker activity and the response are often days apart: long idle gaps are cut out of the
//! axis (a grey band says how long the gap was), so each burst of activity gets readable width.

use std::fmt::Write as _;

use crate::escape;
use crate::timeline::{level_class, status_class, Row, Side};

const WIDTH: f64 = 1000.0;
const LABEL_W: f64 = 150.0;
const RIGHT: f64 = 20.0;
const RADIUS: f64 = 10.0;
const ROW_H: f64 = 24.0;
const MAX_ROWS: usize = 6;
const LANE_PAD: f64 = 8.0;
const BREAK_W: f64 = 60.0;
const MAX_SEGMENTS: usize = 4;
const FONT: &str = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif";

/// Fill colour of a level class.
pub(crate) fn level_colour(class: &str) -> &'static str {
    match class {
        "critical" => "#6b21a8",
        "high" => "#dc2626",
        "medium" => "#c2410c",
        "low" => "#2563eb",
        "informational" => "#64748b",
        _ => "#94a3b8",
    }
}

/// Fill colour of an action status class.
pub(crate) fn status_colour(class: &str) -> &'static str {
    match class {
        "applied" => "#15803d",
        "failed" => "#111827",
        _ => "#94a3b8",
    }
}

/// A stretch of the time axis without long gaps.
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    /// First and last time (Unix seconds, fractional).
    start: f64,
    end: f64,
    /// Number of markers in it.
    count: usize,
    /// Left x and width in the SVG.
    x0: f64,
    width: f64,
}

impl Segment {
    fn pad(&self) -> f64 {
        RADIUS + 6.0
    }

    fn x_of(&self, t: f64) -> f64 {
        let inner = self.width - 2.0 * self.pad();
        if self.end <= self.start {
            self.x0 + self.width / 2.0
        } else {
            self.x0 + self.pad() + (t - self.start) / (self.end - self.start) * inner
        }
    }
}

/// Splits sorted times into segments at the long gaps and lays them out. A gap is cut when it
/// is longer than 4 hours and than 15% of the span of the stretch it lies in; the longest such
/// gap is cut first, then the stretches are examined again (at most [`MAX_SEGMENTS`]).
fn segments(sorted: &[f64]) -> Vec<Segment> {
    if sorted.is_empty() {
        return Vec::new();
    }
    // Index ranges (inclusive) of each stretch.
    let mut ranges: Vec<(usize, usize)> = vec![(0, sorted.len() - 1)];
    while ranges.len() < MAX_SEGMENTS {
        let mut best: Option<(usize, usize, f64)> = None; // (range index, cut after, gap)
        for (r, &(lo, hi)) in ranges.iter().enumerate() {
            let threshold = (4.0 * 3600.0_f64).max((sorted[hi] - sorted[lo]) * 0.15);
            for i in lo..hi {
                let gap = sorted[i + 1] - sorted[i];
                if gap > threshold && best.is_none_or(|(_, _, g)| gap > g) {
                    best = Some((r, i, gap));
                }
            }
        }
        let Some((r, cut, _)) = best else { break };
        let (lo, hi) = ranges[r];
        ranges.splice(r..=r, [(lo, cut), (cut + 1, hi)]);
    }
    let mut segments: Vec<Segment> =
        ranges.into_iter().map(|(lo, hi)| Segment { start: sorted[lo], end: sorted[hi], count: hi + 1 - lo, x0: 0.0, width: 0.0 }).collect();
    let available = WIDTH - LABEL_W - RIGHT - BREAK_W * (segments.len() as f64 - 1.0);
    let weights: Vec<f64> = segments.iter().map(|s| 1.0 + (s.count as f64).sqrt()).collect();
    let total: f64 = weights.iter().sum();
    let mut x = LABEL_W;
    for (segment, weight) in segments.iter_mut().zip(weights) {
        segment.x0 = x;
        segment.width = available * weight / total;
        x += segment.width + BREAK_W;
    }
    segments
}

/// A duration in words, for gap labels: `52 d`, `6 h`, `35 min`.
fn gap_label(seconds: f64) -> String {
    let minutes = (seconds / 60.0).round();
    if minutes < 90.0 {
        format!("{minutes} min")
    } else if seconds < 48.0 * 3600.0 {
        format!("{} h", (seconds / 3600.0).round())
    } else {
        format!("{} d", (seconds / 86400.0).round())
    }
}

fn format_ts(seconds: f64, pattern: &str) -> String {
    match jiff::Timestamp::from_second(seconds.floor() as i64) {
        Ok(ts) => ts.strftime(pattern).to_string(),
        Err(_) => String::new(),
    }
}

/// Tick times and their label pattern for one segment.
fn ticks(segment: &Segment) -> (Vec<f64>, &'static str) {
    const STEPS: [f64; 22] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0, 43200.0, 86400.0, 172800.0, 604800.0,
        2592000.0, 31536000.0,
    ];
    let span = segment.end - segment.start;
    if span <= 0.0 {
        return (vec![segment.start], "%H:%M:%S");
    }
    let inner = segment.width - 2.0 * segment.pad();
    let max_ticks = (inner / 85.0).floor().max(1.0);
    let step = STEPS.iter().copied().find(|step| span / step <= max_ticks).unwrap_or(31536000.0);
    let pattern = if step >= 86400.0 {
        "%m-%d"
    } else if step < 60.0 || span < 120.0 {
        "%H:%M:%S"
    } else {
        "%H:%M"
    };
    let mut out = Vec::new();
    let mut t = (segment.start / step).ceil() * step;
    while t <= segment.end && out.len() < 64 {
        out.push(t);
        t += step;
    }
    if out.is_empty() {
        // The span holds no round tick: label its start.
        out.push(segment.start);
    }
    (out, pattern)
}

/// Places markers of one lane in rows so that they do not overlap (at most [`MAX_ROWS`]
/// rows; beyond, markers share the emptiest row). Returns each marker's row and the row count.
fn stack(xs: &[f64]) -> (Vec<usize>, usize) {
    let mut last: Vec<f64> = Vec::new();
    let mut rows = Vec::with_capacity(xs.len());
    for &x in xs {
        let free = last.iter().position(|&l| x - l >= 2.0 * RADIUS + 2.0);
        let row = match free {
            Some(row) => row,
            None if last.len() < MAX_ROWS => {
                last.push(f64::NEG_INFINITY);
                last.len() - 1
            }
            None => last.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i).unwrap_or(0),
        };
        last[row] = x;
        rows.push(row);
    }
    (rows, last.len().max(1))
}

/// Whether each marker is clear of its neighbours in its row (so its number can be read).
fn unobstructed(xs: &[f64], rows: &[usize]) -> Vec<bool> {
    let mut clear = vec![true; xs.len()];
    let mut last_in_row: Vec<Option<usize>> = Vec::new();
    for (i, (&x, &row)) in xs.iter().zip(rows).enumerate() {
        if last_in_row.len() <= row {
            last_in_row.resize(row + 1, None);
        }
        if let Some(prev) = last_in_row[row] {
            if x - xs[prev] < 2.0 * RADIUS + 1.0 {
                clear[prev] = false;
                clear[i] = false;
            }
        }
        last_in_row[row] = Some(i);
    }
    clear
}

/// The chart of `rows` (the merged timeline), or `None` when no row has a valid time.
pub(crate) fn svg(rows: &[Row<'_>]) -> Option<String> {
    let timed: Vec<(&Row<'_>, f64)> = rows.iter().filter_map(|r| r.time.map(|t| (r, t.as_millisecond() as f64 / 1000.0))).collect();
    if timed.is_empty() {
        return None;
    }
    let mut sorted: Vec<f64> = timed.iter().map(|(_, t)| *t).collect();
    sorted.sort_by(f64::total_cmp);
    let segments = segments(&sorted);
    let x_of = |t: f64| -> f64 {
        let segment = segments.iter().find(|s| t <= s.end).or(segments.last());
        segment.map(|s| s.x_of(t)).unwrap_or(LABEL_W)
    };

    let mut lanes = Vec::new();
    let mut top = 8.0;
    for side in [Side::Attacker, Side::Responder] {
        let marks: Vec<(&Row<'_>, f64)> = timed.iter().filter(|(r, _)| r.side == side).map(|(r, t)| (*r, x_of(*t))).collect();
        let xs: Vec<f64> = marks.iter().map(|(_, x)| *x).collect();
        let (row_of, row_count) = stack(&xs);
        let labelled = unobstructed(&xs, &row_of);
        let height = row_count as f64 * ROW_H + 2.0 * LANE_PAD;
        lanes.push((side, marks, row_of, labelled, top, height));
        top += height + 6.0;
    }
    let lanes_top = 8.0;
    let axis_y = top;
    let height = axis_y + 100.0;

    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" aria-label="Timeline chart: attacker events and responder actions" viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" font-family="{FONT}">"##
    );
    // Lane bands and labels.
    for (side, marks, _, _, lane_top, lane_h) in &lanes {
        let (name, colour, unit) = match side {
            Side::Attacker => ("Attacker", "#991b1b", if marks.len() == 1 { "event" } else { "events" }),
            Side::Responder => ("Responder", "#166534", if marks.len() == 1 { "action" } else { "actions" }),
        };
        let _ = write!(
            out,
            r##"<rect x="{x}" y="{lane_top}" width="{w}" height="{lane_h}" fill="#f8fafc" stroke="#e2e8f0"/><text x="10" y="{ty}" font-size="15" font-weight="700" fill="{colour}">{name}</text><text x="10" y="{ty2}" font-size="13" fill="#334155">{n} {unit}</text>"##,
            x = LABEL_W - 4.0,
            w = WIDTH - RIGHT - LABEL_W + 8.0,
            ty = lane_top + lane_h / 2.0 - 2.0,
            ty2 = lane_top + lane_h / 2.0 + 13.0,
            n = marks.len(),
        );
    }
    // Gap bands between segments.
    for pair in segments.windows(2) {
        let x = pair[0].x0 + pair[0].width;
        let _ = write!(
            out,
            r##"<rect x="{x:.1}" y="{lanes_top}" width="{BREAK_W}" height="{h}" fill="#e2e8f0"/><text x="{cx:.1}" y="{ty}" font-size="13" text-anchor="middle" fill="#1e293b">+{label}</text><path d="M{a:.1} {b1} l8 -10 M{c:.1} {b1} l8 -10" stroke="#475569" stroke-width="1.5"/>"##,
            h = axis_y - lanes_top + 6.0,
            cx = x + BREAK_W / 2.0,
            ty = axis_y + 18.0,
            label = gap_label(pair[1].start - pair[0].end),
            a = x + BREAK_W / 2.0 - 10.0,
            c = x + BREAK_W / 2.0 + 2.0,
            b1 = axis_y + 5.0,
        );
    }
    // Axis, ticks, grid and dates.
    for segment in &segments {
        let _ = write!(out, r##"<line x1="{:.1}" y1="{axis_y}" x2="{:.1}" y2="{axis_y}" stroke="#334155" stroke-width="1.5"/>"##, segment.x0, segment.x0 + segment.width);
        let (tick_times, pattern) = ticks(segment);
        let mut last_label_end = f64::NEG_INFINITY;
        for t in tick_times {
            let x = segment.x_of(t);
            let label = format_ts(t, pattern);
            let half = label.len() as f64 * 4.0;
            let _ = write!(out, r##"<line x1="{x:.1}" y1="{lanes_top}" x2="{x:.1}" y2="{axis_y}" stroke="#cbd5e1" stroke-dasharray="2 3"/><line x1="{x:.1}" y1="{axis_y}" x2="{x:.1}" y2="{}" stroke="#334155"/>"##, axis_y + 5.0);
            if x - half > last_label_end + 4.0 {
                let _ = write!(out, r##"<text x="{x:.1}" y="{}" font-size="13" text-anchor="middle" fill="#1e293b">{}</text>"##, axis_y + 19.0, escape::html(&label));
                last_label_end = x + half;
            }
        }
        let start_date = format_ts(segment.start, "%Y-%m-%d");
        let end_date = format_ts(segment.end, "%Y-%m-%d");
        let dates = if start_date == end_date { start_date } else { format!("{start_date} → {end_date}") };
        let _ = write!(out, r##"<text x="{:.1}" y="{}" font-size="13" font-weight="700" fill="#0f172a">{} UTC</text>"##, segment.x0 + 2.0, axis_y + 37.0, escape::html(&dates));
    }
    // Markers.
    for (side, marks, row_of, labelled, lane_top, _) in &lanes {
        for (((row, x), lane_row), show_number) in marks.iter().zip(row_of).zip(labelled) {
            let y = lane_top + LANE_PAD + *lane_row as f64 * ROW_H + ROW_H / 2.0;
            // A marker overlapped by a neighbour carries no number (it would be unreadable);
            // its tooltip and the table still identify it.
            let number = if *show_number { row.number.to_string() } else { String::new() };
            // A white rim separates neighbours; in a pile-up it would only wash the colours out.
            let stroke = if *show_number { "#ffffff" } else { "none" };
            let font = match number.len() {
                1 | 2 => 11.0,
                3 => 9.0,
                _ => 7.0,
            };
            let tooltip = escape::html(&row.tooltip());
            match side {
                Side::Attacker => {
                    let class = level_class(row.level().unwrap_or(""));
                    let _ = write!(
                        out,
                        r##"<g class="mark attacker lvl-{class}"><title>{tooltip}</title><circle cx="{x:.1}" cy="{y:.1}" r="{RADIUS}" fill="{}" stroke="{stroke}" stroke-width="1.5"/><text x="{x:.1}" y="{:.1}" font-size="{font}" font-weight="700" text-anchor="middle" fill="#ffffff">{number}</text></g>"##,
                        level_colour(class),
                        y + font * 0.36,
                    );
                }
                Side::Responder => {
                    let class = status_class(row.action.map(|a| a.status.as_str()).unwrap_or(""));
                    let _ = write!(
                        out,
                        r##"<g class="mark responder st-{class}"><title>{tooltip}</title><rect x="{:.1}" y="{:.1}" width="{w}" height="{w}" rx="3" fill="{}" stroke="{stroke}" stroke-width="1.5"/><text x="{x:.1}" y="{:.1}" font-size="{font}" font-weight="700" text-anchor="middle" fill="#ffffff">{number}</text></g>"##,
                        x - RADIUS,
                        y - RADIUS,
                        status_colour(class),
                        y + font * 0.36,
                        w = 2.0 * RADIUS,
                    );
                }
            }
        }
    }
    // Legend.
    let legend_y = axis_y + 62.0;
    let mut x = 10.0;
    let _ = write!(out, r##"<text x="{x}" y="{}" font-size="13" fill="#0f172a" font-weight="700">Attacker event, by level:</text>"##, legend_y + 4.0);
    x += 245.0;
    for level in ["critical", "high", "medium", "low", "informational"] {
        let _ = write!(
            out,
            r##"<circle cx="{x}" cy="{legend_y}" r="7" fill="{}"/><text x="{}" y="{}" font-size="13" fill="#0f172a">{level}</text>"##,
            level_colour(level),
            x + 11.0,
            legend_y + 4.0
        );
        x += 30.0 + level.len() as f64 * 8.0;
    }
    let legend_y = legend_y + 22.0;
    let mut x = 10.0;
    let _ = write!(out, r##"<text x="{x}" y="{}" font-size="13" fill="#0f172a" font-weight="700">Responder action, by status:</text>"##, legend_y + 4.0);
    x += 245.0;
    for (class, label) in [("applied", "applied"), ("failed", "failed"), ("other", "already done / skipped")] {
        let _ = write!(
            out,
            r##"<rect x="{}" y="{}" width="14" height="14" rx="2" fill="{}"/><text x="{}" y="{}" font-size="13" fill="#0f172a">{label}</text>"##,
            x - 7.0,
            legend_y - 7.0,
            status_colour(class),
            x + 11.0,
            legend_y + 4.0
        );
        x += 30.0 + label.len() as f64 * 8.0;
    }
    out.push_str("</svg>");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_gaps_become_separate_segments() {
        let day = 86400.0;
        let times = [0.0, 600.0, 3600.0, 52.0 * day, 52.0 * day + 300.0];
        let segs = segments(&times);
        assert_eq!(segs.len(), 2);
        assert_eq!((segs[0].start, segs[0].end, segs[0].count), (0.0, 3600.0, 3));
        assert_eq!((segs[1].start, segs[1].end, segs[1].count), (52.0 * day, 52.0 * day + 300.0, 2));
        // Laid out left to right inside the plot, with a gap band between.
        assert!(segs[0].x0 >= LABEL_W && segs[1].x0 > segs[0].x0 + segs[0].width);
        assert!((segs[1].x0 + segs[1].width - (WIDTH - RIGHT)).abs() < 1e-6);
        assert_eq!(gap_label(52.0 * day - 3600.0), "52 d");
    }

    #[test]
    fn daily_bursts_are_cut_after_the_long_gap() {
        let day = 86400.0;
        let mut times: Vec<f64> = Vec::new();
        for d in 0..3 {
            times.extend((0..50).map(|i| d as f64 * day + i as f64 * 200.0));
        }
        times.push(15.0 * day);
        let segs = segments(&times);
        // The 12-day gap is cut first, then the two overnight gaps (each over 15% of the
        // three days): four segments, in time order.
        assert_eq!(segs.len(), 4);
        assert_eq!(segs.iter().map(|s| s.count).collect::<Vec<_>>(), [50, 50, 50, 1]);
        assert!(segs.windows(2).all(|w| w[0].end < w[1].start && w[0].x0 < w[1].x0));
    }

    #[test]
    fn short_gaps_stay_in_one_segment() {
        let segs = segments(&[0.0, 3600.0, 7200.0, 9000.0]);
        assert_eq!(segs.len(), 1);
        let s = &segs[0];
        assert!(s.x_of(0.0) < s.x_of(3600.0) && s.x_of(3600.0) < s.x_of(9000.0));
    }

    #[test]
    fn overlapping_markers_stack() {
        let (rows, count) = stack(&[100.0, 101.0, 102.0, 200.0]);
        assert_eq!(rows, [0, 1, 2, 0]);
        assert_eq!(count, 3);
        let (rows_of, capped) = stack(&[5.0; 20]);
        assert_eq!(capped, MAX_ROWS);
        // Alone in their rows: readable; sharing a row: not.
        assert_eq!(unobstructed(&[100.0, 101.0, 102.0, 200.0], &rows), [true, true, true, true]);
        // The overflow shares row 0; the five other rows hold one marker each.
        let clear = unobstructed(&[5.0; 20], &rows_of);
        assert_eq!(clear.iter().filter(|c| **c).count(), MAX_ROWS - 1);
        assert!(clear.iter().zip(&rows_of).all(|(c, r)| *c == (*r != 0)));
    }

    #[test]
    fn ticks_are_inside_the_segment() {
        let s = Segment { start: 1000.0, end: 1000.0 + 7200.0, count: 3, x0: 150.0, width: 400.0 };
        let (ts, pattern) = ticks(&s);
        assert!(!ts.is_empty());
        assert!(ts.iter().all(|t| *t >= s.start && *t <= s.end));
        assert_eq!(pattern, "%H:%M");
    }
}
