//! The JSON Lines import that `usage-monitor import` and `usage-monitor demo` use, and the
//! write transactions that every way of storing events goes through.

use super::store::{store_batch, Applied, Outcome, Reason};
use crate::db::profile::timed;
use crate::db::transaction::begin_write_turn;
use crate::db::Db;
use crate::totals::pending_moves::Deferred;
use model::event::{parse_line, Event, MAX_LINE_BYTES};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// How many lines share one transaction: large enough that a batch's writes to the indexes
/// and totals share pages (at 10 M generations on SQLite, 10,000 lines per transaction made
/// an import half as fast, and 200,000 were 19 % faster than 100,000), small enough that an
/// interrupted import keeps most of its work and that a batch's rows fit in memory (about
/// 300 MB).
const LINES_PER_TRANSACTION: usize = 200_000;
/// A transaction also ends after this many bytes of line text, so that lines that carry
/// large fields (which the parser reads past, but which are held until then) cannot make
/// a chunk of gigabytes. Lines of the usual few hundred bytes reach the line count first.
const BYTES_PER_TRANSACTION: usize = 64 << 20;
/// How often a write transaction is tried when PostgreSQL gives up on it (serialization
/// failure or deadlock, which only a writer outside this program can cause).
const WRITE_ATTEMPTS: u32 = 3;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Events that created or changed something.
    pub stored: u64,
    /// Valid events that changed nothing (repeats, or a stale `pending`).
    pub unchanged: u64,
    pub rejected: Vec<Rejection>,
    /// False when `--strict` threw everything away because a line was rejected.
    pub committed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line number in the input.
    pub line: u64,
    pub reason: Reason,
}

/// How far an import has come: told after each transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Lines read and stored (or rejected).
    pub lines: u64,
    /// Bytes of input they took.
    pub bytes: u64,
    /// Valid events among them.
    pub events: u64,
}

impl Report {
    fn record(&mut self, line: u64, outcome: Outcome) {
        match outcome {
            Ok(Applied::Stored) => self.stored += 1,
            Ok(Applied::Unchanged) => self.unchanged += 1,
            Err(reason) => self.rejected.push(Rejection { line, reason }),
        }
    }

    fn absorb(&mut self, other: Report) {
        self.stored += other.stored;
        self.unchanged += other.unchanged;
        self.rejected.extend(other.rejected);
    }
}

/// Stores a batch in a write transaction of its own and commits it; starts again from
/// scratch when the database gave up on the transaction and says that trying again may
/// succeed. Returns the tier moves the batch recorded, for the caller to finish.
async fn store_with_retries(
    db: &Db,
    events: &[Result<&Event, Reason>],
) -> Result<(Vec<Outcome>, Deferred), sqlx::Error> {
    let mut attempt = 1;
    loop {
        let mut tx = begin_write_turn(db).await?;
        let result = match timed("store a batch, in all", store_batch(&mut tx, events)).await {
            Ok(outcomes) => timed("commit", tx.commit()).await.map(|()| outcomes),
            Err(error) => Err(error),
        };
        match result {
            Err(error) if attempt < WRITE_ATTEMPTS && worth_retrying(&error) => {
                tracing::warn!(%error, attempt, "write transaction failed; trying again");
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// [`store_with_retries`], then the tier moves the batch recorded, each part in its own
/// transaction: the caller hears back once the totals are all moved.
async fn store_and_move(
    db: &Db,
    events: &[Result<&Event, Reason>],
) -> Result<Vec<Outcome>, sqlx::Error> {
    let (outcomes, deferred) = store_with_retries(db, events).await?;
    timed("move the totals of long histories", deferred.finish(db)).await?;
    Ok(outcomes)
}

/// PostgreSQL's serialization failure and deadlock; SQLite's "busy" after its timeout.
fn worth_retrying(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(error) = error else {
        return false;
    };
    matches!(error.code().as_deref(), Some("40001" | "40P01" | "5"))
}

/// A line's event, or why it cannot be one.
type Parsed = Result<Event, Reason>;

/// Imports JSON Lines. Every valid line is stored and every bad one reported by number;
/// with `strict`, nothing is stored if any line is bad.
pub async fn import_lines<R: AsyncBufRead + Unpin>(
    db: &Db,
    input: R,
    strict: bool,
) -> Result<Report, ImportError> {
    import_lines_telling(db, input, strict, |_| ()).await
}

/// [`import_lines`], telling `progress` how far it has come after each transaction.
pub async fn import_lines_telling<R: AsyncBufRead + Unpin>(
    db: &Db,
    input: R,
    strict: bool,
    progress: impl FnMut(Progress),
) -> Result<Report, ImportError> {
    let lines = Lines::new(input, ChunkLimits::DEFAULT);
    import_chunks(db, lines, strict, progress).await
}

async fn import_chunks<R: AsyncBufRead + Unpin>(
    db: &Db,
    mut lines: Lines<R>,
    strict: bool,
    mut progress: impl FnMut(Progress),
) -> Result<Report, ImportError> {
    let mut report = Report {
        committed: true,
        ..Report::default()
    };
    // Strict: one transaction for everything, kept until the last line is known good.
    let mut strict_tx = match strict {
        true => Some(begin_write_turn(db).await?),
        false => None,
    };
    // The tier moves of the strict transaction, finished once it commits.
    let mut deferred = Deferred::default();
    let mut pending = Report::default();
    let mut done = Progress::default();
    let mut chunk = lines.next_parsed_chunk().await?;
    // Until nothing is read (a chunk of blank lines has no events but is no end).
    while chunk.bytes > 0 {
        let events: Vec<Result<&Event, Reason>> = chunk
            .lines
            .iter()
            .map(|(_, parsed)| parsed.as_ref().map_err(Reason::clone))
            .collect();
        let store = async {
            match &mut strict_tx {
                Some(tx) => {
                    let (outcomes, recorded) = store_batch(tx, &events).await?;
                    deferred.absorb(recorded);
                    Ok::<_, sqlx::Error>(outcomes)
                }
                None => store_and_move(db, &events).await,
            }
        };
        // The next lines are read, and parsed on another thread, while the database works
        // on these.
        let next = lines.next_parsed_chunk();
        let (outcomes, next) = tokio::join!(store, next);
        let outcomes = outcomes.map_err(|error| ImportError::Database {
            line: chunk
                .lines
                .first()
                .map_or(chunk.last_line, |(line, _)| *line),
            stored_before: report.stored,
            error,
        })?;
        done.events += events.iter().filter(|event| event.is_ok()).count() as u64;
        drop(events);
        for ((line, _), outcome) in chunk.lines.iter().zip(outcomes) {
            pending.record(*line, outcome);
        }
        if strict_tx.is_none() {
            report.absorb(std::mem::take(&mut pending));
        }
        done.lines = chunk.last_line;
        done.bytes += chunk.bytes;
        progress(done);
        chunk = next?;
    }
    if let Some(tx) = strict_tx {
        if pending.rejected.is_empty() {
            tx.commit().await?;
            deferred.finish(db).await?;
            report.absorb(pending);
        } else {
            tx.rollback().await?;
            report.rejected = pending.rejected;
            report.committed = false;
        }
    }
    Ok(report)
}

/// Where a chunk of lines (one transaction's) ends: at whichever limit comes first.
#[derive(Clone, Copy, Debug)]
struct ChunkLimits {
    lines: usize,
    bytes: usize,
}

impl ChunkLimits {
    const DEFAULT: ChunkLimits = ChunkLimits {
        lines: LINES_PER_TRANSACTION,
        bytes: BYTES_PER_TRANSACTION,
    };
}

/// One transaction's lines, parsed (blank ones left out), with the number of the last line
/// read and the bytes read.
struct Chunk {
    lines: Vec<(u64, Parsed)>,
    last_line: u64,
    bytes: u64,
}

/// The input's lines, numbered from 1.
struct Lines<R> {
    input: R,
    limits: ChunkLimits,
    number: u64,
    /// The line being read, kept between lines so that each line held is allocated at its
    /// own size.
    line: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> Lines<R> {
    fn new(input: R, limits: ChunkLimits) -> Lines<R> {
        Lines {
            input,
            limits,
            number: 0,
            line: Vec::new(),
        }
    }

    /// The next lines with their numbers, as many as share a transaction; none at the end
    /// of the input.
    async fn next_chunk(&mut self) -> Result<Vec<(u64, Box<[u8]>)>, ImportError> {
        let mut chunk = Vec::new();
        let mut bytes = 0;
        while chunk.len() < self.limits.lines && bytes < self.limits.bytes {
            self.line.clear();
            // A line is read up to one byte past the limit, so that a huge one (a file
            // without line breaks) is reported without being held in memory.
            let read = (&mut self.input)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut self.line)
                .await;
            if read.map_err(ImportError::Read)? == 0 {
                break;
            }
            if self.line.len() > MAX_LINE_BYTES && self.line.last() != Some(&b'\n') {
                self.skip_rest_of_line().await.map_err(ImportError::Read)?;
            }
            self.number += 1;
            bytes += self.line.len();
            chunk.push((self.number, self.line.as_slice().into()));
        }
        Ok(chunk)
    }

    /// The next chunk, parsed on the blocking pool, so that parsing and storing use both
    /// cores.
    async fn next_parsed_chunk(&mut self) -> Result<Chunk, ImportError> {
        let lines = self.next_chunk().await?;
        let bytes = lines.iter().map(|(_, line)| line.len() as u64).sum();
        let last_line = self.number;
        let parse = move || {
            lines
                .into_iter()
                .filter_map(|(number, bytes)| {
                    let parsed = parse_line(&bytes)?.map_err(Reason::from);
                    Some((number, parsed))
                })
                .collect()
        };
        let lines = tokio::task::spawn_blocking(parse)
            .await
            .map_err(|stopped| ImportError::Read(std::io::Error::other(stopped)))?;
        Ok(Chunk {
            lines,
            last_line,
            bytes,
        })
    }

    async fn skip_rest_of_line(&mut self) -> std::io::Result<()> {
        loop {
            let available = self.input.fill_buf().await?;
            if available.is_empty() {
                return Ok(());
            }
            match available.iter().position(|byte| *byte == b'\n') {
                Some(end) => {
                    self.input.consume(end + 1);
                    return Ok(());
                }
                None => {
                    let all = available.len();
                    self.input.consume(all);
                }
            }
        }
    }
}

/// Stores events in one transaction, each one's outcome reported by its 1-based position;
/// an entry that could not be parsed is reported with its reason. Safe for many concurrent
/// callers: writers take turns (`begin_write_turn`). Answers once the tier moves the batch
/// recorded are done.
pub async fn store_parsed(
    db: &Db,
    parsed: &[Result<&Event, Reason>],
) -> Result<Report, sqlx::Error> {
    let (report, deferred) = store_parsed_before_moves(db, parsed).await?;
    deferred.finish(db).await?;
    Ok(report)
}

/// [`store_parsed`], answering at the commit with the tier moves still to finish: for the
/// bench, which times the two apart, and the tests, which stop a move half-way.
pub async fn store_parsed_before_moves(
    db: &Db,
    parsed: &[Result<&Event, Reason>],
) -> Result<(Report, Deferred), sqlx::Error> {
    let (outcomes, deferred) = store_with_retries(db, parsed).await?;
    let mut report = Report {
        committed: true,
        ..Report::default()
    };
    for (index, outcome) in outcomes.into_iter().enumerate() {
        report.record(index as u64 + 1, outcome);
    }
    Ok((report, deferred))
}

/// Stores already-checked events in one transaction (see [`store_parsed`]).
pub async fn store_events(db: &Db, events: &[Event]) -> Result<Report, ImportError> {
    let parsed: Vec<Result<&Event, Reason>> = events.iter().map(Ok).collect();
    Ok(store_parsed(db, &parsed).await?)
}

/// [`store_events`], answering at the commit (see [`store_parsed_before_moves`]).
pub async fn store_events_before_moves(
    db: &Db,
    events: &[Event],
) -> Result<(Report, Deferred), ImportError> {
    let parsed: Vec<Result<&Event, Reason>> = events.iter().map(Ok).collect();
    Ok(store_parsed_before_moves(db, &parsed).await?)
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read the input: {0}")]
    Read(std::io::Error),
    #[error("database error at line {line} ({stored_before} events were stored before it; importing again is safe): {error}")]
    Database {
        line: u64,
        stored_before: u64,
        error: sqlx::Error,
    },
    #[error("database error: {0}")]
    Transaction(#[from] sqlx::Error),
}

#[cfg(test)]
mod chunk_tests {
    use super::*;

    /// The line numbers of each chunk of `input` under `limits`, until the end.
    async fn chunks(input: &[u8], limits: ChunkLimits) -> Vec<Vec<u64>> {
        let mut lines = Lines::new(input, limits);
        let mut chunks = Vec::new();
        loop {
            let chunk = lines.next_chunk().await.unwrap();
            if chunk.is_empty() {
                return chunks;
            }
            chunks.push(chunk.iter().map(|(number, _)| *number).collect());
        }
    }

    #[tokio::test]
    async fn a_chunk_ends_at_its_byte_budget_or_its_line_count_whichever_comes_first() {
        // Five lines of 5 bytes each, with their line breaks.
        let input = b"aaaa\nbbbb\ncccc\ndddd\neeee\n";
        let by_bytes = ChunkLimits {
            lines: 100,
            bytes: 10,
        };
        assert_eq!(
            chunks(input, by_bytes).await,
            [vec![1, 2], vec![3, 4], vec![5]]
        );
        let by_lines = ChunkLimits {
            lines: 3,
            bytes: 1_000,
        };
        assert_eq!(chunks(input, by_lines).await, [vec![1, 2, 3], vec![4, 5]]);
        // A line longer than the budget makes a chunk of its own.
        let tiny = ChunkLimits {
            lines: 100,
            bytes: 3,
        };
        assert_eq!(chunks(input, tiny).await.len(), 5);
    }

    #[tokio::test]
    async fn each_chunk_tells_its_lines_and_bytes() {
        let input: &[u8] = b"aaaa\n\nbbbb\ncccc";
        let mut lines = Lines::new(
            input,
            ChunkLimits {
                lines: 2,
                bytes: 1_000,
            },
        );
        let first = lines.next_parsed_chunk().await.unwrap();
        assert_eq!((first.lines.len(), first.last_line, first.bytes), (1, 2, 6));
        let second = lines.next_parsed_chunk().await.unwrap();
        assert_eq!(
            (second.lines.len(), second.last_line, second.bytes),
            (2, 4, 9)
        );
    }
}
