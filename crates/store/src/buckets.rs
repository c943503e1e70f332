//! The buckets the running totals are kept in: quarter hours and UTC days, in
//! microseconds since 1970. The totals write them and the figures read them.

/// A quarter hour: every zone's offset today is a multiple of it.
pub const QUARTER: i64 = 15 * 60 * 1_000_000;
/// A UTC day: 96 quarters in one row, for the middle of long windows.
pub const DAY: i64 = 24 * 60 * 60 * 1_000_000;
/// The bucket lengths kept, longest first.
pub const SPANS: [i64; 2] = [DAY, QUARTER];

/// The start of the bucket of length `span` holding `micros`.
pub fn bucket_floor(micros: i64, span: i64) -> i64 {
    micros - micros.rem_euclid(span)
}

/// The first bucket edge at or after `micros`.
pub fn bucket_ceil(micros: i64, span: i64) -> i64 {
    let floor = bucket_floor(micros, span);
    if floor == micros {
        floor
    } else {
        floor + span
    }
}
