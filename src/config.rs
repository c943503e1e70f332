//! Settings: `Leptos.toml` (its `[package.metadata.leptos]` section for Leptos, its `[app]`
//! section for ours), each overridable by an environment variable. Every setting is read
//! in this one place.

use crate::model::dashboard::HealthThresholds;
use crate::store::alerts::webhook::Webhook;
use crate::store::alerts::AlertSettings;
use crate::store::auth::session::SessionPolicy;
use crate::store::db::DbTimeouts;
use crate::store::figures::{ReportSettings, DEFAULT_REFUND_GRACE};
use chrono_tz::Tz;
use ipnet::IpNet;
use leptos::config::LeptosOptions;
use serde::Deserialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_CONFIG_FILE: &str = "Leptos.toml";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/usage-monitor.db";
const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// Figures shared by the requests of one second: under load, one computation serves them all.
const DEFAULT_STATS_MAX_AGE: Duration = Duration::from_secs(1);
/// Beyond a few seconds, shared figures would be stale without anyone noticing.
const MAX_STATS_MAX_AGE: Duration = Duration::from_secs(5);
const DEFAULT_ALERT_CHECK: Duration = Duration::from_secs(60);
/// Refunds later than a week are not late but missing.
const MAX_REFUND_GRACE_MINUTES: u64 = 7 * 24 * 60;

#[derive(Clone, Debug)]
pub struct Settings {
    pub database_url: String,
    pub database_timeouts: DbTimeouts,
    /// After SIGTERM, how long requests in flight may take before the server exits anyway.
    pub shutdown_grace: Duration,
    pub report: ReportSettings,
    pub refresh_seconds: u64,
    /// How long the server may hand out the same figures to every request (0: never).
    pub stats_max_age: Duration,
    pub access: AccessSettings,
    pub alerts: AlertSettings,
}

/// Who may come in, and for how long.
#[derive(Clone, Debug)]
pub struct AccessSettings {
    /// The address admins use (`https://usage.example.com`), when it is not the site
    /// address: it decides Secure cookies, and requests from it count as same-site.
    pub public_url: Option<String>,
    pub session: SessionPolicy,
    /// How long an account or address is refused after too many failed logins.
    pub login_lockout: Duration,
    /// Peers whose `X-Forwarded-For` names the client (none by default).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// How many password checks (argon2id, 19 MiB each) may run at once.
    pub login_hash_concurrency: usize,
    /// How many more may wait for their turn; beyond that, logins are answered `503`.
    pub login_hash_queue: usize,
}

impl AccessSettings {
    /// `scheme://host[:port]` of the public URL, as browsers send it in `Origin`.
    pub fn public_origin(&self) -> Option<&str> {
        let url = self.public_url.as_deref()?;
        let after_scheme = url.find("://")? + 3;
        let end = url[after_scheme..]
            .find('/')
            .map_or(url.len(), |slash| after_scheme + slash);
        Some(&url[..end])
    }

    /// Whether admins reach the dashboard over https (`public-url`).
    pub fn is_https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }
}

/// Password checks waiting for their turn, by default: a few seconds of checks.
const DEFAULT_LOGIN_HASH_QUEUE: usize = 64;

/// One password check at a time per core, by default.
fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// The `[app]` section of Leptos.toml, with the environment variable that overrides each key.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct AppSection {
    /// `DATABASE_URL`
    database_url: Option<String>,
    /// `USAGE_MONITOR_TZ`
    time_zone: Option<String>,
    /// `USAGE_MONITOR_REFRESH_SECONDS`
    refresh_seconds: Option<u64>,
    /// `USAGE_MONITOR_DEGRADED_PERCENT`
    degraded_at_percent: Option<f64>,
    /// `USAGE_MONITOR_CRITICAL_PERCENT`
    critical_at_percent: Option<f64>,
    /// `USAGE_MONITOR_PUBLIC_URL`
    public_url: Option<String>,
    /// `USAGE_MONITOR_SESSION_IDLE_MINUTES`
    session_idle_minutes: Option<u64>,
    /// `USAGE_MONITOR_SESSION_MAX_HOURS`
    session_max_hours: Option<u64>,
    /// `USAGE_MONITOR_LOGIN_LOCKOUT_SECONDS`
    login_lockout_seconds: Option<u64>,
    /// `USAGE_MONITOR_TRUSTED_PROXIES` (comma-separated)
    trusted_proxies: Option<Vec<String>>,
    /// `USAGE_MONITOR_LOGIN_HASH_CONCURRENCY`
    login_hash_concurrency: Option<usize>,
    /// `USAGE_MONITOR_LOGIN_HASH_QUEUE`
    login_hash_queue: Option<usize>,
    /// `USAGE_MONITOR_DATABASE_ACQUIRE_TIMEOUT_SECONDS`
    database_acquire_timeout_seconds: Option<u64>,
    /// `USAGE_MONITOR_STATEMENT_TIMEOUT_SECONDS`
    statement_timeout_seconds: Option<u64>,
    /// `USAGE_MONITOR_SHUTDOWN_GRACE_SECONDS`
    shutdown_grace_seconds: Option<u64>,
    /// `USAGE_MONITOR_STATS_MAX_AGE_MILLISECONDS`
    stats_max_age_milliseconds: Option<u64>,
    /// `USAGE_MONITOR_REFUND_GRACE_MINUTES`
    refund_grace_minutes: Option<u64>,
    /// `USAGE_MONITOR_ALERT_WEBHOOKS` (comma-separated)
    alert_webhooks: Option<Vec<String>>,
    /// `USAGE_MONITOR_ALERT_CHECK_SECONDS`
    alert_check_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    app: AppSection,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: String,
        source: toml::de::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("Leptos settings: {0}")]
    Leptos(String),
}

/// The configuration file: `USAGE_MONITOR_CONFIG`, or `Leptos.toml` in the working folder.
pub fn config_path() -> PathBuf {
    std::env::var_os("USAGE_MONITOR_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| DEFAULT_CONFIG_FILE.into())
}

impl Settings {
    /// Reads the file (if there is one) and the environment.
    pub fn load() -> Result<Settings, ConfigError> {
        let path = config_path();
        let file = match std::fs::read_to_string(&path) {
            Ok(text) => {
                toml::from_str::<ConfigFile>(&text).map_err(|source| ConfigError::Parse {
                    path: path.display().to_string(),
                    source,
                })?
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::NotFound
                    && std::env::var_os("USAGE_MONITOR_CONFIG").is_none() =>
            {
                ConfigFile::default()
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        Settings::from_sources(file.app, |name| std::env::var(name).ok())
    }

    /// The defaults, as a test server uses them.
    #[cfg(test)]
    pub fn defaults() -> Settings {
        Settings::from_sources(AppSection::default(), |_| None).expect("valid defaults")
    }

    fn from_sources(
        file: AppSection,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let database_url = env("DATABASE_URL")
            .or(file.database_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        let zone_name = env("USAGE_MONITOR_TZ")
            .or(file.time_zone)
            .unwrap_or_else(|| "UTC".into());
        let time_zone: Tz = zone_name.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "time zone {zone_name:?} is not an IANA time zone name such as \"Europe/Berlin\" (USAGE_MONITOR_TZ, or time-zone in [app])"
            ))
        })?;
        let refresh_seconds = number(
            &env,
            "USAGE_MONITOR_REFRESH_SECONDS",
            file.refresh_seconds,
            30,
        )?;
        if refresh_seconds == 0 {
            return Err(ConfigError::Invalid(
                "the refresh interval must be at least 1 second".into(),
            ));
        }
        let health = HealthThresholds {
            degraded_at_percent: number(
                &env,
                "USAGE_MONITOR_DEGRADED_PERCENT",
                file.degraded_at_percent,
                5.0,
            )?,
            critical_at_percent: number(
                &env,
                "USAGE_MONITOR_CRITICAL_PERCENT",
                file.critical_at_percent,
                20.0,
            )?,
        };
        let valid = |p: f64| (0.0..=100.0).contains(&p);
        if !valid(health.degraded_at_percent)
            || !valid(health.critical_at_percent)
            || health.degraded_at_percent > health.critical_at_percent
        {
            return Err(ConfigError::Invalid(format!(
                "health thresholds must be percentages with degraded ({}) at most critical ({})",
                health.degraded_at_percent, health.critical_at_percent
            )));
        }
        let public_url = env("USAGE_MONITOR_PUBLIC_URL").or(file.public_url);
        if let Some(url) = &public_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ConfigError::Invalid(format!(
                    "USAGE_MONITOR_PUBLIC_URL {url:?} must start with https:// (or http://)"
                )));
            }
        }
        let positive = |name: &str, value: u64| {
            if value == 0 {
                Err(ConfigError::Invalid(format!("{name} must be at least 1")))
            } else {
                Ok(value)
            }
        };
        let idle_minutes = positive(
            "USAGE_MONITOR_SESSION_IDLE_MINUTES",
            number(
                &env,
                "USAGE_MONITOR_SESSION_IDLE_MINUTES",
                file.session_idle_minutes,
                30,
            )?,
        )?;
        let max_hours = positive(
            "USAGE_MONITOR_SESSION_MAX_HOURS",
            number(
                &env,
                "USAGE_MONITOR_SESSION_MAX_HOURS",
                file.session_max_hours,
                12,
            )?,
        )?;
        let lockout_seconds = positive(
            "USAGE_MONITOR_LOGIN_LOCKOUT_SECONDS",
            number(
                &env,
                "USAGE_MONITOR_LOGIN_LOCKOUT_SECONDS",
                file.login_lockout_seconds,
                900,
            )?,
        )?;
        let seconds = |name: &str, from_file: Option<u64>, default: Duration| {
            number(&env, name, from_file, default.as_secs())
                .and_then(|value| positive(name, value))
                .map(Duration::from_secs)
        };
        let database_timeouts = DbTimeouts {
            acquire: seconds(
                "USAGE_MONITOR_DATABASE_ACQUIRE_TIMEOUT_SECONDS",
                file.database_acquire_timeout_seconds,
                DbTimeouts::DEFAULT.acquire,
            )?,
            statement: Some(seconds(
                "USAGE_MONITOR_STATEMENT_TIMEOUT_SECONDS",
                file.statement_timeout_seconds,
                DbTimeouts::DEFAULT.statement.unwrap_or_default(),
            )?),
        };
        let shutdown_grace = seconds(
            "USAGE_MONITOR_SHUTDOWN_GRACE_SECONDS",
            file.shutdown_grace_seconds,
            DEFAULT_SHUTDOWN_GRACE,
        )?;
        let stats_max_age_ms = number(
            &env,
            "USAGE_MONITOR_STATS_MAX_AGE_MILLISECONDS",
            file.stats_max_age_milliseconds,
            DEFAULT_STATS_MAX_AGE.as_millis() as u64,
        )?;
        if stats_max_age_ms > MAX_STATS_MAX_AGE.as_millis() as u64 {
            return Err(ConfigError::Invalid(format!(
                "USAGE_MONITOR_STATS_MAX_AGE_MILLISECONDS ({stats_max_age_ms}) must be at most {}: figures older than that would look current",
                MAX_STATS_MAX_AGE.as_millis()
            )));
        }
        let refund_grace_minutes = number(
            &env,
            "USAGE_MONITOR_REFUND_GRACE_MINUTES",
            file.refund_grace_minutes,
            DEFAULT_REFUND_GRACE.num_minutes() as u64,
        )?;
        if refund_grace_minutes > MAX_REFUND_GRACE_MINUTES {
            return Err(ConfigError::Invalid(format!(
                "USAGE_MONITOR_REFUND_GRACE_MINUTES ({refund_grace_minutes}) must be at most {MAX_REFUND_GRACE_MINUTES} (a week)"
            )));
        }
        let webhooks = match env("USAGE_MONITOR_ALERT_WEBHOOKS") {
            Some(list) => list.split(',').map(str::to_owned).collect(),
            None => file.alert_webhooks.unwrap_or_default(),
        };
        let webhooks = webhooks
            .iter()
            .filter(|url| !url.trim().is_empty())
            .map(|url| Webhook::parse(url))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| {
                ConfigError::Invalid(format!(
                    "alert webhooks (USAGE_MONITOR_ALERT_WEBHOOKS, or alert-webhooks in [app]): {reason}"
                ))
            })?;
        let alerts = AlertSettings {
            webhooks,
            check_every: seconds(
                "USAGE_MONITOR_ALERT_CHECK_SECONDS",
                file.alert_check_seconds,
                DEFAULT_ALERT_CHECK,
            )?,
            dashboard: public_url
                .as_deref()
                .map(|url| format!("{}/admin/credits", url.trim_end_matches('/'))),
        };
        let secure_cookie = public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"));
        let trusted_proxies = match env("USAGE_MONITOR_TRUSTED_PROXIES") {
            Some(list) => list.split(',').map(str::to_owned).collect(),
            None => file.trusted_proxies.unwrap_or_default(),
        };
        let trusted_proxies = trusted_proxies
            .iter()
            .filter(|entry| !entry.trim().is_empty())
            .map(|entry| parse_proxy(entry))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|reason| {
                ConfigError::Invalid(format!(
                    "trusted proxies (USAGE_MONITOR_TRUSTED_PROXIES, or trusted-proxies in [app]): {reason}"
                ))
            })?;
        let login_hash_concurrency = number(
            &env,
            "USAGE_MONITOR_LOGIN_HASH_CONCURRENCY",
            file.login_hash_concurrency,
            default_hash_concurrency(),
        )?;
        let login_hash_concurrency = positive(
            "USAGE_MONITOR_LOGIN_HASH_CONCURRENCY",
            login_hash_concurrency as u64,
        )? as usize;
        let login_hash_queue = number(
            &env,
            "USAGE_MONITOR_LOGIN_HASH_QUEUE",
            file.login_hash_queue,
            DEFAULT_LOGIN_HASH_QUEUE,
        )?;
        Ok(Settings {
            database_url,
            database_timeouts,
            shutdown_grace,
            report: ReportSettings {
                time_zone,
                health,
                refund_grace: chrono::Duration::minutes(refund_grace_minutes as i64),
            },
            refresh_seconds,
            stats_max_age: Duration::from_millis(stats_max_age_ms),
            access: AccessSettings {
                public_url,
                session: SessionPolicy {
                    idle: Duration::from_secs(idle_minutes * 60),
                    absolute: Duration::from_secs(max_hours * 3600),
                    secure_cookie,
                },
                login_lockout: Duration::from_secs(lockout_seconds),
                trusted_proxies,
                login_hash_concurrency,
                login_hash_queue,
            },
            alerts,
        })
    }
}

fn number<T: std::str::FromStr>(
    env: &impl Fn(&str) -> Option<String>,
    name: &str,
    from_file: Option<T>,
    default: T,
) -> Result<T, ConfigError> {
    match env(name) {
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| ConfigError::Invalid(format!("{name}={text:?} is not a valid number"))),
        None => Ok(from_file.unwrap_or(default)),
    }
}

/// Leptos's own settings (site address, where the built site is), from the same file;
/// `LEPTOS_*` variables override them, as cargo-leptos sets them when it runs the server.
///
/// Hashed file names follow the build rather than a setting: cargo-leptos (`hash-files`)
/// writes the hash file beside the binary it builds, and Leptos needs it to name the files
/// (and panics if it is told to hash without it), so they are on exactly when it is there.
pub fn leptos_options() -> Result<LeptosOptions, ConfigError> {
    let path = config_path();
    let path = Path::new(&path);
    let result = if path.exists() {
        leptos::config::get_configuration(Some(&path.to_string_lossy()))
    } else {
        leptos::config::get_configuration(None)
    };
    let mut options = result
        .map(|conf| conf.leptos_options)
        .map_err(|e| ConfigError::Leptos(e.to_string()))?;
    options.hash_files = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(&*options.hash_file)))
        .is_some_and(|hash_file| hash_file.is_file());
    Ok(options)
}

/// A `trusted-proxies` entry: a CIDR range, or one address.
pub fn parse_proxy(entry: &str) -> Result<IpNet, String> {
    let entry = entry.trim();
    entry
        .parse::<IpNet>()
        .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{entry:?} is not an address range such as 10.0.0.0/8 or an address"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(file: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let file: ConfigFile = toml::from_str(file).unwrap();
        Settings::from_sources(file.app, |name| env.get(name).cloned())
    }

    #[test]
    fn defaults_are_sqlite_utc_and_a_30_second_refresh() {
        let s = settings("", &[]).unwrap();
        assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(s.report.time_zone, chrono_tz::UTC);
        assert_eq!(s.refresh_seconds, 30);
        assert_eq!(s.access.session.idle, Duration::from_secs(30 * 60));
        assert_eq!(s.access.session.absolute, Duration::from_secs(12 * 3600));
        assert!(!s.access.session.secure_cookie);
        assert_eq!(s.access.login_lockout, Duration::from_secs(900));
        assert!(s.access.trusted_proxies.is_empty());
        assert_eq!(s.access.login_hash_concurrency, default_hash_concurrency());
        assert_eq!(s.access.login_hash_queue, 64);
        assert_eq!(s.database_timeouts, DbTimeouts::DEFAULT);
        assert_eq!(s.shutdown_grace, Duration::from_secs(30));
        assert_eq!(s.stats_max_age, Duration::from_secs(1));
        assert_eq!(s.report.refund_grace, chrono::Duration::minutes(15));
        assert_eq!(
            s.report.health,
            HealthThresholds {
                degraded_at_percent: 5.0,
                critical_at_percent: 20.0
            }
        );
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let file = "[app]\ntime-zone = \"Europe/Berlin\"\nrefresh-seconds = 10\n";
        let s = settings(file, &[]).unwrap();
        assert_eq!(s.report.time_zone, chrono_tz::Europe::Berlin);
        assert_eq!(s.refresh_seconds, 10);
        let s = settings(
            file,
            &[
                ("USAGE_MONITOR_TZ", "America/New_York"),
                ("USAGE_MONITOR_REFRESH_SECONDS", "2"),
            ],
        )
        .unwrap();
        assert_eq!(s.report.time_zone, chrono_tz::America::New_York);
        assert_eq!(s.refresh_seconds, 2);
        let s = settings(
            "[app]\nstatement-timeout-seconds = 20\n",
            &[
                ("USAGE_MONITOR_DATABASE_ACQUIRE_TIMEOUT_SECONDS", "1"),
                ("USAGE_MONITOR_SHUTDOWN_GRACE_SECONDS", "5"),
            ],
        )
        .unwrap();
        assert_eq!(
            s.database_timeouts,
            DbTimeouts {
                acquire: Duration::from_secs(1),
                statement: Some(Duration::from_secs(20)),
            }
        );
        assert_eq!(s.shutdown_grace, Duration::from_secs(5));
        assert!(settings("", &[("USAGE_MONITOR_STATEMENT_TIMEOUT_SECONDS", "0")]).is_err());
    }

    #[test]
    fn shared_figures_may_be_off_but_never_older_than_five_seconds() {
        let age = |file: &str, env: &[(&str, &str)]| settings(file, env).map(|s| s.stats_max_age);
        assert_eq!(
            age("[app]\nstats-max-age-milliseconds = 250\n", &[]).unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            age("", &[("USAGE_MONITOR_STATS_MAX_AGE_MILLISECONDS", "0")]).unwrap(),
            Duration::ZERO
        );
        let error = age("", &[("USAGE_MONITOR_STATS_MAX_AGE_MILLISECONDS", "5001")])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("USAGE_MONITOR_STATS_MAX_AGE_MILLISECONDS (5001) must be at most 5000"),
            "{error}"
        );
    }

    #[test]
    fn the_refund_grace_period_is_minutes_up_to_a_week() {
        let grace =
            |file: &str, env: &[(&str, &str)]| settings(file, env).map(|s| s.report.refund_grace);
        assert_eq!(
            grace("[app]\nrefund-grace-minutes = 60\n", &[]).unwrap(),
            chrono::Duration::hours(1)
        );
        assert_eq!(
            grace("", &[("USAGE_MONITOR_REFUND_GRACE_MINUTES", "0")]).unwrap(),
            chrono::Duration::zero()
        );
        let error = grace("", &[("USAGE_MONITOR_REFUND_GRACE_MINUTES", "10081")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("(10081) must be at most 10080"), "{error}");
    }

    #[test]
    fn the_shipped_leptos_toml_is_valid_and_refreshes_every_30_seconds() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Leptos.toml")).unwrap();
        let file: ConfigFile = toml::from_str(&text).unwrap();
        let s = Settings::from_sources(file.app, |_| None).unwrap();
        assert_eq!(s.refresh_seconds, 30);
        assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
        let leptos = leptos::config::get_config_from_str(&text).unwrap();
        assert_eq!(leptos.site_addr.to_string(), "127.0.0.1:3000");
    }

    #[test]
    fn an_https_public_url_makes_cookies_secure() {
        let s = settings(
            "",
            &[("USAGE_MONITOR_PUBLIC_URL", "https://usage.example.com/x")],
        )
        .unwrap();
        assert!(s.access.session.secure_cookie);
        assert_eq!(s.access.public_origin(), Some("https://usage.example.com"));
        assert!(settings("", &[("USAGE_MONITOR_PUBLIC_URL", "usage.example.com")]).is_err());
        assert!(settings("", &[("USAGE_MONITOR_SESSION_IDLE_MINUTES", "0")]).is_err());
    }

    #[test]
    fn alert_webhooks_are_https_or_local_and_never_shown_whole() {
        let s = settings("", &[]).unwrap();
        assert!(s.alerts.webhooks.is_empty());
        assert_eq!(s.alerts.check_every, Duration::from_secs(60));
        assert_eq!(s.alerts.dashboard, None);
        let file = "[app]\nalert-webhooks = [\"https://hooks.slack.com/services/T1/B1/SECRET\"]\nalert-check-seconds = 15\n";
        let s = settings(file, &[]).unwrap();
        assert_eq!(s.alerts.redacted_webhooks(), ["https://hooks.slack.com/…"]);
        assert_eq!(s.alerts.check_every, Duration::from_secs(15));
        assert!(!format!("{s:?}").contains("SECRET"));
        let s = settings(
            file,
            &[
                (
                    "USAGE_MONITOR_ALERT_WEBHOOKS",
                    " http://127.0.0.1:9000/a , https://chat.example.com/b,",
                ),
                ("USAGE_MONITOR_ALERT_CHECK_SECONDS", "5"),
                ("USAGE_MONITOR_PUBLIC_URL", "https://usage.example.com/"),
            ],
        )
        .unwrap();
        assert_eq!(
            s.alerts.redacted_webhooks(),
            ["http://127.0.0.1:9000/…", "https://chat.example.com/…"]
        );
        assert_eq!(
            s.alerts.webhooks[0].url().as_str(),
            "http://127.0.0.1:9000/a"
        );
        assert_eq!(s.alerts.check_every, Duration::from_secs(5));
        assert_eq!(
            s.alerts.dashboard.as_deref(),
            Some("https://usage.example.com/admin/credits")
        );
        // An empty variable turns the file's webhooks off.
        let s = settings(file, &[("USAGE_MONITOR_ALERT_WEBHOOKS", "")]).unwrap();
        assert!(s.alerts.webhooks.is_empty());
        let error = settings(
            "",
            &[(
                "USAGE_MONITOR_ALERT_WEBHOOKS",
                "https://ok.example.com/x,http://hooks.example.com/SECRET",
            )],
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            error,
            "alert webhooks (USAGE_MONITOR_ALERT_WEBHOOKS, or alert-webhooks in [app]): http://hooks.example.com/… must start with https:// (http:// only for 127.0.0.1, localhost or [::1])"
        );
        let error = settings("", &[("USAGE_MONITOR_ALERT_CHECK_SECONDS", "0")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "USAGE_MONITOR_ALERT_CHECK_SECONDS must be at least 1"
        );
    }

    #[test]
    fn trusted_proxies_and_the_password_checks_at_once() {
        let file = "[app]\ntrusted-proxies = [\"10.0.0.0/8\", \"::1\"]\nlogin-hash-concurrency = 3\nlogin-hash-queue = 0\n";
        let s = settings(file, &[]).unwrap();
        let proxies: Vec<String> = s
            .access
            .trusted_proxies
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(proxies, ["10.0.0.0/8", "::1/128"]);
        assert_eq!(s.access.login_hash_concurrency, 3);
        assert_eq!(s.access.login_hash_queue, 0);
        let s = settings(file, &[("USAGE_MONITOR_TRUSTED_PROXIES", " 192.0.2.1 ,")]).unwrap();
        assert_eq!(s.access.trusted_proxies[0].to_string(), "192.0.2.1/32");
        let s = settings(file, &[("USAGE_MONITOR_TRUSTED_PROXIES", "")]).unwrap();
        assert!(s.access.trusted_proxies.is_empty());
        let error = settings("", &[("USAGE_MONITOR_TRUSTED_PROXIES", "10.0.0.0/8,proxy")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "trusted proxies (USAGE_MONITOR_TRUSTED_PROXIES, or trusted-proxies in [app]): \"proxy\" is not an address range such as 10.0.0.0/8 or an address"
        );
        assert!(settings("", &[("USAGE_MONITOR_LOGIN_HASH_CONCURRENCY", "0")]).is_err());
    }

    #[test]
    fn bad_settings_are_named() {
        let e = settings("", &[("USAGE_MONITOR_TZ", "Mars/Olympus")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"Mars/Olympus\" is not an IANA time zone"),
            "{e}"
        );
        let e = settings("", &[("USAGE_MONITOR_REFRESH_SECONDS", "soon")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("USAGE_MONITOR_REFRESH_SECONDS=\"soon\""), "{e}");
        assert!(settings("", &[("USAGE_MONITOR_DEGRADED_PERCENT", "30")]).is_err());
        assert!(
            toml::from_str::<ConfigFile>("[app]\ntimezone = \"UTC\"").is_err(),
            "a misspelt key is an error"
        );
    }
}
