//! Prints the report of each input given on the command line (shape, counts, errors):
//! a quick way to see what the readers make of a file.
//!
//! `cargo run -p firebreak-events --example show_errors -- FILE_OR_DIR...`

use std::ops::ControlFlow;
use std::path::PathBuf;

fn main() {
    let paths: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let (files, errors) = firebreak_events::discover_inputs(&paths);
    for e in errors {
        println!(
            "{}",
            firebreak_events::sanitize::for_terminal(&e.to_string())
        );
    }
    for file in files {
        let report = firebreak_events::read_file(&file, &mut |_| ControlFlow::Continue(()));
        println!(
            "{}: {:?}, {} records, {} bytes read, {} decoded",
            firebreak_events::sanitize::for_terminal(&report.name),
            report.shape,
            report.records,
            report.bytes_read,
            report.bytes_decoded
        );
        for e in report.errors {
            println!(
                "  {}",
                firebreak_events::sanitize::for_terminal(&e.to_string())
            );
        }
    }
}
