//! How far a long command-line job has come: on a terminal a bar redrawn in place (lines,
//! events per second, time left; or the statement it runs, of how many), elsewhere (a log,
//! a pipe) a line every few seconds.

use std::io::Write;
use std::time::{Duration, Instant};

/// Elsewhere than on a terminal, a line at most this often.
pub const LINE_EVERY: Duration = Duration::from_secs(5);
/// On a terminal, the bar is redrawn at most this often.
const REDRAW_EVERY: Duration = Duration::from_millis(200);
/// The bar's width in characters.
const BAR_WIDTH: usize = 30;

/// Tells `out` how far a job has come, as often as suits where it goes.
pub struct Reporter<W: Write> {
    out: W,
    on_terminal: bool,
    /// What the job does, e.g. "importing".
    doing: &'static str,
    /// The input's size, when known (a file, not a pipe): for the bar and the time left.
    total_bytes: Option<u64>,
    started: Instant,
    last_told: Option<Instant>,
}

/// What has been done so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Done {
    pub lines: u64,
    pub bytes: u64,
    pub events: u64,
    /// For a job of a known number of statements: the one it runs.
    pub step: Option<Step>,
}

/// The statement a job runs: `number` (from 1) of `of`, and what it does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Step {
    pub number: usize,
    pub of: usize,
    pub what: String,
}

impl<W: Write> Reporter<W> {
    pub fn new(
        out: W,
        on_terminal: bool,
        doing: &'static str,
        total_bytes: Option<u64>,
        started: Instant,
    ) -> Reporter<W> {
        Reporter {
            out,
            on_terminal,
            doing,
            total_bytes,
            started,
            last_told: None,
        }
    }

    /// Tells what is done at `now`, if it is time to.
    pub fn tell(&mut self, done: Done, now: Instant) {
        let every = match self.on_terminal {
            true => REDRAW_EVERY,
            false => LINE_EVERY,
        };
        let since = self.last_told.unwrap_or(self.started);
        if now.duration_since(since) < every {
            return;
        }
        self.last_told = Some(now);
        let text = self.describe(&done, now);
        // Progress is a courtesy: a closed or full output does not stop the job.
        let _ = match self.on_terminal {
            true => write!(self.out, "\r\x1b[2K{}{text}", self.bar(&done)),
            false => writeln!(self.out, "usage-monitor: {text}"),
        };
        let _ = self.out.flush();
    }

    /// Ends the bar's line on a terminal, so that what follows starts on a line of its own.
    pub fn finish(&mut self) {
        if self.on_terminal && self.last_told.is_some() {
            let _ = writeln!(self.out);
        }
    }

    fn describe(&self, done: &Done, now: Instant) -> String {
        let elapsed = now.duration_since(self.started).as_secs_f64();
        let rate = done.events as f64 / elapsed.max(0.001);
        let mut text = format!("{} …", self.doing);
        if let Some(step) = &done.step {
            text.push_str(&format!(
                " statement {} of {} ({}),",
                step.number, step.of, step.what
            ));
        }
        if done.lines > 0 {
            text.push_str(&format!(
                " {} lines, {} events/s,",
                grouped(done.lines),
                grouped(rate as u64)
            ));
        }
        if let Some(total) = self
            .total_bytes
            .filter(|total| *total > 0 && done.bytes > 0)
        {
            let left = elapsed * total.saturating_sub(done.bytes) as f64 / done.bytes as f64;
            text.push_str(&format!(" {} left", duration(left as u64)));
        } else {
            text.push_str(&format!(" {} so far", duration(elapsed as u64)));
        }
        text
    }

    fn bar(&self, done: &Done) -> String {
        let part = match (self.total_bytes.filter(|total| *total > 0), &done.step) {
            (Some(total), _) => done.bytes as f64 / total as f64,
            // The statements before the one running are done.
            (None, Some(step)) if step.of > 0 => {
                step.number.saturating_sub(1) as f64 / step.of as f64
            }
            _ => return String::new(),
        };
        let part = part.min(1.0);
        let filled = (part * BAR_WIDTH as f64).round() as usize;
        format!(
            "[{}{}] {:>3} % ",
            "#".repeat(filled),
            "-".repeat(BAR_WIDTH - filled),
            (part * 100.0).floor()
        )
    }
}

/// 1234567 as "1,234,567".
fn grouped(number: u64) -> String {
    let digits = number.to_string();
    let mut text = String::new();
    for (n, digit) in digits.chars().enumerate() {
        if n > 0 && (digits.len() - n).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

/// Seconds as "2 min 05 s" or "40 s".
fn duration(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds} s"),
        _ => format!("{} min {:02} s", seconds / 60, seconds % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reporter(on_terminal: bool, total: Option<u64>, started: Instant) -> Reporter<Vec<u8>> {
        Reporter::new(Vec::new(), on_terminal, "importing", total, started)
    }

    fn done(lines: u64, bytes: u64) -> Done {
        Done {
            lines,
            bytes,
            events: lines,
            step: None,
        }
    }

    #[test]
    fn elsewhere_than_a_terminal_a_line_every_few_seconds_with_rate_and_time_left() {
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        let mut progress = reporter(false, Some(1_000_000), start);
        progress.tell(done(100_000, 100_000), at(1));
        progress.tell(done(200_000, 200_000), at(4));
        progress.tell(done(300_000, 250_000), at(5));
        progress.tell(done(400_000, 400_000), at(9));
        progress.tell(done(500_000, 500_000), at(10));
        progress.finish();
        let text = String::from_utf8(progress.out).unwrap();
        assert_eq!(
            text,
            "usage-monitor: importing … 300,000 lines, 60,000 events/s, 15 s left\n\
             usage-monitor: importing … 500,000 lines, 50,000 events/s, 10 s left\n"
        );
    }

    #[test]
    fn on_a_terminal_a_bar_redrawn_in_place_then_a_line_break() {
        let start = Instant::now();
        let mut progress = reporter(true, Some(1_000), start);
        progress.tell(done(10, 250), start + Duration::from_millis(100));
        progress.tell(done(20, 500), start + Duration::from_secs(125));
        progress.finish();
        let text = String::from_utf8(progress.out).unwrap();
        assert_eq!(
            text,
            format!(
                "\r\x1b[2K[{}{}]  50 % importing … 20 lines, 0 events/s, 2 min 05 s left\n",
                "#".repeat(15),
                "-".repeat(15)
            )
        );
    }

    #[test]
    fn without_a_known_size_the_time_so_far() {
        let start = Instant::now();
        let mut progress = reporter(false, None, start);
        progress.tell(done(1_234_567, 9), start + Duration::from_secs(61));
        let text = String::from_utf8(progress.out).unwrap();
        assert_eq!(
            text,
            "usage-monitor: importing … 1,234,567 lines, 20,238 events/s, 1 min 01 s so far\n"
        );
    }

    #[test]
    fn a_job_without_counts_tells_its_time_so_far() {
        let start = Instant::now();
        let mut progress = Reporter::new(Vec::new(), false, "rebuilding the totals", None, start);
        progress.tell(Done::default(), start + Duration::from_secs(7));
        let text = String::from_utf8(progress.out).unwrap();
        assert_eq!(text, "usage-monitor: rebuilding the totals … 7 s so far\n");
    }

    fn statement(number: usize, what: &str) -> Done {
        let step = Step {
            number,
            of: 20,
            what: what.to_owned(),
        };
        Done {
            step: Some(step),
            ..Done::default()
        }
    }

    #[test]
    fn a_job_of_statements_tells_the_one_it_runs_every_few_seconds() {
        let start = Instant::now();
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        let mut progress = Reporter::new(Vec::new(), false, "rebuilding the totals", None, start);
        progress.tell(statement(1, "emptying generation totals"), at(1));
        progress.tell(statement(9, "filling generation totals"), at(5));
        progress.tell(statement(9, "filling generation totals"), at(9));
        progress.tell(statement(13, "filling user totals"), at(34));
        progress.finish();
        let text = String::from_utf8(progress.out).unwrap();
        assert_eq!(
            text,
            "usage-monitor: rebuilding the totals … statement 9 of 20 (filling generation totals), 5 s so far\n\
             usage-monitor: rebuilding the totals … statement 13 of 20 (filling user totals), 34 s so far\n"
        );
    }

    #[test]
    fn on_a_terminal_a_job_of_statements_has_a_bar_of_those_done() {
        let start = Instant::now();
        let mut progress = Reporter::new(Vec::new(), true, "rebuilding the totals", None, start);
        progress.tell(
            statement(11, "filling refund totals"),
            start + Duration::from_secs(34),
        );
        progress.finish();
        let text = String::from_utf8(progress.out).unwrap();
        assert_eq!(
            text,
            format!(
                "\r\x1b[2K[{}{}]  50 % rebuilding the totals … statement 11 of 20 (filling refund totals), 34 s so far\n",
                "#".repeat(15),
                "-".repeat(15)
            )
        );
    }
}
