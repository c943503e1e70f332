//! How a window is read: whole buckets from the running totals (`crate::totals`) and
//! raw rows at its edges, each partial bucket from its cheaper side.

use crate::buckets::{bucket_ceil, bucket_floor, SPANS};
use model::windows::Window;

/// Where the figures are computed from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The running totals, plus the raw rows of partial buckets: what the dashboard uses.
    Totals,
    /// The straightforward SQL over the raw rows (indexed on `created_at`).
    RawRows,
}

/// A window as microseconds: start inclusive, end exclusive.
pub(crate) type Range = (i64, i64);

pub(crate) fn range(window: Window) -> Range {
    (
        window.start.timestamp_micros(),
        window.end.timestamp_micros(),
    )
}

/// What a window query reads: whole buckets of one span from the totals, or raw rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Buckets { span: i64, range: Range },
    Raw(Range),
}

/// The parts of `window` and the sign each is to be added up with: the whole window's raw
/// rows, or the buckets and raw edges [`cover`] reads it with, runs of buckets merged.
pub(super) fn parts(source: Source, window: Window) -> Vec<(Part, i64)> {
    if source == Source::RawRows {
        return vec![(Part::Raw(range(window)), 1)];
    }
    parts_in(&SPANS, range(window))
}

/// The parts that read `window` from totals kept in buckets of `spans` (longest first) and
/// from raw rows at its edges, as [`cover`] finds them, runs of buckets merged.
pub(crate) fn parts_in(spans: &[i64], window: Range) -> Vec<(Part, i64)> {
    let mut pieces = Vec::new();
    cover(window, 1, spans, window.1, &mut pieces);
    let mut buckets = Vec::new();
    let mut raw = Vec::new();
    for (part, sign) in pieces {
        match part {
            Part::Buckets { span, range } => buckets.push((span, range, sign)),
            Part::Raw(_) => raw.push((part, sign)),
        }
    }
    merge_adjacent(buckets)
        .into_iter()
        .map(|(span, range, sign)| (Part::Buckets { span, range }, sign))
        .chain(raw)
        .collect()
}

/// Adds to `out` the parts that read `(start, end)` with `sign`: the whole buckets of the
/// longest of `spans` inside it, and each partial bucket from its cheaper side, in the
/// shorter spans (raw rows after the last): the part inside, or the whole bucket less the
/// parts outside. A side costs the time before `now` that it covers: time after `now`
/// holds no rows (only a sender's clock ahead of ours would put some there), so the day
/// and the quarter that `now` falls in are each read as their bucket less the empty rest,
/// and reading today costs a day's totals however late it is.
fn cover((start, end): Range, sign: i64, spans: &[i64], now: i64, out: &mut Vec<(Part, i64)>) {
    if start >= end {
        return;
    }
    let Some((&span, shorter)) = spans.split_first() else {
        out.push((Part::Raw((start, end)), sign));
        return;
    };
    let (first, last) = (bucket_ceil(start, span), bucket_floor(end, span));
    if first < last {
        out.push((
            Part::Buckets {
                span,
                range: (first, last),
            },
            sign,
        ));
        cover((start, first), sign, spans, now, out);
        cover((last, end), sign, spans, now, out);
    } else if first == last && start < first && first < end {
        // Across one bucket edge: the two partial buckets each on their own.
        cover((start, first), sign, spans, now, out);
        cover((first, end), sign, spans, now, out);
    } else {
        let bucket = bucket_floor(start, span);
        let outside = [(bucket, start), (end, bucket + span)];
        let cost = |(a, b): Range| b.min(now) - a.min(now);
        if outside.into_iter().map(cost).sum::<i64>() < cost((start, end)) {
            out.push((
                Part::Buckets {
                    span,
                    range: (bucket, bucket + span),
                },
                sign,
            ));
            for part in outside {
                cover(part, -sign, shorter, now, out);
            }
        } else {
            cover((start, end), sign, shorter, now, out);
        }
    }
}
/// Bucket ranges of the same span and sign that meet, as one: an edge's quarter joins the
/// whole quarters next to it, so reading it from the totals costs no extra statement.
fn merge_adjacent(mut buckets: Vec<(i64, Range, i64)>) -> Vec<(i64, Range, i64)> {
    buckets.sort_by_key(|&(span, (start, _), sign)| (span, sign, start));
    let mut merged: Vec<(i64, Range, i64)> = Vec::with_capacity(buckets.len());
    for (span, (start, end), sign) in buckets {
        match merged.last_mut() {
            Some((s, (_, last_end), g)) if *s == span && *g == sign && *last_end == start => {
                *last_end = end;
            }
            _ => merged.push((span, (start, end), sign)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buckets::{DAY, QUARTER as Q};
    use chrono::DateTime;

    const MINUTE: i64 = 60_000_000;

    fn cover_of(range: Range, spans: &[i64], now: i64) -> Vec<(Part, i64)> {
        let mut out = Vec::new();
        cover(range, 1, spans, now, &mut out);
        out
    }

    fn buckets(span: i64, range: Range, sign: i64) -> (Part, i64) {
        (Part::Buckets { span, range }, sign)
    }

    #[test]
    fn whole_buckets_longest_first_then_partial_edges_from_their_cheaper_side() {
        let later = 10 * DAY;
        assert_eq!(
            cover_of((0, 3 * Q), &SPANS, later),
            vec![buckets(Q, (0, 3 * Q), 1)],
            "aligned quarters"
        );
        assert_eq!(
            cover_of((Q, Q), &SPANS, later),
            vec![],
            "an empty window reads nothing"
        );
        // A rolling week ending at `now`: whole days, the quarters of its first partial day,
        // a raw edge; its last partial day is that day's total less the (empty) time after now.
        let (start, now) = (DAY - 2 * Q - 7, 6 * DAY + 3 * Q + 7);
        assert_eq!(
            cover_of((start, now), &SPANS, now),
            vec![
                buckets(DAY, (DAY, 6 * DAY), 1),
                buckets(Q, (DAY - 2 * Q, DAY), 1),
                (Part::Raw((start, DAY - 2 * Q)), 1),
                buckets(DAY, (6 * DAY, 7 * DAY), 1),
                buckets(Q, (6 * DAY + 4 * Q, 7 * DAY), -1),
                (Part::Raw((now, 6 * DAY + 4 * Q)), -1),
            ]
        );
        // The last 24 hours at 03:00: the first partial day is shorter read as its day
        // less its first three hours.
        let now = DAY + 12 * Q;
        assert_eq!(
            cover_of((12 * Q, now), &SPANS, now),
            vec![
                buckets(DAY, (0, DAY), 1),
                buckets(Q, (0, 12 * Q), -1),
                buckets(DAY, (DAY, 2 * DAY), 1),
                buckets(Q, (now, 2 * DAY), -1),
            ]
        );
    }

    #[test]
    fn a_partial_quarter_is_read_from_its_shorter_side_and_the_one_at_now_from_its_quarter() {
        let quarters = [Q];
        let now = 10 * Q + 4 * MINUTE;
        assert_eq!(
            cover_of((10 * Q, now), &quarters, now),
            vec![
                buckets(Q, (10 * Q, 11 * Q), 1),
                (Part::Raw((now, 11 * Q)), -1)
            ],
            "the minutes before now: the quarter less anything after now"
        );
        assert_eq!(
            cover_of((2 * Q + 4 * MINUTE, 3 * Q), &quarters, now),
            vec![
                buckets(Q, (2 * Q, 3 * Q), 1),
                (Part::Raw((2 * Q, 2 * Q + 4 * MINUTE)), -1)
            ],
            "a rolling window starting 4 minutes into a quarter"
        );
        assert_eq!(
            cover_of((2 * Q + 11 * MINUTE, 3 * Q), &quarters, now),
            vec![(Part::Raw((2 * Q + 11 * MINUTE, 3 * Q)), 1)],
            "starting 11 minutes in: the 4 minutes inside are shorter"
        );
        assert_eq!(
            cover_of((7, Q + 3), &quarters, now),
            vec![
                buckets(Q, (0, Q), 1),
                (Part::Raw((0, 7)), -1),
                (Part::Raw((Q, Q + 3)), 1)
            ],
            "across a quarter's edge: each side on its own"
        );
        assert_eq!(
            cover_of((now - 3, now), &quarters, now),
            vec![(Part::Raw((now - 3, now)), 1)],
            "a window of a moment: its own rows"
        );
    }

    #[test]
    fn a_windows_parts_are_its_merged_buckets_then_its_raw_edges() {
        let at = |micros: i64| DateTime::from_timestamp_micros(micros).unwrap();
        // A rolling window from 4 minutes into a quarter to 2 minutes into another, days later.
        let window = Window {
            start: at(DAY - Q + 4 * MINUTE),
            end: at(3 * DAY + Q + 2 * MINUTE),
        };
        assert_eq!(
            parts(Source::Totals, window),
            vec![
                buckets(Q, (3 * DAY + 2 * Q, 4 * DAY), -1),
                buckets(Q, (DAY - Q, DAY), 1),
                buckets(DAY, (DAY, 4 * DAY), 1),
                (Part::Raw((DAY - Q, DAY - Q + 4 * MINUTE)), -1),
                (Part::Raw((3 * DAY + Q + 2 * MINUTE, 3 * DAY + 2 * Q)), -1),
            ]
        );
        assert_eq!(
            parts(Source::RawRows, window),
            vec![(Part::Raw(range(window)), 1)]
        );
    }

    #[test]
    fn an_edges_quarter_joins_the_whole_quarters_beside_it() {
        let buckets = vec![
            (DAY, (DAY, 3 * DAY), 1),
            (Q, (3 * DAY, 3 * DAY + 5 * Q), 1),
            (Q, (DAY - Q, DAY), 1),
            (Q, (3 * DAY + 5 * Q, 3 * DAY + 6 * Q), 1),
        ];
        assert_eq!(
            merge_adjacent(buckets),
            vec![
                (Q, (DAY - Q, DAY), 1),
                (Q, (3 * DAY, 3 * DAY + 6 * Q), 1),
                (DAY, (DAY, 3 * DAY), 1),
            ]
        );
    }
}
