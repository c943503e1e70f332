//! Peak memory of the real binary (VmHWM) under inputs built to be costly: ingest bodies of
//! millions of tiny items, and an import of lines that carry a large field the format does
//! not know.

mod common;

use common::{ingest_token, post_events, serve, Backend, Database};
use std::io::Write;
use std::process::{Command, Stdio};
use usage_monitor::ingest_api::repeated_array;

/// The peak of a process's resident memory so far, in KiB.
fn peak_memory_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

#[test]
fn parallel_bodies_of_millions_of_items_leave_the_server_within_100_mib_of_idle() {
    let database = Database::new(Backend::Sqlite);
    let token = ingest_token(&database.url);
    let server = serve(
        &database.url,
        &[("RUST_LOG", "warn")],
        &database.log("server.log"),
    );
    let idle = peak_memory_kib(server.process.id());
    // Two million tiny items, and about 300,000 small objects.
    let bodies = [
        repeated_array("0", 4 << 20),
        repeated_array(r#"{"kind":"u"}"#, 4 << 20),
    ];
    let statuses: Vec<Option<u16>> = std::thread::scope(|scope| {
        let senders: Vec<_> = bodies
            .iter()
            .map(|body| scope.spawn(|| post_events(server.port(), &token, body).map(|(s, _)| s)))
            .collect();
        senders.into_iter().map(|s| s.join().unwrap()).collect()
    });
    let peak = peak_memory_kib(server.process.id());
    for status in &statuses {
        assert!(status.is_some_and(|s| s < 500), "{statuses:?}");
    }
    let batch = common::array(&common::generations("g", 10, "succeeded", 5));
    assert_eq!(
        post_events(server.port(), &token, &batch).map(|(s, _)| s),
        Some(200),
        "the server lives"
    );
    eprintln!(
        "idle {idle} KiB, peak {peak} KiB: {} MiB more",
        (peak - idle) / 1024
    );
    assert!(
        peak <= idle + 100 * 1024,
        "idle {idle} KiB, peak {peak} KiB: {} MiB more",
        (peak - idle) / 1024
    );
}

#[test]
fn an_import_of_lines_with_a_large_unknown_field_stays_under_300_mib() {
    const LINES: usize = 4_000;
    const FIELD_BYTES: usize = 100_000;
    let database = Database::new(Backend::Sqlite);
    // Created and migrated first, so that the import's memory is the import's.
    ingest_token(&database.url);
    let mut import = Command::new(common::BINARY)
        .args(["import", "-"])
        .current_dir(common::REPOSITORY)
        .env("DATABASE_URL", &database.url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = import.stdin.take().unwrap();
    let prompt = "x".repeat(FIELD_BYTES);
    for i in 0..LINES {
        writeln!(
            input,
            r#"{{"kind":"user","id":"u{i}","tier":"free","credits":1,"prompt":"{prompt}"}}"#
        )
        .unwrap();
    }
    input.flush().unwrap();
    // Still waiting for more input: every line written has been read, and its memory is
    // counted, before the import can end and take its figures along.
    let peak = peak_memory_kib(import.id());
    drop(input);
    let output = import.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{said}");
    assert!(said.contains(&format!("{LINES} events stored")), "{said}");
    eprintln!("import of {LINES} lines of {FIELD_BYTES} bytes: peak {peak} KiB");
    assert!(peak <= 300 * 1024, "peak {peak} KiB");
}
