//! Realistic demo data relative to now, so that every section of the dashboard shows
//! something: about 60 users across the tiers, three providers, tens of generations today
//! and hundreds this month, failures with real error texts, refunds and a few pending.

use crate::db::Db;
use crate::ingest::{store_events, ImportError, Report};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use model::dashboard::{Money, Tier};
use model::event::{Event, GenerationEvent, RefundEvent, Status, UserEvent};
use model::windows::local_midnight;
use sqlx::Row;

struct Provider {
    name: &'static str,
    model: &'static str,
    credits: i64,
    cost_micros: i64,
    failure_percent: u32,
    share_percent: u32,
}

const PROVIDERS: [Provider; 3] = [
    Provider {
        name: "NanoBanana",
        model: "google/nano-banana/edit",
        credits: 2,
        cost_micros: 39_000,
        failure_percent: 2,
        share_percent: 55,
    },
    Provider {
        name: "Seedream",
        model: "bytedance/seedream-v4",
        credits: 2,
        cost_micros: 27_000,
        failure_percent: 4,
        share_percent: 30,
    },
    Provider {
        name: "FLUX Kontext",
        model: "black-forest-labs/flux-kontext-pro",
        credits: 3,
        cost_micros: 40_000,
        failure_percent: 1,
        share_percent: 15,
    },
];

const ERRORS: [&str; 6] = [
    "Network timeout after 60s waiting for provider",
    "Invalid image format: expected PNG or JPEG, got image/heic",
    "Content policy violation: prompt was flagged by the provider's safety filter",
    "Provider rate limit exceeded (HTTP 429), retry after 12s",
    "Upstream error: 502 Bad Gateway from api.wavespeed.ai",
    "Input image too large: 6000x4000 exceeds the 4096x4096 limit",
];

const NAMES: [&str; 20] = [
    "ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jules", "kofi", "lena",
    "mateo", "nina", "omar", "priya", "quinn", "rosa", "sven", "yuki",
];

const DAYS: i64 = 40;

pub async fn has_generations(db: &Db) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*) FROM generations")
        .fetch_one(&db.pool)
        .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// Stores the demo events as of `now`; "today" is the local day in `zone`.
pub async fn fill(db: &Db, now: DateTime<Utc>, zone: Tz) -> Result<Report, ImportError> {
    store_events(db, &events(now, zone)).await
}

/// The demo events, the same for the same `now` (a fixed seed).
pub fn events(now: DateTime<Utc>, zone: Tz) -> Vec<Event> {
    let mut rng = fastrand::Rng::with_seed(2026);
    let (mut events, weighted_users) = users(&mut rng);
    let times = creation_times(&mut rng, now, zone);
    for (n, created_at) in times.into_iter().enumerate() {
        generation(&mut rng, n, &weighted_users, created_at, now, &mut events);
    }
    events
}

/// About 60 users across the tiers, and their ids repeated by how much each generates.
fn users(rng: &mut fastrand::Rng) -> (Vec<Event>, Vec<String>) {
    let mut events = Vec::new();
    let tiers = (0..60).map(|n| match n {
        0..5 => Tier::Pro,
        5..20 => Tier::Plus,
        _ => Tier::Free,
    });
    let mut users = Vec::new();
    for (n, tier) in tiers.enumerate() {
        let credits = match tier {
            Tier::Pro => rng.i64(120..=400),
            Tier::Plus => rng.i64(10..=120),
            Tier::Free if rng.u32(0..3) == 0 => 0,
            Tier::Free => rng.i64(1..=20),
        };
        let id = format!("u_{:03}", n + 1);
        let email = format!("{}.{}@example.com", NAMES[n % NAMES.len()], n + 1);
        // Paying users generate more.
        let weight = match tier {
            Tier::Pro => 6,
            Tier::Plus => 3,
            Tier::Free => 1,
        };
        users.extend(std::iter::repeat_n(id.clone(), weight));
        events.push(Event::User(UserEvent {
            id,
            tier,
            credits,
            email: Some(email),
        }));
    }
    (events, users)
}

/// When the generations were made: tens a day over the past days, and tens today.
fn creation_times(rng: &mut fastrand::Rng, now: DateTime<Utc>, zone: Tz) -> Vec<DateTime<Utc>> {
    let today_start = local_midnight(zone, now.with_timezone(&zone).date_naive());
    let mut times = Vec::new();
    for day in 1..=DAYS {
        let day_end = today_start - Duration::days(day - 1);
        for _ in 0..rng.i64(18..=42) {
            times.push(day_end - Duration::seconds(rng.i64(1..=86_400)));
        }
    }
    // Tens today, however early it is: spread over the hours of the day that have passed.
    let elapsed = (now - today_start).num_seconds().max(120);
    for _ in 0..rng.i64(30..=45) {
        times.push(today_start + Duration::seconds(rng.i64(0..elapsed - 60)));
    }
    times.sort();
    times
}

/// The `n`th generation, by a provider drawn by its share for one of `users`, and its
/// refund if it failed.
fn generation(
    rng: &mut fastrand::Rng,
    n: usize,
    users: &[String],
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
    events: &mut Vec<Event>,
) {
    let share = rng.u32(0..100);
    let provider = if share < PROVIDERS[0].share_percent {
        &PROVIDERS[0]
    } else if share < PROVIDERS[0].share_percent + PROVIDERS[1].share_percent {
        &PROVIDERS[1]
    } else {
        &PROVIDERS[2]
    };
    let id = format!("gen_{:05}", n + 1);
    let duration = Duration::seconds(rng.i64(6..=75));
    let status = if created_at + duration > now {
        Status::Pending
    } else if rng.u32(0..100) < provider.failure_percent {
        Status::Failed
    } else {
        Status::Succeeded
    };
    let finished = status != Status::Pending;
    events.push(Event::Generation(GenerationEvent {
        id: id.clone(),
        user_id: users[rng.usize(..users.len())].clone(),
        provider: provider.name.into(),
        model: Some(provider.model.into()),
        status,
        credits: provider.credits,
        cost: Money::from_micros(if status == Status::Succeeded {
            provider.cost_micros
        } else {
            0
        }),
        created_at: created_at.timestamp_micros(),
        completed_at: finished.then(|| (created_at + duration).timestamp_micros()),
        error: (status == Status::Failed).then(|| ERRORS[rng.usize(..ERRORS.len())].into()),
    }));
    let refund_at = created_at + duration + Duration::seconds(rng.i64(5..=300));
    if status == Status::Failed && refund_at < now && rng.u32(0..10) < 9 {
        events.push(Event::Refund(RefundEvent {
            generation_id: id,
            credits: provider.credits,
            at: refund_at.timestamp_micros(),
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_data_fills_every_section() {
        let now = DateTime::parse_from_rfc3339("2026-11-02T00:10:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let events = events(now, chrono_tz::UTC);
        let generations: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Generation(g) => Some(g),
                _ => None,
            })
            .collect();
        let users = events
            .iter()
            .filter(|e| matches!(e, Event::User(_)))
            .count();
        assert_eq!(users, 60);
        let today = generations
            .iter()
            .filter(|g| {
                g.created_at >= local_midnight(chrono_tz::UTC, now.date_naive()).timestamp_micros()
            })
            .count();
        assert!(
            today >= 30,
            "tens of generations today even just after midnight, got {today}"
        );
        assert!(generations.len() > 700, "hundreds this month");
        assert!(generations
            .iter()
            .all(|g| g.created_at < now.timestamp_micros()));
        for provider in PROVIDERS {
            assert!(generations.iter().any(|g| g.provider == provider.name));
        }
        assert!(generations.iter().any(|g| g.status == Status::Failed));
        assert!(events.iter().any(|e| matches!(e, Event::Refund(_))));
        assert_eq!(
            events,
            super::events(now, chrono_tz::UTC),
            "the same for the same now"
        );
    }
}
