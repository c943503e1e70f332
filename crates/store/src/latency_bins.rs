//! The latency histogram's bins: the totals count each finished generation in the bin of
//! its `completed_at − created_at`, and the latency figure reads percentiles from them.

use std::sync::LazyLock;

/// Bins below 1 ms, then from 1 ms up by 2^(1/8) to about 37 hours; the last is open-ended.
pub const BINS: usize = 8 * 27 + 2;

/// Each bin's lower edge in microseconds (bin 0 takes everything below 1 ms, negative
/// latencies of bad clocks included). The same numbers as the table `latency_bins`.
pub static BIN_EDGES: LazyLock<Vec<i64>> = LazyLock::new(|| {
    std::iter::once(0)
        .chain((1..BINS).map(|k| (1000.0 * 2f64.powf((k - 1) as f64 / 8.0)).round() as i64))
        .collect()
});

/// The bin of a latency in microseconds.
pub fn bin_of(micros: i64) -> i64 {
    BIN_EDGES
        .partition_point(|&edge| edge <= micros)
        .saturating_sub(1) as i64
}
