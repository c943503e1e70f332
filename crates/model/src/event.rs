//! The events of docs/metrics.md, parsed and checked field by field so that a bad one is
//! rejected with a reason that names what was wrong.

use crate::dashboard::{Money, Tier};
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use std::collections::HashMap;

/// Limits that keep one event from filling the database or overflowing a sum.
pub const MAX_ID_LEN: usize = 256;
pub const MAX_NAME_LEN: usize = 256;
/// Longer provider error texts are cut to this many characters (marked with `…`).
pub const MAX_ERROR_CHARS: usize = 2_000;
pub const MAX_CREDITS: i64 = 1_000_000_000;
pub const MAX_COST_DOLLARS: i64 = 1_000_000;
/// A longer line of an import is rejected without being parsed.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Times are accepted from 2000-01-01T00:00:00Z (inclusive) to 2100-01-01T00:00:00Z
/// (exclusive), in microseconds since the epoch. A time outside is a sender's placeholder
/// (Go's zero time is year 1, `9999-12-31` often stands for "never") that would hide the
/// event from every window rather than show it.
pub const EARLIEST_TIME: i64 = 946_684_800_000_000;
pub const END_OF_TIMES: i64 = 4_102_444_800_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    User(UserEvent),
    Generation(GenerationEvent),
    Refund(RefundEvent),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserEvent {
    pub id: String,
    pub tier: Tier,
    pub credits: i64,
    pub email: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Succeeded,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        [Status::Pending, Status::Succeeded, Status::Failed]
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerationEvent {
    pub id: String,
    pub user_id: String,
    pub provider: String,
    pub model: Option<String>,
    pub status: Status,
    pub credits: i64,
    pub cost: Money,
    /// Microseconds since the Unix epoch.
    pub created_at: i64,
    pub completed_at: Option<i64>,
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundEvent {
    pub generation_id: String,
    pub credits: i64,
    pub at: i64,
}

/// Why an event was rejected, in words for the sender.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// One line of JSON Lines as read (with its line break or without): its event, or why it
/// cannot be one; `None` for a blank line.
pub fn parse_line(bytes: &[u8]) -> Option<Result<Event, String>> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if bytes.len() > MAX_LINE_BYTES {
        return Some(Err(format!("line longer than {MAX_LINE_BYTES} bytes")));
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Some(Err("not valid UTF-8".into()));
    };
    let text = text.trim();
    (!text.is_empty()).then(|| parse_event(text).map_err(|invalid| invalid.0))
}

fn invalid(message: impl Into<String>) -> Invalid {
    Invalid(message.into())
}

/// Parses one event from its JSON text.
pub fn parse_event(text: &str) -> Result<Event, Invalid> {
    let fields: FieldMap = serde_json::from_str(text).map_err(|e| {
        if e.is_data() {
            invalid("an event must be a JSON object")
        } else {
            invalid(format!("not valid JSON: {e}"))
        }
    })?;
    let fields = Fields(fields);
    let kind: String = fields.required("kind")?;
    match kind.as_str() {
        "user" => Ok(Event::User(UserEvent {
            id: fields.non_empty("id", MAX_ID_LEN)?,
            tier: {
                let tier: String = fields.required("tier")?;
                Tier::parse(&tier).ok_or_else(|| {
                    invalid(format!("tier: {tier:?} is not one of free, plus, pro"))
                })?
            },
            credits: fields.credits("credits", 0)?,
            email: fields.text("email", MAX_NAME_LEN)?,
        })),
        "generation" => generation(&fields).map(Event::Generation),
        "refund" => Ok(Event::Refund(RefundEvent {
            generation_id: fields.non_empty("generation_id", MAX_ID_LEN)?,
            credits: fields.credits("credits", 1)?,
            at: fields.timestamp("at")?,
        })),
        other => Err(invalid(format!(
            "kind: {other:?} is not one of user, generation, refund"
        ))),
    }
}

/// A generation event's fields; one cannot be completed before it was created.
fn generation(fields: &Fields) -> Result<GenerationEvent, Invalid> {
    let generation = GenerationEvent {
        id: fields.non_empty("id", MAX_ID_LEN)?,
        user_id: fields.non_empty("user_id", MAX_ID_LEN)?,
        provider: fields.non_empty("provider", MAX_NAME_LEN)?,
        model: fields.text("model", MAX_NAME_LEN)?,
        status: {
            let status: String = fields.required("status")?;
            Status::parse(&status).ok_or_else(|| {
                invalid(format!(
                    "status: {status:?} is not one of pending, succeeded, failed"
                ))
            })?
        },
        credits: fields.credits("credits", 0)?,
        cost: fields.cost("cost_usd")?,
        created_at: fields.timestamp("created_at")?,
        completed_at: fields.optional_timestamp("completed_at")?,
        error: fields.optional::<String>("error")?.map(readable_error),
    };
    if let Some(completed_at) = generation.completed_at {
        if completed_at < generation.created_at {
            return Err(invalid(format!(
                "completed_at: {} is before created_at, {}",
                rfc3339_exact(completed_at),
                rfc3339_exact(generation.created_at)
            )));
        }
    }
    Ok(generation)
}

/// A provider's error text as stored: cut when long, and without NUL characters (which
/// PostgreSQL cannot store in text) rather than losing the event for its message.
fn readable_error(error: String) -> String {
    let error = match error.char_indices().nth(MAX_ERROR_CHARS) {
        Some((end, _)) => format!("{}…", &error[..end]),
        None => error,
    };
    if error.contains('\0') {
        error.replace('\0', "\u{FFFD}")
    } else {
        error
    }
}

/// Ids and names are compared and stored as sent; PostgreSQL cannot store NUL in text.
fn check_no_nul(name: &str, text: &str) -> Result<(), Invalid> {
    match text.contains('\0') {
        true => Err(invalid(format!(
            "{name}: must not contain the NUL character (\\u0000)"
        ))),
        false => Ok(()),
    }
}

/// An event's fields by name, hashed with foldhash: with SipHash, hashing took a seventh of
/// an import's CPU, most of it here.
type FieldMap<'a> = HashMap<String, &'a RawValue, foldhash::fast::RandomState>;

struct Fields<'a>(FieldMap<'a>);

impl Fields<'_> {
    /// The field's value; a JSON `null` counts as absent.
    fn optional<T: Expected>(&self, name: &str) -> Result<Option<T>, Invalid> {
        match self.0.get(name) {
            None => Ok(None),
            Some(raw) if raw.get() == "null" => Ok(None),
            Some(raw) => serde_json::from_str(raw.get()).map(Some).map_err(|_| {
                invalid(format!(
                    "{name}: expected {}, got {}",
                    T::WHAT,
                    shorten(raw.get())
                ))
            }),
        }
    }

    fn required<T: Expected>(&self, name: &str) -> Result<T, Invalid> {
        self.optional(name)?
            .ok_or_else(|| invalid(format!("missing field {name:?}")))
    }

    /// A required string that is not blank and at most `max_len` bytes.
    fn non_empty(&self, name: &str, max_len: usize) -> Result<String, Invalid> {
        let text: String = self.required(name)?;
        if text.trim().is_empty() {
            return Err(invalid(format!("{name}: must not be empty")));
        }
        if text.len() > max_len {
            return Err(invalid(format!("{name}: longer than {max_len} bytes")));
        }
        check_no_nul(name, &text)?;
        Ok(text)
    }

    fn text(&self, name: &str, max_len: usize) -> Result<Option<String>, Invalid> {
        let text: Option<String> = self.optional(name)?;
        if let Some(text) = &text {
            if text.len() > max_len {
                return Err(invalid(format!("{name}: longer than {max_len} bytes")));
            }
            check_no_nul(name, text)?;
        }
        Ok(text)
    }

    fn credits(&self, name: &str, min: i64) -> Result<i64, Invalid> {
        let raw = self.0.get(name).map(|raw| raw.get()).unwrap_or("");
        let credits: i64 = self
            .required::<serde_json::Number>(name)?
            .as_i64()
            .ok_or_else(|| {
                invalid(format!(
                    "{name}: expected a whole number, got {}",
                    shorten(raw)
                ))
            })?;
        if !(min..=MAX_CREDITS).contains(&credits) {
            return Err(invalid(format!(
                "{name}: {credits} is not between {min} and {MAX_CREDITS}"
            )));
        }
        Ok(credits)
    }

    /// `cost_usd` as a JSON string or number, read from its text so that no float rounds it.
    fn cost(&self, name: &str) -> Result<Money, Invalid> {
        let raw = self
            .0
            .get(name)
            .map(|raw| raw.get())
            .filter(|raw| *raw != "null");
        let raw = raw.ok_or_else(|| invalid(format!("missing field {name:?}")))?;
        let text = if raw.starts_with('"') {
            serde_json::from_str::<String>(raw)
                .map_err(|_| invalid(format!("{name}: not a valid string")))?
        } else if raw.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            raw.to_owned()
        } else {
            return Err(invalid(format!(
                "{name}: expected a decimal number or string, got {}",
                shorten(raw)
            )));
        };
        Money::parse_dollars(&text, MAX_COST_DOLLARS)
            .map_err(|e| invalid(format!("{name}: {} {e}", shorten(&text))))
    }

    fn optional_timestamp(&self, name: &str) -> Result<Option<i64>, Invalid> {
        let Some(text) = self.optional::<String>(name)? else {
            return Ok(None);
        };
        let time = DateTime::parse_from_rfc3339(&text).map_err(|e| {
            invalid(format!(
                "{name}: {} is not an RFC 3339 timestamp with an offset ({e})",
                shorten(&text)
            ))
        })?;
        let micros = time.timestamp_micros();
        if !(EARLIEST_TIME..END_OF_TIMES).contains(&micros) {
            return Err(invalid(format!(
                "{name}: {} is outside the accepted times, {} to {} (exclusive)",
                shorten(&text),
                rfc3339(EARLIEST_TIME),
                rfc3339(END_OF_TIMES)
            )));
        }
        Ok(Some(micros))
    }

    fn timestamp(&self, name: &str) -> Result<i64, Invalid> {
        self.optional_timestamp(name)?
            .ok_or_else(|| invalid(format!("missing field {name:?}")))
    }
}

fn rfc3339(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// In UTC, with as many decimals as it has.
fn rfc3339_exact(micros: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// The JSON type a field must have, as error messages name it.
trait Expected: serde::de::DeserializeOwned {
    const WHAT: &'static str;
}

impl Expected for String {
    const WHAT: &'static str = "a string";
}

impl Expected for serde_json::Number {
    const WHAT: &'static str = "a number";
}

/// A value as quoted in an error message: long ones are cut.
fn shorten(text: &str) -> String {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> String {
        parse_event(text).unwrap_err().0
    }

    #[test]
    fn parses_the_examples_of_the_contract() {
        let user = parse_event(
            r#"{"kind":"user","id":"u_1","tier":"plus","credits":120,"email":"ann@example.com"}"#,
        );
        assert_eq!(
            user,
            Ok(Event::User(UserEvent {
                id: "u_1".into(),
                tier: Tier::Plus,
                credits: 120,
                email: Some("ann@example.com".into())
            }))
        );
        let failed = parse_event(
            r#"{"kind":"generation","id":"g_1","user_id":"u_1","provider":"NanoBanana","status":"failed","credits":2,"cost_usd":"0","created_at":"2026-11-03T09:15:00Z","completed_at":"2026-11-03T09:15:41Z","error":"Network timeout"}"#,
        )
        .unwrap();
        let Event::Generation(g) = failed else {
            panic!("not a generation")
        };
        assert_eq!(g.status, Status::Failed);
        assert_eq!(g.created_at, 1_793_697_300_000_000);
        assert_eq!(g.completed_at, Some(1_793_697_341_000_000));
        assert_eq!(g.error.as_deref(), Some("Network timeout"));
        let refund = parse_event(
            r#"{"kind":"refund","generation_id":"g_1","credits":2,"at":"2026-11-03T10:16:00+01:00"}"#,
        );
        assert_eq!(
            refund,
            Ok(Event::Refund(RefundEvent {
                generation_id: "g_1".into(),
                credits: 2,
                at: 1_793_697_360_000_000
            }))
        );
    }

    #[test]
    fn cost_is_read_exactly_from_strings_and_numbers() {
        let cost = |value: &str| {
            let line = format!(
                r#"{{"kind":"generation","id":"g","user_id":"u","provider":"P","status":"succeeded","credits":1,"cost_usd":{value},"created_at":"2026-11-03T09:15:00Z"}}"#
            );
            match parse_event(&line) {
                Ok(Event::Generation(g)) => Ok(g.cost.micros()),
                Ok(other) => panic!("{other:?}"),
                Err(e) => Err(e.0),
            }
        };
        assert_eq!(cost("0.1"), Ok(100_000));
        assert_eq!(cost("\"0.000001\""), Ok(1));
        assert_eq!(cost("0.123456"), Ok(123_456));
        assert_eq!(cost("2"), Ok(2_000_000));
        assert_eq!(
            cost("-0.5"),
            Err("cost_usd: -0.5 must not be negative".into())
        );
        assert_eq!(
            cost("\"0.1234567\""),
            Err("cost_usd: 0.1234567 has more than 6 decimal places".into())
        );
        assert_eq!(
            cost("true"),
            Err("cost_usd: expected a decimal number or string, got true".into())
        );
        assert_eq!(cost("null"), Err("missing field \"cost_usd\"".into()));
    }

    #[test]
    fn bad_events_say_what_is_wrong() {
        assert_eq!(
            reason("{"),
            "not valid JSON: EOF while parsing an object at line 1 column 1"
        );
        assert_eq!(reason("[1]"), "an event must be a JSON object");
        assert_eq!(reason(r#"{"id":"u"}"#), "missing field \"kind\"");
        assert_eq!(
            reason(r#"{"kind":"purchase"}"#),
            "kind: \"purchase\" is not one of user, generation, refund"
        );
        assert_eq!(
            reason(r#"{"kind":"user","id":"u","tier":"gold","credits":1}"#),
            "tier: \"gold\" is not one of free, plus, pro"
        );
        assert_eq!(
            reason(r#"{"kind":"user","id":"u","tier":"free","credits":-1}"#),
            "credits: -1 is not between 0 and 1000000000"
        );
        assert_eq!(
            reason(r#"{"kind":"user","id":"u","tier":"free","credits":1.5}"#),
            "credits: expected a whole number, got 1.5"
        );
        assert_eq!(
            reason(r#"{"kind":"user","id":"u","tier":"free","credits":"5"}"#),
            "credits: expected a number, got \"5\""
        );
        assert_eq!(
            reason(r#"{"kind":"user","id":"","tier":"free","credits":5}"#),
            "id: must not be empty"
        );
        assert_eq!(
            reason(
                r#"{"kind":"refund","generation_id":"g","credits":0,"at":"2026-11-03T09:15:00Z"}"#
            ),
            "credits: 0 is not between 1 and 1000000000"
        );
        assert!(reason(
            r#"{"kind":"refund","generation_id":"g","credits":1,"at":"2026-11-03 09:15"}"#
        )
        .starts_with("at: 2026-11-03 09:15 is not an RFC 3339 timestamp with an offset"));
        assert_eq!(
            reason(
                r#"{"kind":"refund","generation_id":"g","credits":1,"at":"2026-11-03T09:15:00"}"#
            )
            .split(" (")
            .next(),
            Some("at: 2026-11-03T09:15:00 is not an RFC 3339 timestamp with an offset")
        );
    }

    #[test]
    fn a_generation_cannot_complete_before_it_was_created() {
        let completed = |at: &str| {
            parse_event(&format!(
                r#"{{"kind":"generation","id":"g","user_id":"u","provider":"P","status":"failed","credits":1,"cost_usd":"0","created_at":"2026-11-03T09:15:00Z","completed_at":"{at}"}}"#
            ))
        };
        assert_eq!(
            completed("2026-11-03T09:14:59.5Z").unwrap_err().0,
            "completed_at: 2026-11-03T09:14:59.500Z is before created_at, 2026-11-03T09:15:00Z"
        );
        assert_eq!(
            completed("2026-11-03T10:14:00+01:00").unwrap_err().0,
            "completed_at: 2026-11-03T09:14:00Z is before created_at, 2026-11-03T09:15:00Z"
        );
        assert!(completed("2026-11-03T09:15:00Z").is_ok(), "at once is fine");
        assert!(completed("2026-11-03T10:15:00+01:00").is_ok());
    }

    #[test]
    fn a_line_may_be_as_long_as_the_limit_without_its_line_break() {
        let event = |pad: usize| {
            format!(
                r#"{{"kind":"user","id":"u","tier":"free","credits":1,"pad":"{}"}}"#,
                "x".repeat(pad)
            )
        };
        let longest = event(MAX_LINE_BYTES - event(0).len());
        assert_eq!(longest.len(), MAX_LINE_BYTES);
        assert!(matches!(parse_line(longest.as_bytes()), Some(Ok(_))));
        assert!(matches!(
            parse_line(format!("{longest}\n").as_bytes()),
            Some(Ok(_))
        ));
        assert_eq!(
            parse_line(format!(" {longest}").as_bytes()),
            Some(Err(format!("line longer than {MAX_LINE_BYTES} bytes")))
        );
        assert_eq!(parse_line(b" \t\r\n"), None);
    }

    #[test]
    fn times_outside_the_accepted_range_say_which_range() {
        let at = |time: &str| {
            parse_event(&format!(
                r#"{{"kind":"refund","generation_id":"g","credits":1,"at":"{time}"}}"#
            ))
        };
        assert!(at("2000-01-01T00:00:00Z").is_ok());
        assert!(at("2099-12-31T23:59:59.999999Z").is_ok());
        assert_eq!(
            at("0001-01-01T00:00:00Z").unwrap_err().0,
            "at: 0001-01-01T00:00:00Z is outside the accepted times, \
             2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z (exclusive)"
        );
        assert!(
            at("2100-01-01T00:59:00+01:00").is_ok(),
            "23:59 UTC on 31 Dec 2099"
        );
        assert!(at("2100-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn long_error_texts_are_cut_not_rejected() {
        let long = "x".repeat(MAX_ERROR_CHARS + 10);
        assert_eq!(readable_error(long).chars().count(), MAX_ERROR_CHARS + 1);
        assert_eq!(readable_error("short".into()), "short");
    }
}
