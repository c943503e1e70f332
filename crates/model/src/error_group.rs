//! Error groups: failures whose messages differ only in their numbers, ids, UUIDs, hashes
//! and URL query strings are one group, named by its pattern.
//!
//! [`pattern`] is the rule, applied to each failure's error text when it is stored. Its
//! placeholders:
//!
//! - `<uuid>`: a UUID (8-4-4-4-12 hex digits, any case);
//! - `<hash>`: a run of 16 or more hex digits, digits and letters both (SHA, MD5, …);
//! - `<id>`: a run of letters and digits where digits come in 3 or more separate runs
//!   (`8f3a2b9c`, `k9x2m7q1`); in a word joined by `_` or `-`, only such parts are
//!   replaced (`req_8f3a2b9c` → `req_<id>`);
//! - `<n>`: any other run of digits, with its decimals (`12`, `1.5`, `10.0.0.1`); letters
//!   around it stay (`12s` → `<n>s`, `1024x1024` → `<n>x<n>`);
//! - `?<query>`: a URL's query string (`https://cdn.example.com/a.png?X-Amz-Signature=…`).
//!
//! HTTP status codes stay: a number from 100 to 599 right after `HTTP`, `HTTP/1.1`,
//! `status`, `code` or `error` (`HTTP 429`, `"status": 503`, `status code 400`, `Error
//! 404`) or right before a standard reason phrase (`429 Too Many Requests`), since a 429 and a 500 are different problems. Runs of
//! white space become one space; the pattern is at most [`PATTERN_MAX_CHARS`] characters
//! (cut with `…`). A failure without an error text (or only white space) is in the group
//! [`UNKNOWN_ERROR`].

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// Groups listed on the dashboard, newest first.
pub const ERROR_GROUPS_LIMIT: i64 = 20;
/// The longest pattern, in characters (the `…` that marks a cut included).
pub const PATTERN_MAX_CHARS: usize = 200;
/// The group of failures sent without an error text.
pub const UNKNOWN_ERROR: &str = "Unknown error";

/// One group of the window's failures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorGroup {
    /// The messages' common form (see [`pattern`]).
    pub pattern: String,
    /// Failures of the window in the group.
    pub count: i64,
    /// The providers of those failures, by name.
    pub providers: Vec<String>,
    /// When the first and the last of them were created, in the reporting time zone.
    #[serde(deserialize_with = "crate::dates::rfc3339::deserialize")]
    pub first_seen: DateTime<FixedOffset>,
    #[serde(deserialize_with = "crate::dates::rfc3339::deserialize")]
    pub last_seen: DateTime<FixedOffset>,
    /// The error text of the newest of them.
    pub example: String,
}

/// The group of a failure whose error text is `message`.
pub fn pattern(message: Option<&str>) -> String {
    let message = message.unwrap_or_default().trim();
    if message.is_empty() {
        return UNKNOWN_ERROR.to_owned();
    }
    let mut out = Pattern::default();
    let chars: Vec<char> = message.chars().collect();
    let mut i = 0;
    while i < chars.len() && !out.full() {
        i = out.take(&chars, i);
    }
    out.finish()
}

/// The pattern being written.
#[derive(Default)]
struct Pattern {
    text: String,
    chars: usize,
    cut: bool,
}

/// Reason phrases' first words after which a number from 100 to 599 is a status code.
const REASON_WORDS: [&str; 14] = [
    "Bad",
    "Unauthorized",
    "Payment",
    "Forbidden",
    "Not",
    "Method",
    "Request",
    "Conflict",
    "Gone",
    "Payload",
    "Unprocessable",
    "Too",
    "Internal",
    "Service",
];
/// Words right before a number from 100 to 599 that make it a status code.
const STATUS_WORDS: [&str; 4] = ["http", "status", "code", "error"];

impl Pattern {
    fn full(&self) -> bool {
        self.cut
    }

    fn push(&mut self, text: &str) {
        for c in text.chars() {
            if self.chars + 1 >= PATTERN_MAX_CHARS {
                self.cut = true;
                return;
            }
            self.text.push(c);
            self.chars += 1;
        }
    }

    /// Writes what starts at `chars[i]`; returns where the next piece starts.
    fn take(&mut self, chars: &[char], i: usize) -> usize {
        let c = chars[i];
        if c.is_whitespace() {
            let end = run(chars, i, |c| c.is_whitespace());
            self.push(" ");
            return end;
        }
        if c == '?' && i > 0 && !chars[i - 1].is_whitespace() && is_query(chars, i + 1) {
            self.push("?<query>");
            return run(chars, i + 1, |c| {
                !c.is_whitespace() && !"\"'()[]{}<>,".contains(c)
            });
        }
        if is_word(c) {
            let end = word_end(chars, i);
            // What came right before is enough to tell a status code.
            let before: String = chars[i.saturating_sub(24)..i].iter().collect();
            self.word(&chars[i..end], &before, &chars[end..]);
            return end;
        }
        self.push(&c.to_string());
        i + 1
    }

    /// Writes one word (letters, digits, `_`, `-`, and `.` between digits).
    fn word(&mut self, word: &[char], before: &str, after: &[char]) {
        let text: String = word.iter().collect();
        if !word.iter().any(char::is_ascii_digit) {
            return self.push(&text);
        }
        if is_status_code(&text, before, after) {
            return self.push(&text);
        }
        let replaced = replace_uuids(&text);
        let mut parts = Vec::new();
        for part in replaced.split_inclusive(['_', '-']) {
            let (body, joint) = match part.strip_suffix(['_', '-']) {
                Some(body) => (body, &part[body.len()..]),
                None => (part, ""),
            };
            parts.push(format!("{}{joint}", segment(body)));
        }
        self.push(&parts.concat());
    }

    fn finish(mut self) -> String {
        let trimmed = self.text.trim_end().len();
        self.text.truncate(trimmed);
        if self.cut {
            self.text.push('…');
        }
        self.text
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Where the word starting at `i` ends: a `.` belongs to it between two digits.
fn word_end(chars: &[char], i: usize) -> usize {
    let mut end = i;
    while end < chars.len() {
        let c = chars[end];
        let decimal = c == '.'
            && end > i
            && chars[end - 1].is_ascii_digit()
            && chars.get(end + 1).is_some_and(char::is_ascii_digit);
        if !is_word(c) && !decimal {
            break;
        }
        end += 1;
    }
    end
}

fn run(chars: &[char], i: usize, keep: impl Fn(char) -> bool) -> usize {
    let mut end = i;
    while end < chars.len() && keep(chars[end]) {
        end += 1;
    }
    end
}

/// Whether a query string (`name=…`) starts at `i`.
fn is_query(chars: &[char], i: usize) -> bool {
    let name = run(chars, i, |c| is_word(c) || c == '.' || c == '[' || c == ']');
    name > i && chars.get(name) == Some(&'=')
}

fn is_status_code(text: &str, before: &str, after: &[char]) -> bool {
    let in_range = text.len() == 3 && text.parse::<u16>().is_ok_and(|n| (100..=599).contains(&n));
    if !in_range {
        return false;
    }
    let previous = before
        .trim_end_matches(|c: char| c.is_whitespace() || ":=\"'(".contains(c))
        .rsplit(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let next: String = after
        .iter()
        .skip(1)
        .take_while(|c| c.is_alphabetic())
        .collect();
    let http_version = before
        .trim_end()
        .rsplit(char::is_whitespace)
        .next()
        .is_some_and(|word| word.to_ascii_lowercase().starts_with("http/"));
    http_version
        || STATUS_WORDS.iter().any(|w| previous.ends_with(w))
        || (after.first() == Some(&' ') && REASON_WORDS.contains(&next.as_str()))
}

/// `text` with each UUID replaced by `<uuid>`.
fn replace_uuids(text: &str) -> String {
    const SHAPE: [usize; 5] = [8, 4, 4, 4, 12];
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let candidate = chars.get(i..i + 36).filter(|c| {
            let mut at = 0;
            SHAPE.iter().enumerate().all(|(n, &len)| {
                let hex = c[at..at + len].iter().all(char::is_ascii_hexdigit);
                at += len;
                let dash = n == SHAPE.len() - 1 || c[at] == '-';
                at += 1;
                hex && dash
            })
        });
        if candidate.is_some() {
            out.push_str("<uuid>");
            i += 36;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// A part of a word between `_` and `-`: a hash, an id, or its digits as `<n>`.
fn segment(body: &str) -> String {
    let digit_runs = body
        .split(|c: char| !c.is_ascii_digit() && c != '.')
        .filter(|run| !run.is_empty())
        .count();
    let has_digit = body.chars().any(|c| c.is_ascii_digit());
    if !has_digit || body.contains("<uuid>") {
        return body.to_owned();
    }
    let hex_letter = body
        .chars()
        .any(|c| c.is_ascii_hexdigit() && !c.is_ascii_digit());
    if body.len() >= 16 && hex_letter && body.chars().all(|c| c.is_ascii_hexdigit()) {
        return "<hash>".to_owned();
    }
    if digit_runs >= 3 && body.chars().all(|c| c.is_ascii_alphanumeric()) {
        return "<id>".to_owned();
    }
    let mut out = String::new();
    let mut in_number = false;
    for c in body.chars() {
        let numeric = c.is_ascii_digit() || (c == '.' && in_number);
        if numeric && !in_number {
            out.push_str("<n>");
        } else if !numeric {
            out.push(c);
        }
        in_number = numeric;
    }
    out
}

#[cfg(test)]
mod tests;
