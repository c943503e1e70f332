//! The grouping rule on messages as providers write them.

use super::*;

fn p(message: &str) -> String {
    pattern(Some(message))
}

/// Each message and the pattern it must give.
const CASES: &[(&str, &str)] = &[
    (
        "Provider rate limit exceeded (HTTP 429), retry after 12s",
        "Provider rate limit exceeded (HTTP 429), retry after <n>s",
    ),
    ("Network timeout", "Network timeout"),
    (
        "Request timed out after 30000ms",
        "Request timed out after <n>ms",
    ),
    (
        "Upstream timeout after 12.5 seconds (attempt 3 of 5)",
        "Upstream timeout after <n> seconds (attempt <n> of <n>)",
    ),
    (
        "NSFW content detected in generated image #4",
        "NSFW content detected in generated image #<n>",
    ),
    (
        "Content policy violation (request id: req_8f3a2b9c1d7e)",
        "Content policy violation (request id: req_<id>)",
    ),
    (
        "Task 3f2b8c1e-9d4a-4b7e-a1c2-0e5f6a7b8c9d failed: model overloaded",
        "Task <uuid> failed: model overloaded",
    ),
    (
        "Task 3F2B8C1E-9D4A-4B7E-A1C2-0E5F6A7B8C9D failed: model overloaded",
        "Task <uuid> failed: model overloaded",
    ),
    (
        "checksum mismatch: expected 9e107d9d372bb6826bd81d3542a419d6, got e4d909c290d0fb1ca068ffaddf22cbd0",
        "checksum mismatch: expected <hash>, got <hash>",
    ),
    (
        "Cannot fetch https://cdn.example.com/out/a.png?X-Amz-Signature=ab12&X-Amz-Expires=300 (HTTP 403)",
        "Cannot fetch https://cdn.example.com/out/a.png?<query> (HTTP 403)",
    ),
    (
        r#"{"error":{"status":503,"message":"Service Unavailable","retry_after":7}}"#,
        r#"{"error":{"status":503,"message":"Service Unavailable","retry_after":<n>}}"#,
    ),
    ("HTTP/1.1 502 Bad Gateway", "HTTP/<n> 502 Bad Gateway"),
    (
        "upstream answered 429 Too Many Requests",
        "upstream answered 429 Too Many Requests",
    ),
    ("Error 404: model not found", "Error 404: model not found"),
    (
        "Image size 1024x1024 exceeds the limit of 4194304 pixels",
        "Image size <n>x<n> exceeds the limit of <n> pixels",
    ),
    ("connect to 10.0.0.12:8443 refused", "connect to <n>:<n> refused"),
    (
        "生成失败：内容违规 (code 451), 任务 7f3a9c2e-1b4d-4e8f-9a0b-2c3d4e5f6a7b",
        "生成失败：内容违规 (code 451), 任务 <uuid>",
    ),
    ("  spaces\t\tand\nnew lines  ", "spaces and new lines"),
    ("Quota 0 left; 3 credits needed", "Quota <n> left; <n> credits needed"),
];

#[test]
fn real_looking_messages_give_their_pattern() {
    for (message, expected) in CASES {
        assert_eq!(&p(message), expected, "the pattern of {message:?}");
    }
}

#[test]
fn messages_that_differ_in_numbers_and_ids_are_one_group() {
    let same = [
        [
            "Provider rate limit exceeded (HTTP 429), retry after 12s",
            "Provider rate limit exceeded (HTTP 429), retry after 30s",
        ],
        [
            "Content policy violation (request id: req_8f3a2b9c1d7e)",
            "Content policy violation (request id: req_00a1b22c3d99)",
        ],
        [
            "Task 3f2b8c1e-9d4a-4b7e-a1c2-0e5f6a7b8c9d failed",
            "Task 00000000-0000-4000-8000-000000000000 failed",
        ],
        [
            "GET https://api.example.com/v1/tasks/123?token=abc&sig=1 failed",
            "GET https://api.example.com/v1/tasks/98765?token=zzz failed",
        ],
    ];
    for [a, b] in same {
        assert_eq!(p(a), p(b), "{a:?} and {b:?}");
    }
}

#[test]
fn different_problems_stay_apart() {
    let apart = [
        ["Upstream error (HTTP 429)", "Upstream error (HTTP 500)"],
        ["status: 400", "status: 503"],
        ["Network timeout", "NSFW content detected"],
        ["429 Too Many Requests", "503 Service Unavailable"],
    ];
    for [a, b] in apart {
        assert_ne!(p(a), p(b), "{a:?} and {b:?}");
    }
}

#[test]
fn no_error_text_is_the_unknown_group() {
    assert_eq!(pattern(None), UNKNOWN_ERROR);
    assert_eq!(p(""), UNKNOWN_ERROR);
    assert_eq!(p(" \n\t "), UNKNOWN_ERROR);
}

#[test]
fn a_huge_message_gives_a_capped_pattern_quickly() {
    let huge = format!("Out of memory: {}", "x".repeat(1_000_000));
    let started = std::time::Instant::now();
    let out = p(&huge);
    assert_eq!(out.chars().count(), PATTERN_MAX_CHARS);
    assert!(out.starts_with("Out of memory: xxx") && out.ends_with('…'));
    let digits = "9".repeat(500_000);
    assert_eq!(p(&digits), "<n>");
    let words = "id 42 ".repeat(100_000);
    assert!(p(&words).chars().count() <= PATTERN_MAX_CHARS);
    // Linear in the message: a quadratic rule would take hours on these, not seconds (the
    // bound leaves room for a debug build on a busy machine).
    let elapsed = started.elapsed();
    println!("three huge messages in {elapsed:?}");
    assert!(elapsed < std::time::Duration::from_secs(20));
}

#[test]
fn a_cut_never_splits_a_character() {
    let long = "é".repeat(5_000);
    let out = p(&long);
    assert_eq!(out.chars().count(), PATTERN_MAX_CHARS);
    assert!(out.ends_with('…'));
}

#[test]
fn a_pattern_is_its_own_pattern() {
    for (message, _) in CASES {
        let once = p(message);
        assert_eq!(p(&once), once, "the pattern of {message:?} is stable");
    }
}

#[test]
fn hostile_input_gives_a_pattern() {
    for message in [
        "?",
        "??=",
        "a?=b",
        "-_-",
        "0",
        "<n>",
        "....",
        "1.",
        ".5",
        "\u{0}\u{202e}",
    ] {
        let out = p(message);
        assert!(!out.is_empty() && out.chars().count() <= PATTERN_MAX_CHARS);
    }
}
