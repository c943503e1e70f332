//! Sums over every generation and refund ever recorded, for the Prometheus counters: read
//! from the whole-day running totals (every generation is in exactly one day's bucket), a
//! few rows per day and provider however many generations there are. The newest event's
//! time is read from the `created_at` and refund time indexes.

use crate::buckets::DAY;
use crate::db::Db;
use crate::parts::Source;
use crate::report::from_micros;
use chrono::{DateTime, Utc};
use model::money::Money;
use sqlx::Row;

/// Everything ever recorded, per provider.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllTime {
    /// By provider name, in name order.
    pub providers: Vec<ProviderAllTime>,
    pub refunds: i64,
    /// When the newest generation was created or refund made; `None` before any.
    pub newest_event: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderAllTime {
    pub name: String,
    pub succeeded: i64,
    pub failed: i64,
    pub pending: i64,
    pub cost: Money,
}

const PROVIDER_TOTALS: &str = "
    SELECT provider,
           CAST(SUM(generations) AS BIGINT) AS generations,
           CAST(SUM(succeeded) AS BIGINT) AS succeeded,
           CAST(SUM(failed) AS BIGINT) AS failed,
           CAST(SUM(cost_micros) AS BIGINT) AS cost_micros
    FROM generation_totals
    WHERE span = $1
    GROUP BY provider
    ORDER BY provider";

const PROVIDER_ROWS: &str = "
    SELECT provider,
           COUNT(*) AS generations,
           COUNT(*) FILTER (WHERE status = 'succeeded') AS succeeded,
           COUNT(*) FILTER (WHERE status = 'failed') AS failed,
           CAST(SUM(cost_micros) AS BIGINT) AS cost_micros
    FROM generations
    GROUP BY provider
    ORDER BY provider";

const REFUND_TOTALS: &str = "
    SELECT CAST(COALESCE(SUM(refunds), 0) AS BIGINT) AS refunds FROM refund_totals WHERE span = $1";

const REFUND_ROWS: &str = "SELECT COUNT(*) AS refunds FROM refunds";

/// Each a maximum over an index: one step to its end.
const NEWEST_EVENT: &str = "
    SELECT (SELECT MAX(created_at) FROM generations) AS generation,
           (SELECT MAX(at) FROM refunds) AS refund";

/// The sums over everything recorded, from the running totals or (for the tests' reference)
/// from the raw rows.
pub async fn load(db: &Db, source: Source) -> Result<AllTime, sqlx::Error> {
    // The totals' statements read the whole-day buckets; the rows' take no argument.
    let (providers, refunds) = match source {
        Source::Totals => (
            sqlx::query(PROVIDER_TOTALS).bind(DAY),
            sqlx::query(REFUND_TOTALS).bind(DAY),
        ),
        Source::RawRows => (sqlx::query(PROVIDER_ROWS), sqlx::query(REFUND_ROWS)),
    };
    let providers = providers
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(provider)
        .collect::<Result<_, _>>()?;
    let refunds = refunds.fetch_one(&db.pool).await?.try_get("refunds")?;
    let newest = sqlx::query(NEWEST_EVENT).fetch_one(&db.pool).await?;
    let generation: Option<i64> = newest.try_get("generation")?;
    let refund: Option<i64> = newest.try_get("refund")?;
    Ok(AllTime {
        providers,
        refunds,
        newest_event: generation.max(refund).map(from_micros),
    })
}

fn provider(row: &sqlx::any::AnyRow) -> Result<ProviderAllTime, sqlx::Error> {
    let generations: i64 = row.try_get("generations")?;
    let succeeded: i64 = row.try_get("succeeded")?;
    let failed: i64 = row.try_get("failed")?;
    Ok(ProviderAllTime {
        name: row.try_get("provider")?,
        succeeded,
        failed,
        pending: generations - succeeded - failed,
        cost: Money::from_micros(row.try_get("cost_micros")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::testing::on_each_backend;
    use crate::ingest::import_lines;

    const EVENTS: &str = r#"{"kind":"generation","id":"a","user_id":"u1","provider":"Seedream","status":"succeeded","credits":2,"cost_usd":"0.039","created_at":"2025-01-01T10:00:00Z","completed_at":"2025-01-01T10:00:05Z"}
{"kind":"generation","id":"b","user_id":"u1","provider":"Seedream","status":"failed","credits":2,"cost_usd":"0.010","created_at":"2026-06-30T23:59:59.999999Z","error":"Timeout"}
{"kind":"generation","id":"c","user_id":"u2","provider":"NanoBanana","status":"pending","credits":1,"cost_usd":"0.000001","created_at":"2026-07-01T00:00:00Z"}
{"kind":"generation","id":"d","user_id":"u2","provider":"NanoBanana","status":"succeeded","credits":1,"cost_usd":"1.5","created_at":"2019-03-10T07:30:00Z"}
{"kind":"refund","generation_id":"b","credits":2,"at":"2026-07-02T08:00:00Z"}
"#;

    #[tokio::test]
    async fn nothing_recorded_is_zeros_and_no_newest_event() {
        on_each_backend(|db| async move {
            for source in [Source::Totals, Source::RawRows] {
                assert_eq!(load(&db, source).await.unwrap(), AllTime::default());
            }
        })
        .await;
    }

    #[tokio::test]
    async fn the_totals_sum_what_the_rows_hold_over_the_years() {
        on_each_backend(|db| async move {
            let report = import_lines(&db, EVENTS.as_bytes(), false).await.unwrap();
            assert!(report.rejected.is_empty(), "{:?}", report.rejected);
            let totals = load(&db, Source::Totals).await.unwrap();
            assert_eq!(totals, load(&db, Source::RawRows).await.unwrap());
            let names: Vec<_> = totals.providers.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(names, ["NanoBanana", "Seedream"]);
            let nano = &totals.providers[0];
            assert_eq!((nano.succeeded, nano.failed, nano.pending), (1, 0, 1));
            assert_eq!(nano.cost, Money::from_micros(1_500_001));
            assert_eq!(totals.refunds, 1);
            let newest = totals.newest_event.unwrap().to_rfc3339();
            assert_eq!(newest, "2026-07-02T08:00:00+00:00");
        })
        .await;
    }
}
