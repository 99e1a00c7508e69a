//! Renders the sample report's HTML in headless Chromium: a PNG screenshot, an A4 PDF and the
//! DOM after parsing (to check the SVG chart is there with one marker per timeline row).
//! Skipped when no Chromium is installed, except under CI (`CI` set), where that fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use firebreak_report::render_html;

fn chromium() -> Option<PathBuf> {
    // FIREBREAK_CHROMIUM names the browser; pointing it at a missing file simulates no browser.
    if let Some(path) = std::env::var_os("FIREBREAK_CHROMIUM") {
        return Some(PathBuf::from(path)).filter(|p| p.exists());
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"].iter().map(PathBuf::from).find(|p| p.exists())
}

/// Runs Chromium headless on `url` with `extra` arguments; returns stdout. Fails the test after
/// two minutes.
fn run_chromium(browser: &Path, url: &str, extra: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(url)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start chromium");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut { stdout }, &mut text).ok();
        text
    });
    let stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut { stderr }, &mut text).ok();
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().ok();
            child.wait().ok();
            panic!("chromium {extra:?} did not finish in 2 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = reader.join().unwrap();
    let err = err_reader.join().unwrap();
    assert!(status.success(), "chromium {extra:?} failed: {status}\n{err}");
    out
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (width, height)
}

#[test]
fn sample_report_renders_in_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set and no Chromium was found (apt-get install -y chromium, or set FIREBREAK_CHROMIUM)");
        }
        eprintln!("SKIPPED: no Chromium installed (apt-get install -y chromium)");
        return;
    };
    let (_case, input) = common::sample_input();
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-sample");
    std::fs::create_dir_all(&out_dir).unwrap();
    let html_path = out_dir.join("report.html");
    std::fs::write(&html_path, render_html(&input)).unwrap();
    std::fs::write(out_dir.join("report.md"), firebreak_report::render_markdown(&input)).unwrap();
    let url = format!("file://{}", html_path.display());

    let png = out_dir.join("report.png");
    let pdf = out_dir.join("report.pdf");
    std::fs::remove_file(&png).ok();
    std::fs::remove_file(&pdf).ok();
    run_chromium(&browser, &url, &[format!("--screenshot={}", png.display()), "--window-size=1280,2000".into()]);
    run_chromium(&browser, &url, &[format!("--print-to-pdf={}", pdf.display()), "--no-pdf-header-footer".into()]);
    let dom = run_chromium(&browser, &url, &["--dump-dom".into()]);

    let png_bytes = std::fs::read(&png).expect("screenshot written");
    assert!(png_bytes.len() > 50_000, "screenshot suspiciously small: {} bytes", png_bytes.len());
    assert_eq!(png_size(&png_bytes), (1280, 2000));

    let pdf_bytes = std::fs::read(&pdf).expect("PDF written");
    assert!(pdf_bytes.starts_with(b"%PDF-"), "not a PDF");
    assert!(pdf_bytes.len() > 30_000, "PDF suspiciously small: {} bytes", pdf_bytes.len());
    // One page per section at least (print CSS breaks before every section but the first).
    let pages = pdf_bytes.windows(10).filter(|w| w == b"/Type /Pag").count();
    let page_trees = pdf_bytes.windows(11).filter(|w| w == b"/Type /Pages").count();
    assert!(pages - page_trees >= 8, "expected at least 8 A4 pages, found {}", pages - page_trees);

    // The chart is in the parsed DOM with one marker per timeline row of each side.
    assert!(dom.contains("<svg"), "no SVG in the DOM");
    let attacker_marks = dom.matches(r#"class="mark attacker"#).count();
    let responder_marks = dom.matches(r#"class="mark responder"#).count();
    assert_eq!(attacker_marks, input.attacker_timeline.len());
    assert_eq!(responder_marks, input.responder_actions.len());
    assert!(attacker_marks >= 7 && responder_marks >= 7);
    assert!(dom.contains(common::ANSWER_CREATED));
    assert!(!dom.to_ascii_lowercase().contains("<script"));
    eprintln!("sample report: {} and {}", png.display(), pdf.display());
}

/// A busy case: 400 attacker events over three days, the response twelve days later.
fn busy_input() -> firebreak_report::ReportInput {
    use firebreak_report::{ActionEntry, ReportInput, TimelineEntry};
    let start = jiff::Timestamp::from_second(1_790_820_000).unwrap();
    let levels = ["medium", "high", "critical", "medium", "medium"];
    let attacker_timeline = (0..400i64)
        .map(|i| {
            // Bursts: most events in a few hours each day.
            let offset = (i / 130) * 86_400 + (i % 130) * 97 + if i % 7 == 0 { 14_000 } else { 0 };
            TimelineEntry {
                time: start.checked_add(jiff::SignedDuration::from_secs(offset)).unwrap().to_string(),
                principal: format!("arn:aws:iam::111122223333:user/u{}", i % 3),
                source_ip: "203.0.113.50".into(),
                event_source: "s3.amazonaws.com".into(),
                event_name: "GetObject".into(),
                resource: Some(format!("arn:aws:s3:::exports/{i}.csv")),
                rule_titles: vec!["Bulk download".into()],
                level: levels[(i % 5) as usize].into(),
                ..Default::default()
            }
        })
        .collect();
    let responder_actions = (0..25i64)
        .map(|i| ActionEntry {
            action_id: Some(i as u64 + 1),
            time: start.checked_add(jiff::SignedDuration::from_secs(15 * 86_400 + i * 45)).unwrap().to_string(),
            operator: "alice".into(),
            call: "iam:UpdateAccessKey".into(),
            target: format!("key {i}"),
            status: if i == 3 { "failed".into() } else { "applied".into() },
            ..Default::default()
        })
        .collect();
    ReportInput { case_name: "busy".into(), generated_at: "2026-10-20T00:00:00Z".into(), attacker_timeline, responder_actions, ..Default::default() }
}

#[test]
fn busy_timeline_renders_in_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set and no Chromium was found (apt-get install -y chromium, or set FIREBREAK_CHROMIUM)");
        }
        eprintln!("SKIPPED: no Chromium installed (apt-get install -y chromium)");
        return;
    };
    let input = busy_input();
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-busy");
    std::fs::create_dir_all(&out_dir).unwrap();
    let html_path = out_dir.join("report.html");
    let html = render_html(&input);
    std::fs::write(&html_path, &html).unwrap();
    let url = format!("file://{}", html_path.display());
    let png = out_dir.join("report.png");
    std::fs::remove_file(&png).ok();
    run_chromium(&browser, &url, &[format!("--screenshot={}", png.display()), "--window-size=1280,1100".into()]);
    assert!(std::fs::read(&png).map(|b| b.len()).unwrap_or(0) > 50_000);
    let dom = run_chromium(&browser, &url, &["--dump-dom".into()]);
    assert_eq!(dom.matches(r#"class="mark attacker"#).count(), 400);
    assert_eq!(dom.matches(r#"class="mark responder"#).count(), 25);
    // Four bursts, three cut gaps (between the three days of activity, and the twelve days
    // before the response).
    let svg = html.split("<svg").nth(1).unwrap().split("</svg>").next().unwrap();
    assert_eq!(svg.matches(r##"fill="#e2e8f0"/><text"##).count(), 3, "gap bands");
    assert!(svg.contains(">+12 d<"), "the response gap is labelled");
    eprintln!("busy report: {}", png.display());
}
