//! `usage-monitor-bench --tier-change`: one user with the first `--rows` generations
//! (written straight into a fresh database of each backend, their totals rebuilt) changes
//! tier in one `user` event, while sign-ins over HTTP and one-event ingest batches keep
//! coming. It prints how long the tier change's batch took to commit, how long the move of
//! the user's totals then took (in parts, after the commit), the slowest sign-in and batch
//! sent meanwhile, and whether a rebuild then finds the totals exact.

use super::{median, ms, Place};
use app::config::Settings;
use app::state::AppState;
use chrono::Utc;
use model::event::{parse_event, Event};
use server::router;
use sqlx::{AnyPool, Executor};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use store::db::transaction::begin_write_turn;
use store::db::Db;
use store::ingest::{store_events, store_events_before_moves};
use store::totals::rebuild;

type Error = Box<dyn std::error::Error>;

/// The user who changes tier, and the one whose generations keep coming meanwhile.
const HEAVY: &str = "heavy";
const OTHER: &str = "other";
/// The heavy user's generations go back this many days before the run.
const DAYS: i64 = 90;
/// Sign-ins timed while nothing else runs, for comparison.
const IDLE_SAMPLES: usize = 5;
/// How long the writers meanwhile wait after the tier change starts, so that it holds the
/// write lock when they come.
const HEAD_START: Duration = Duration::from_millis(20);

/// One backend's run.
struct Measured {
    backend: &'static str,
    rows: u64,
    /// The batch's commit, from its start.
    committed: Duration,
    /// The move of the user's totals after the commit, to its last part.
    moved: Duration,
    login_idle: Duration,
    logins: Vec<Duration>,
    batches: Vec<Duration>,
    exact: bool,
}

pub async fn run(args: &super::BenchArgs, settings: &Settings) -> Result<(), Error> {
    let rows = *args.rows.first().ok_or("no --rows")?;
    std::fs::create_dir_all(&args.sqlite_dir)?;
    sqlx::any::install_default_drivers();
    let leptos_options = app::config::leptos_options()?;
    let mut places = vec![(
        "SQLite",
        Place::Sqlite(args.sqlite_dir.join("tier-change.db")),
    )];
    if !args.postgres.is_empty() {
        let admin = AnyPool::connect(&args.postgres).await?;
        let database = "usage_monitor_bench_tier_change".to_owned();
        places.push(("PostgreSQL", Place::Postgres { admin, database }));
    }
    let mut results = Vec::new();
    for (backend, place) in places {
        let db = place.connect(settings).await?;
        let outcome = measure(backend, &db, rows, settings, &leptos_options).await;
        db.close().await;
        place.remove().await?;
        results.push(outcome?);
    }
    println!("{}", table(&results));
    Ok(())
}

async fn measure(
    backend: &'static str,
    db: &Db,
    rows: u64,
    settings: &Settings,
    leptos_options: &leptos::config::LeptosOptions,
) -> Result<Measured, Error> {
    let started = Instant::now();
    load(db, rows).await?;
    eprintln!(
        "bench: {backend}: {rows} generations of one user written, totals rebuilt, in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (server, sign_in) = serve(db, settings, leptos_options).await?;
    let mut idle = Vec::new();
    for _ in 0..IDLE_SAMPLES {
        idle.push(sign_in.timed().await?);
    }
    let change = [event(&format!(
        r#"{{"kind":"user","id":"{HEAVY}","tier":"pro","credits":100}}"#
    ))?];
    let writer = db.clone();
    let started = Instant::now();
    let tier_change = tokio::spawn(async move {
        let (report, deferred) = store_events_before_moves(&writer, &change).await?;
        let committed = started.elapsed();
        deferred.finish(&writer).await?;
        Ok::<_, store::ingest::ImportError>((
            report.stored,
            committed,
            started.elapsed() - committed,
        ))
    });
    tokio::time::sleep(HEAD_START).await;
    let (logins, batches) = tokio::join!(
        until_done(&tier_change, || sign_in.timed()),
        until_done(&tier_change, || batch(db)),
    );
    let (stored, committed, moved) = tier_change.await??;
    server.abort();
    if stored != 1 {
        return Err(format!("{backend}: the tier change was not stored").into());
    }
    let exact = rebuild(db).await?.were_exact;
    Ok(Measured {
        backend,
        rows,
        committed,
        moved,
        login_idle: median(&idle),
        logins: logins?,
        batches: batches?,
        exact,
    })
}

/// Times `write` again and again until `task` is done, at least once.
async fn until_done<T, F, Fut>(
    task: &tokio::task::JoinHandle<T>,
    write: F,
) -> Result<Vec<Duration>, Error>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Duration, Error>>,
{
    let mut times = vec![write().await?];
    while !task.is_finished() {
        times.push(write().await?);
    }
    Ok(times)
}

fn event(line: &str) -> Result<Event, Error> {
    parse_event(line).map_err(|e| e.0.into())
}

/// One ingest batch of one new generation of the other user, timed.
async fn batch(db: &Db) -> Result<Duration, Error> {
    let now = Utc::now();
    let id = format!("o{}", now.timestamp_micros());
    let created = now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let generation = event(&format!(
        r#"{{"kind":"generation","id":"{id}","user_id":"{OTHER}","provider":"Seedream","status":"succeeded","credits":2,"cost_usd":"0.027","created_at":"{created}"}}"#
    ))?;
    let started = Instant::now();
    let report = store_events(db, &[generation]).await?;
    if report.stored != 1 {
        return Err("a batch meanwhile was not stored".into());
    }
    Ok(started.elapsed())
}

/// Writes the heavy user's generations straight into the database (5 providers, 5 %
/// failing, four in five failures refunded), then rebuilds every total from them.
async fn load(db: &Db, rows: u64) -> Result<(), Error> {
    let end = Utc::now().timestamp_micros();
    let step = (DAYS * 86_400_000_000 / rows.max(1) as i64).max(1);
    let start = end - DAYS * 86_400_000_000;
    let error = "Provider rate limit exceeded (HTTP 429)";
    let group = model::error_group::pattern(Some(error));
    let mut tx = begin_write_turn(db).await?;
    tx.execute(
        format!(
            "INSERT INTO users (id, tier, credits) VALUES ('{HEAVY}', 'free', 100), ('{OTHER}', 'plus', 5)"
        )
        .as_str(),
    )
    .await?;
    let generations = format!(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last})
         INSERT INTO generations (id, user_id, provider, status, credits, cost_micros, created_at,
                                  completed_at, error, error_group, refunded_credits)
         SELECT 'h' || CAST(i AS TEXT), '{HEAVY}',
                CASE i % 5 WHEN 0 THEN 'NanoBanana' WHEN 1 THEN 'Seedream'
                    WHEN 2 THEN 'FLUX Kontext' WHEN 3 THEN 'GPT Image' ELSE 'WaveSpeed' END,
                CASE WHEN i % 20 = 7 THEN 'failed' ELSE 'succeeded' END,
                2 + i % 3, 12000 + (i % 4) * 10000,
                {start} + CAST(i AS BIGINT) * {step},
                {start} + CAST(i AS BIGINT) * {step} + (i % 40 + 1) * 1000000,
                CASE WHEN i % 20 = 7 THEN $1 END,
                CASE WHEN i % 20 = 7 THEN $2 END,
                CASE WHEN i % 20 = 7 AND i % 100 <> 87 THEN 2 END
         FROM n",
        last = rows.saturating_sub(1),
    );
    sqlx::query(&generations)
        .bind(error)
        .bind(group)
        .execute(&mut *tx)
        .await?;
    tx.execute(
        "INSERT INTO refunds (generation_id, credits, at)
         SELECT id, refunded_credits, created_at + 60000000 FROM generations
         WHERE refunded_credits IS NOT NULL",
    )
    .await?;
    tx.commit().await?;
    rebuild(db).await?;
    let settle = if db.is_sqlite() {
        "ANALYZE"
    } else {
        "VACUUM ANALYZE"
    };
    db.pool.execute(settle).await?;
    Ok(())
}

/// Signs in over HTTP as the bench's admin.
struct SignIn {
    client: reqwest::Client,
    url: String,
    email: String,
    password: String,
}

impl SignIn {
    async fn timed(&self) -> Result<Duration, Error> {
        let started = Instant::now();
        let response = self
            .client
            .post(&self.url)
            .form(&[("email", &self.email), ("password", &self.password)])
            .send()
            .await?;
        let took = started.elapsed();
        if response.status() != reqwest::StatusCode::SEE_OTHER {
            return Err(format!("a sign-in answered {}", response.status()).into());
        }
        Ok(took)
    }
}

/// Serves the app on a free local port with an admin to sign in as.
async fn serve(
    db: &Db,
    settings: &Settings,
    leptos_options: &leptos::config::LeptosOptions,
) -> Result<(tokio::task::JoinHandle<std::io::Result<()>>, SignIn), Error> {
    let email = "bench@example.com".to_owned();
    let password = store::auth::secret::random_secret();
    store::auth::accounts::create_admin(db, &email, &password, true).await?;
    let state = AppState::new(leptos_options.clone(), db.clone(), settings.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/login", listener.local_addr()?);
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let sign_in = SignIn {
        client,
        url,
        email,
        password,
    };
    Ok((server, sign_in))
}

fn table(results: &[Measured]) -> String {
    let mut out = String::from(
        "| backend | the user's generations | tier change committed in | then the move took | slowest sign-in meanwhile | slowest batch meanwhile | sign-in alone | totals exact |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n",
    );
    for r in results {
        let slowest = |times: &[Duration]| times.iter().max().copied().unwrap_or_default();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} (of {}) | {} (of {}) | {} | {} |\n",
            r.backend,
            model::dashboard::group_thousands(r.rows),
            ms(r.committed),
            ms(r.moved),
            ms(slowest(&r.logins)),
            r.logins.len(),
            ms(slowest(&r.batches)),
            r.batches.len(),
            ms(r.login_idle),
            if r.exact { "yes" } else { "no" },
        ));
    }
    out
}
