//! Settings: `Leptos.toml` (its `[package.metadata.leptos]` section for Leptos, its `[app]`
//! section for ours), each overridable by an environment variable. Every setting is read
//! in this one place.

use crate::delivery::webhook::Webhook;
use crate::delivery::AlertSettings;
use chrono_tz::Tz;
use ipnet::IpNet;
use leptos::config::LeptosOptions;
use model::budgets::{self, BudgetSettings};
use model::dashboard::{HealthThresholds, Money, Tier};
use model::margin::{credit_value_setting, CreditValues, MAX_CREDIT_VALUE_DOLLARS};
use serde::Deserialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use store::auth::session::SessionPolicy;
use store::db::DbTimeouts;
use store::report::{ReportSettings, DEFAULT_REFUND_GRACE};

pub const DEFAULT_CONFIG_FILE: &str = "Leptos.toml";
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/usage-monitor.db";

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
    pub exports: ExportLimits,
    /// How long a connection may move no byte before it is closed: fixed, not a setting;
    /// tests shorten it.
    pub connection_idle: Duration,
}

/// How many downloads of the log may run at once; beyond that, `503`.
pub const EXPORTS_AT_ONCE: usize = 4;
/// How long a download may take nothing before it is dropped.
pub const EXPORT_SEND_DEADLINE: Duration = Duration::from_secs(30);

/// How long a connection may move no byte either way before it is closed: a stalled
/// download, half a request, an idle keep-alive.
pub const CONNECTION_IDLE_DEADLINE: Duration = Duration::from_secs(60);

/// What the log's downloads may hold: fixed, not settings; tests shorten the deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportLimits {
    pub at_once: usize,
    pub send_deadline: Duration,
}

impl ExportLimits {
    pub const DEFAULT: ExportLimits = ExportLimits {
        at_once: EXPORTS_AT_ONCE,
        send_deadline: EXPORT_SEND_DEADLINE,
    };
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

/// One password check at a time per core, by default.
fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

// ---------------------------------------------------------------------------------------
// The settings of the `[app]` section, each declared once. Reading them (`Sources`), their
// error messages and the table in docs/configuration.md (`settings_table_markdown`) all
// follow from these declarations.
// ---------------------------------------------------------------------------------------

/// One setting: where it is read from, what it is unless set, what it accepts, what it means.
struct SettingSpec {
    /// Its key in the `[app]` section of `Leptos.toml`.
    key: &'static str,
    /// The environment variable that overrides the file.
    env: &'static str,
    /// Its type, with its value when neither the file nor the variable sets it.
    kind: Kind,
    /// The values it accepts, beyond its type.
    bounds: Bounds,
    /// What it does, in one line for an admin (Markdown, shown in docs/configuration.md).
    meaning: &'static str,
}

/// A setting's type and default.
enum Kind {
    /// Text, with its default.
    Text(&'static str),
    /// Text, unset unless given.
    OptionalText,
    /// A whole number, with its default.
    Whole(u64),
    /// A whole number that defaults to the number of cores.
    WholeDefaultCores,
    /// A number such as `5` or `2.5`, with its default.
    Percent(f64),
    /// An array in the file, comma-separated in the variable (empty there: none); empty by
    /// default.
    List,
    /// Dollars, exact to the micro-dollar (a number or a string in the file), unset unless given.
    OptionalDollars,
}

/// The values a setting accepts, beyond its type.
enum Bounds {
    /// Any value of its type.
    Any,
    /// A whole number from 1.
    AtLeastOne,
    /// A whole number from 0 to `max`; `why` ends the error message.
    AtMost { max: u64, why: &'static str },
    /// A number from 0 to 100.
    Percent,
    /// Checked by the code that reads the setting (in `Settings::from_sources`), as said here.
    CheckedOnReading(&'static str),
}

const DATABASE_URL: SettingSpec = SettingSpec {
    key: "database-url",
    env: "DATABASE_URL",
    kind: Kind::Text(DEFAULT_DATABASE_URL),
    bounds: Bounds::Any,
    meaning:
        "`sqlite://PATH` (file and folder created on first start) or `postgres://USER@HOST:PORT/DB`",
};
const TIME_ZONE: SettingSpec = SettingSpec {
    key: "time-zone",
    env: "USAGE_MONITOR_TZ",
    kind: Kind::Text("UTC"),
    bounds: Bounds::CheckedOnReading("an IANA time zone name such as `Europe/Berlin`"),
    meaning: "the reporting time zone, in which \"today\" and \"this month\" are counted; shown on the page",
};
const REFRESH_SECONDS: SettingSpec = SettingSpec {
    key: "refresh-seconds",
    env: "USAGE_MONITOR_REFRESH_SECONDS",
    kind: Kind::Whole(30),
    bounds: Bounds::AtLeastOne,
    meaning: "how often an open page fetches fresh figures",
};
const DEGRADED_AT_PERCENT: SettingSpec = SettingSpec {
    key: "degraded-at-percent",
    env: "USAGE_MONITOR_DEGRADED_PERCENT",
    kind: Kind::Percent(5.0),
    bounds: Bounds::Percent,
    meaning:
        "failure rate (last 24 h) from which health is *degraded*; at most `critical-at-percent`",
};
const CRITICAL_AT_PERCENT: SettingSpec = SettingSpec {
    key: "critical-at-percent",
    env: "USAGE_MONITOR_CRITICAL_PERCENT",
    kind: Kind::Percent(20.0),
    bounds: Bounds::Percent,
    meaning: "failure rate from which health is *critical*",
};
const PUBLIC_URL: SettingSpec = SettingSpec {
    key: "public-url",
    env: "USAGE_MONITOR_PUBLIC_URL",
    kind: Kind::OptionalText,
    bounds: Bounds::CheckedOnReading("starts with `https://` or `http://`"),
    meaning: "the address admins open when it is not `site-addr` (e.g. behind a TLS proxy); `https://` makes the session cookie `Secure` and `__Host-`, and requests from it count as same-site",
};
const SESSION_IDLE_MINUTES: SettingSpec = SettingSpec {
    key: "session-idle-minutes",
    env: "USAGE_MONITOR_SESSION_IDLE_MINUTES",
    kind: Kind::Whole(30),
    bounds: Bounds::AtLeastOne,
    meaning: "a session unused this long ends",
};
const SESSION_MAX_HOURS: SettingSpec = SettingSpec {
    key: "session-max-hours",
    env: "USAGE_MONITOR_SESSION_MAX_HOURS",
    kind: Kind::Whole(12),
    bounds: Bounds::AtLeastOne,
    meaning: "a session ends this long after login, used or not",
};
const LOGIN_LOCKOUT_SECONDS: SettingSpec = SettingSpec {
    key: "login-lockout-seconds",
    env: "USAGE_MONITOR_LOGIN_LOCKOUT_SECONDS",
    kind: Kind::Whole(900),
    bounds: Bounds::AtLeastOne,
    meaning: "how long an account at an address, or an address, is refused after too many logins (see [the login door](security.md#the-login-door), rule 4)",
};
const TRUSTED_PROXIES: SettingSpec = SettingSpec {
    key: "trusted-proxies",
    env: "USAGE_MONITOR_TRUSTED_PROXIES",
    kind: Kind::List,
    bounds: Bounds::CheckedOnReading("CIDR ranges (`10.0.0.0/8`) or addresses"),
    meaning: "proxies whose `X-Forwarded-For` names the client; without them, all clients behind a proxy share its address (rule 5)",
};
const LOGIN_HASH_CONCURRENCY: SettingSpec = SettingSpec {
    key: "login-hash-concurrency",
    env: "USAGE_MONITOR_LOGIN_HASH_CONCURRENCY",
    kind: Kind::WholeDefaultCores,
    bounds: Bounds::AtLeastOne,
    meaning: "how many password checks (argon2id, 19 MiB each) run at once (rule 2)",
};
const LOGIN_HASH_QUEUE: SettingSpec = SettingSpec {
    key: "login-hash-queue",
    env: "USAGE_MONITOR_LOGIN_HASH_QUEUE",
    // A few seconds of checks.
    kind: Kind::Whole(64),
    bounds: Bounds::Any,
    meaning: "how many more wait for their turn (at most 5 s); beyond it, logins get `503` and `Retry-After` (rule 2)",
};
const DATABASE_ACQUIRE_TIMEOUT_SECONDS: SettingSpec = SettingSpec {
    key: "database-acquire-timeout-seconds",
    env: "USAGE_MONITOR_DATABASE_ACQUIRE_TIMEOUT_SECONDS",
    kind: Kind::Whole(DbTimeouts::DEFAULT.acquire.as_secs()),
    bounds: Bounds::AtLeastOne,
    meaning: "how long a request waits for a database connection, connecting included; while the database is down, requests get their `503` after this long (command-line jobs wait at least 30 s)",
};
const STATEMENT_TIMEOUT_SECONDS: SettingSpec = SettingSpec {
    key: "statement-timeout-seconds",
    env: "USAGE_MONITOR_STATEMENT_TIMEOUT_SECONDS",
    kind: Kind::Whole(match DbTimeouts::DEFAULT.statement {
        Some(limit) => limit.as_secs(),
        None => 0,
    }),
    bounds: Bounds::AtLeastOne,
    meaning: "the longest a statement may run on PostgreSQL (`statement_timeout`), and a write may wait for its turn on SQLite; command-line jobs (`import`, `demo`, `rebuild-totals`, and the benchmark) have no statement limit",
};
const STATS_MAX_AGE_MILLISECONDS: SettingSpec = SettingSpec {
    key: "stats-max-age-milliseconds",
    env: "USAGE_MONITOR_STATS_MAX_AGE_MILLISECONDS",
    // Figures shared by the requests of one second: under load, one computation serves them
    // all. Beyond a few seconds, shared figures would be stale without anyone noticing.
    kind: Kind::Whole(1000),
    bounds: Bounds::AtMost {
        max: 5000,
        why: ": figures older than that would look current",
    },
    meaning: "how long the server hands out the same figures to every page, refresh and API call that asks (`0`: each computes its own); see [Shared figures](architecture.md#shared-figures)",
};
const REFUND_GRACE_MINUTES: SettingSpec = SettingSpec {
    key: "refund-grace-minutes",
    env: "USAGE_MONITOR_REFUND_GRACE_MINUTES",
    kind: Kind::Whole(DEFAULT_REFUND_GRACE.num_minutes() as u64),
    // Refunds later than a week are not late but missing.
    bounds: Bounds::AtMost {
        max: 7 * 24 * 60,
        why: " (a week)",
    },
    meaning: "how long a failed generation may wait for its refund before [refund reconciliation](metrics.md#refund-reconciliation) counts it",
};
const SHUTDOWN_GRACE_SECONDS: SettingSpec = SettingSpec {
    key: "shutdown-grace-seconds",
    env: "USAGE_MONITOR_SHUTDOWN_GRACE_SECONDS",
    kind: Kind::Whole(30),
    bounds: Bounds::AtLeastOne,
    meaning: "after SIGTERM (or Ctrl-C), how long requests in flight may take before the server exits anyway",
};
const ALERT_WEBHOOKS: SettingSpec = SettingSpec {
    key: "alert-webhooks",
    env: "USAGE_MONITOR_ALERT_WEBHOOKS",
    kind: Kind::List,
    bounds: Bounds::CheckedOnReading(
        "`https://` URLs (`http://` only to `127.0.0.1`, `localhost` or `[::1]`)",
    ),
    meaning: "where [alerts](alerts.md#alerts) go: Slack-compatible webhook URLs; secrets, shown and logged as scheme and host only",
};
const ALERT_CHECK_SECONDS: SettingSpec = SettingSpec {
    key: "alert-check-seconds",
    env: "USAGE_MONITOR_ALERT_CHECK_SECONDS",
    kind: Kind::Whole(60),
    bounds: Bounds::AtLeastOne,
    meaning: "how often the server checks the health for a change to announce",
};
const CREDIT_VALUE_MEANING: &str = "what one credit consumed by a user of the tier earns, for [revenue and margin](metrics.md#revenue-and-margin); unset, the panel says how to set it";
const CREDIT_VALUE_BOUNDS: Bounds =
    Bounds::CheckedOnReading("dollars from 0 to 1000, at most 6 decimals (`0.01`)");
const CREDIT_VALUE_USD_FREE: SettingSpec = SettingSpec {
    key: credit_value_setting(Tier::Free).key,
    env: credit_value_setting(Tier::Free).env,
    kind: Kind::OptionalDollars,
    bounds: CREDIT_VALUE_BOUNDS,
    meaning: CREDIT_VALUE_MEANING,
};
const CREDIT_VALUE_USD_PLUS: SettingSpec = SettingSpec {
    key: credit_value_setting(Tier::Plus).key,
    env: credit_value_setting(Tier::Plus).env,
    kind: Kind::OptionalDollars,
    bounds: CREDIT_VALUE_BOUNDS,
    meaning: CREDIT_VALUE_MEANING,
};
const CREDIT_VALUE_USD_PRO: SettingSpec = SettingSpec {
    key: credit_value_setting(Tier::Pro).key,
    env: credit_value_setting(Tier::Pro).env,
    kind: Kind::OptionalDollars,
    bounds: CREDIT_VALUE_BOUNDS,
    meaning: CREDIT_VALUE_MEANING,
};
const BUDGET_DAILY_DOLLARS: SettingSpec = SettingSpec {
    key: "budget-daily-dollars",
    env: "USAGE_MONITOR_BUDGET_DAILY_DOLLARS",
    kind: Kind::OptionalText,
    bounds: Bounds::CheckedOnReading("an amount above 0, such as `5` or `4.10`; empty for none"),
    meaning: "the daily cost [budget](alerts.md#budgets) (the local day) until an admin saves budgets on the Alerts page",
};
const BUDGET_MONTHLY_DOLLARS: SettingSpec = SettingSpec {
    key: "budget-monthly-dollars",
    env: "USAGE_MONITOR_BUDGET_MONTHLY_DOLLARS",
    kind: Kind::OptionalText,
    bounds: Bounds::CheckedOnReading("an amount above 0; empty for none"),
    meaning: "the monthly cost [budget](alerts.md#budgets) (the local month) until an admin saves budgets",
};
const BUDGET_USER_DOLLARS: SettingSpec = SettingSpec {
    key: "budget-user-dollars",
    env: "USAGE_MONITOR_BUDGET_USER_DOLLARS",
    kind: Kind::OptionalText,
    bounds: Bounds::CheckedOnReading("an amount above 0; empty for none"),
    meaning: "the per-user limit: a user whose cost over the last 24 hours passes it is [over the limit](alerts.md#budgets), until an admin saves budgets",
};
const BUDGET_LEVELS: SettingSpec = SettingSpec {
    key: "budget-warning-levels",
    env: "USAGE_MONITOR_BUDGET_WARNING_LEVELS",
    kind: Kind::Text("80, 100"),
    bounds: Bounds::CheckedOnReading("whole percentages from 1 to 1000, comma-separated"),
    meaning: "the percentages of the daily and monthly budgets at which an [alert](alerts.md#budgets) goes out, until an admin saves budgets",
};

/// Every setting of the `[app]` section, in the order of the documentation's table.
const SETTINGS: &[SettingSpec] = &[
    DATABASE_URL,
    TIME_ZONE,
    REFRESH_SECONDS,
    DEGRADED_AT_PERCENT,
    CRITICAL_AT_PERCENT,
    PUBLIC_URL,
    SESSION_IDLE_MINUTES,
    SESSION_MAX_HOURS,
    LOGIN_LOCKOUT_SECONDS,
    TRUSTED_PROXIES,
    LOGIN_HASH_CONCURRENCY,
    LOGIN_HASH_QUEUE,
    DATABASE_ACQUIRE_TIMEOUT_SECONDS,
    STATEMENT_TIMEOUT_SECONDS,
    STATS_MAX_AGE_MILLISECONDS,
    REFUND_GRACE_MINUTES,
    SHUTDOWN_GRACE_SECONDS,
    ALERT_WEBHOOKS,
    ALERT_CHECK_SECONDS,
    CREDIT_VALUE_USD_FREE,
    CREDIT_VALUE_USD_PLUS,
    CREDIT_VALUE_USD_PRO,
    BUDGET_DAILY_DOLLARS,
    BUDGET_MONTHLY_DOLLARS,
    BUDGET_USER_DOLLARS,
    BUDGET_LEVELS,
];

impl SettingSpec {
    /// How error messages name it: `USAGE_MONITOR_TZ, or time-zone in [app]`.
    fn named(&self) -> String {
        format!("{}, or {} in [app]", self.env, self.key)
    }

    /// A file value of the wrong type.
    fn bad_file_value(&self, value: &toml::Value, expected: &str) -> ConfigError {
        ConfigError::Invalid(format!("{} = {value} in [app] is not {expected}", self.key))
    }

    fn check_whole(&self, value: u64) -> Result<u64, ConfigError> {
        match self.bounds {
            Bounds::AtLeastOne if value == 0 => Err(ConfigError::Invalid(format!(
                "{} must be at least 1",
                self.env
            ))),
            Bounds::AtMost { max, why } if value > max => Err(ConfigError::Invalid(format!(
                "{} ({value}) must be at most {max}{why}",
                self.env
            ))),
            _ => Ok(value),
        }
    }

    fn check_percent(&self, value: f64) -> Result<f64, ConfigError> {
        match self.bounds {
            Bounds::Percent if !(0.0..=100.0).contains(&value) => Err(ConfigError::Invalid(
                format!("{} ({value}) must be a percentage, from 0 to 100", self.env),
            )),
            _ => Ok(value),
        }
    }
}

/// Where the settings come from: the file's `[app]` section, overridden by the environment.
struct Sources<'a> {
    file: &'a toml::Table,
    env: &'a dyn Fn(&str) -> Option<String>,
}

/// A setting's value as given, before it is read as its type.
enum Given<'a> {
    Env(String),
    File(&'a toml::Value),
}

impl Sources<'_> {
    /// The variable if it is set, else the file's key if it is there.
    fn given(&self, spec: &SettingSpec) -> Option<Given<'_>> {
        match (self.env)(spec.env) {
            Some(text) => Some(Given::Env(text)),
            None => self.file.get(spec.key).map(Given::File),
        }
    }

    /// A text setting: as given, or its default.
    fn text(&self, spec: &SettingSpec) -> Result<String, ConfigError> {
        let Kind::Text(default) = spec.kind else {
            panic!("{} is not declared as text with a default", spec.key)
        };
        Ok(self.optional_text(spec)?.unwrap_or_else(|| default.into()))
    }

    /// A text setting as given, if it is.
    fn optional_text(&self, spec: &SettingSpec) -> Result<Option<String>, ConfigError> {
        match self.given(spec) {
            None => Ok(None),
            Some(Given::Env(text)) => Ok(Some(text)),
            Some(Given::File(toml::Value::String(text))) => Ok(Some(text.clone())),
            Some(Given::File(other)) => Err(spec.bad_file_value(other, "text")),
        }
    }

    /// A whole-number setting, within its bounds.
    fn whole(&self, spec: &SettingSpec) -> Result<u64, ConfigError> {
        let value = match (self.given(spec), &spec.kind) {
            (Some(given), _) => parse_number(spec, given)?,
            (None, Kind::Whole(default)) => *default,
            (None, Kind::WholeDefaultCores) => default_hash_concurrency() as u64,
            (None, _) => panic!("{} is not declared as a whole number", spec.key),
        };
        spec.check_whole(value)
    }

    /// A percentage setting, within its bounds.
    fn percent(&self, spec: &SettingSpec) -> Result<f64, ConfigError> {
        let value = match (self.given(spec), &spec.kind) {
            (Some(given), _) => parse_number(spec, given)?,
            (None, Kind::Percent(default)) => *default,
            (None, _) => panic!("{} is not declared as a percentage", spec.key),
        };
        spec.check_percent(value)
    }

    /// A dollar setting as given, if it is: exact, at most 6 decimals and `max` dollars.
    fn optional_dollars(&self, spec: &SettingSpec, max: i64) -> Result<Option<Money>, ConfigError> {
        let text = match self.given(spec) {
            None => return Ok(None),
            Some(Given::Env(text)) => text,
            Some(Given::File(toml::Value::String(text))) => text.clone(),
            Some(Given::File(value @ (toml::Value::Integer(_) | toml::Value::Float(_)))) => {
                value.to_string()
            }
            Some(Given::File(other)) => {
                return Err(spec.bad_file_value(other, "an amount of dollars"))
            }
        };
        Money::parse_dollars(&text, max)
            .map(Some)
            .map_err(|reason| {
                ConfigError::Invalid(format!("{} ({:?}) {reason}", spec.named(), text.trim()))
            })
    }

    /// A list setting's entries, without the blank ones.
    fn list(&self, spec: &SettingSpec) -> Result<Vec<String>, ConfigError> {
        let entries = match self.given(spec) {
            None => Vec::new(),
            Some(Given::Env(text)) => text.split(',').map(str::to_owned).collect(),
            Some(Given::File(toml::Value::Array(values))) => values
                .iter()
                .map(|value| match value {
                    toml::Value::String(entry) => Ok(entry.clone()),
                    other => Err(spec.bad_file_value(other, "text")),
                })
                .collect::<Result<_, _>>()?,
            Some(Given::File(other)) => return Err(spec.bad_file_value(other, "a list")),
        };
        Ok(entries
            .into_iter()
            .filter(|entry| !entry.trim().is_empty())
            .collect())
    }
}

/// A number from the variable (`NAME=text`) or the file (a TOML number; a whole number's key
/// takes no fraction, `30.0`, as its type takes none).
fn parse_number<T: std::str::FromStr>(spec: &SettingSpec, given: Given) -> Result<T, ConfigError> {
    match given {
        Given::Env(text) => text.trim().parse().map_err(|_| {
            ConfigError::Invalid(format!("{}={text:?} is not a valid number", spec.env))
        }),
        Given::File(value @ (toml::Value::Integer(_) | toml::Value::Float(_))) => value
            .to_string()
            .parse()
            .map_err(|_| spec.bad_file_value(value, "a valid number")),
        Given::File(other) => Err(spec.bad_file_value(other, "a valid number")),
    }
}

/// The table of the `[app]` settings, as docs/configuration.md shows it (between its
/// `<!-- settings-table -->` markers).
pub fn settings_table_markdown() -> String {
    let mut table = String::from(
        "| setting (`[app]` in `Leptos.toml`) | variable | default | accepts | meaning |\n\
         | --- | --- | --- | --- | --- |\n",
    );
    for spec in SETTINGS {
        let variable = match spec.kind {
            Kind::List => format!("`{}` (comma-separated; empty for none)", spec.env),
            _ => format!("`{}`", spec.env),
        };
        let default = match spec.kind {
            Kind::Text(text) => format!("`{text}`"),
            Kind::Whole(number) => format!("`{number}`"),
            Kind::Percent(number) => format!("`{number}`"),
            Kind::WholeDefaultCores => "number of cores".into(),
            Kind::OptionalText | Kind::List | Kind::OptionalDollars => "none".into(),
        };
        let accepts = match spec.bounds {
            Bounds::Any => "any".into(),
            Bounds::AtLeastOne => "at least 1".into(),
            Bounds::AtMost { max, .. } => format!("0 to {max}"),
            Bounds::Percent => "0 to 100".into(),
            Bounds::CheckedOnReading(what) => what.into(),
        };
        table.push_str(&format!(
            "| `{}` | {variable} | {default} | {accepts} | {} |\n",
            spec.key, spec.meaning
        ));
    }
    table
}

/// The `[app]` section of Leptos.toml: only the keys of [`SETTINGS`], so that a misspelt key
/// is an error.
#[derive(Debug, Default, Deserialize)]
#[serde(try_from = "toml::Table")]
struct AppSection(toml::Table);

impl TryFrom<toml::Table> for AppSection {
    type Error = String;

    fn try_from(table: toml::Table) -> Result<AppSection, String> {
        let known = |key: &str| SETTINGS.iter().any(|spec| spec.key == key);
        match table.keys().find(|key| !known(key)) {
            Some(key) => Err(format!(
                "unknown setting `{key}` in [app]; the settings are: {}",
                SETTINGS
                    .iter()
                    .map(|spec| spec.key)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            None => Ok(AppSection(table)),
        }
    }
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
    #[cfg(any(test, feature = "testing"))]
    pub fn defaults() -> Settings {
        Settings::from_sources(AppSection::default(), |_| None).expect("valid defaults")
    }

    fn from_sources(
        file: AppSection,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let sources = Sources {
            file: &file.0,
            env: &env,
        };
        let seconds = |spec: &SettingSpec| sources.whole(spec).map(Duration::from_secs);
        let database_url = sources.text(&DATABASE_URL)?;
        let report = report_settings(&sources)?;
        let refresh_seconds = sources.whole(&REFRESH_SECONDS)?;
        let public_url = public_url(&sources)?;
        let database_timeouts = DbTimeouts {
            acquire: seconds(&DATABASE_ACQUIRE_TIMEOUT_SECONDS)?,
            statement: Some(seconds(&STATEMENT_TIMEOUT_SECONDS)?),
        };
        let shutdown_grace = seconds(&SHUTDOWN_GRACE_SECONDS)?;
        let stats_max_age = Duration::from_millis(sources.whole(&STATS_MAX_AGE_MILLISECONDS)?);
        let alerts = alert_settings(&sources, public_url.as_deref())?;
        let access = access_settings(&sources, public_url)?;
        Ok(Settings {
            database_url,
            database_timeouts,
            shutdown_grace,
            report,
            refresh_seconds,
            stats_max_age,
            access,
            alerts,
            exports: ExportLimits::DEFAULT,
            connection_idle: CONNECTION_IDLE_DEADLINE,
        })
    }
}

/// The time zone, the health thresholds and the refund grace period.
fn report_settings(sources: &Sources) -> Result<ReportSettings, ConfigError> {
    let zone_name = sources.text(&TIME_ZONE)?;
    let time_zone: Tz = zone_name.parse().map_err(|_| {
        ConfigError::Invalid(format!(
            "time zone {zone_name:?} is not an IANA time zone name such as \"Europe/Berlin\" ({})",
            TIME_ZONE.named()
        ))
    })?;
    let health = HealthThresholds {
        degraded_at_percent: sources.percent(&DEGRADED_AT_PERCENT)?,
        critical_at_percent: sources.percent(&CRITICAL_AT_PERCENT)?,
    };
    if health.degraded_at_percent > health.critical_at_percent {
        return Err(ConfigError::Invalid(format!(
            "health thresholds must be percentages with degraded ({}) at most critical ({})",
            health.degraded_at_percent, health.critical_at_percent
        )));
    }
    let refund_grace_minutes = sources.whole(&REFUND_GRACE_MINUTES)?;
    let credit_value =
        |spec: &SettingSpec| sources.optional_dollars(spec, MAX_CREDIT_VALUE_DOLLARS);
    Ok(ReportSettings {
        time_zone,
        health,
        refund_grace: chrono::Duration::minutes(refund_grace_minutes as i64),
        credit_values: CreditValues {
            free: credit_value(&CREDIT_VALUE_USD_FREE)?,
            plus: credit_value(&CREDIT_VALUE_USD_PLUS)?,
            pro: credit_value(&CREDIT_VALUE_USD_PRO)?,
        },
        budgets: budget_defaults(sources)?,
    })
}

/// The budgets that apply until an admin saves some.
fn budget_defaults(sources: &Sources) -> Result<BudgetSettings, ConfigError> {
    let amount = |spec: &SettingSpec| {
        let text = match sources.given(spec) {
            None => return Ok(None),
            Some(Given::Env(text)) => text,
            Some(Given::File(toml::Value::String(text))) => text.clone(),
            Some(Given::File(value @ (toml::Value::Integer(_) | toml::Value::Float(_)))) => {
                value.to_string()
            }
            Some(Given::File(other)) => return Err(spec.bad_file_value(other, "an amount")),
        };
        budgets::parse_amount(&text, &spec.named()).map_err(ConfigError::Invalid)
    };
    Ok(BudgetSettings {
        daily: amount(&BUDGET_DAILY_DOLLARS)?,
        monthly: amount(&BUDGET_MONTHLY_DOLLARS)?,
        per_user: amount(&BUDGET_USER_DOLLARS)?,
        levels: budgets::parse_levels(&sources.text(&BUDGET_LEVELS)?).map_err(|reason| {
            ConfigError::Invalid(format!("{}: {reason}", BUDGET_LEVELS.named()))
        })?,
    })
}

/// `public-url`, if it is set: an http(s) address.
fn public_url(sources: &Sources) -> Result<Option<String>, ConfigError> {
    let public_url = sources.optional_text(&PUBLIC_URL)?;
    if let Some(url) = &public_url {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ConfigError::Invalid(format!(
                "{} {url:?} must start with https:// (or http://)",
                PUBLIC_URL.env
            )));
        }
    }
    Ok(public_url)
}

/// Sessions, the login throttle and the password checks.
fn access_settings(
    sources: &Sources,
    public_url: Option<String>,
) -> Result<AccessSettings, ConfigError> {
    let session = SessionPolicy {
        idle: Duration::from_secs(sources.whole(&SESSION_IDLE_MINUTES)? * 60),
        absolute: Duration::from_secs(sources.whole(&SESSION_MAX_HOURS)? * 3600),
        secure_cookie: public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://")),
    };
    let login_lockout = Duration::from_secs(sources.whole(&LOGIN_LOCKOUT_SECONDS)?);
    let trusted_proxies = sources
        .list(&TRUSTED_PROXIES)?
        .iter()
        .map(|entry| parse_proxy(entry))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|reason| {
            ConfigError::Invalid(format!(
                "trusted proxies ({}): {reason}",
                TRUSTED_PROXIES.named()
            ))
        })?;
    Ok(AccessSettings {
        public_url,
        session,
        login_lockout,
        trusted_proxies,
        login_hash_concurrency: sources.whole(&LOGIN_HASH_CONCURRENCY)? as usize,
        login_hash_queue: sources.whole(&LOGIN_HASH_QUEUE)? as usize,
    })
}

/// The webhooks, how often health is checked, and the dashboard's address for the messages.
fn alert_settings(
    sources: &Sources,
    public_url: Option<&str>,
) -> Result<AlertSettings, ConfigError> {
    let webhooks = sources
        .list(&ALERT_WEBHOOKS)?
        .iter()
        .map(|url| Webhook::parse(url))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|reason| {
            ConfigError::Invalid(format!(
                "alert webhooks ({}): {reason}",
                ALERT_WEBHOOKS.named()
            ))
        })?;
    Ok(AlertSettings {
        webhooks,
        check_every: Duration::from_secs(sources.whole(&ALERT_CHECK_SECONDS)?),
        dashboard: public_url.map(|url| format!("{}/admin/credits", url.trim_end_matches('/'))),
    })
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
    fn budgets_default_to_none_and_read_amounts_and_levels() {
        let s = settings("", &[]).unwrap();
        assert_eq!(s.report.budgets, BudgetSettings::default());
        let file = "[app]\nbudget-daily-dollars = 5\nbudget-monthly-dollars = \"120.50\"\nbudget-warning-levels = \"100, 50\"\n";
        let s = settings(file, &[("USAGE_MONITOR_BUDGET_USER_DOLLARS", "2.5")]).unwrap();
        let money = |micros| Some(model::dashboard::Money::from_micros(micros));
        assert_eq!(
            s.report.budgets,
            BudgetSettings {
                daily: money(5_000_000),
                monthly: money(120_500_000),
                per_user: money(2_500_000),
                levels: vec![50, 100],
            }
        );
        let off = settings(file, &[("USAGE_MONITOR_BUDGET_DAILY_DOLLARS", "")]).unwrap();
        assert_eq!(off.report.budgets.daily, None);
        for (file, says) in [
            ("[app]\nbudget-daily-dollars = -5\n", "cannot be negative"),
            (
                "[app]\nbudget-daily-dollars = \"lots\"\n",
                "amount of dollars",
            ),
            ("[app]\nbudget-user-dollars = true\n", "is not an amount"),
            (
                "[app]\nbudget-warning-levels = \"\"\n",
                "at least one warning level",
            ),
            (
                "[app]\nbudget-warning-levels = \"80, 2000\"\n",
                "from 1 to 1000",
            ),
        ] {
            let error = settings(file, &[]).unwrap_err().to_string();
            assert!(error.contains(says), "{file}: {error}");
        }
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
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Leptos.toml"))
                .unwrap();
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
    fn credit_values_are_exact_dollars_per_tier_and_unset_by_default() {
        assert_eq!(
            settings("", &[]).unwrap().report.credit_values,
            CreditValues::default()
        );
        let file = "[app]\ncredit-value-usd-free = 0\ncredit-value-usd-plus = 0.01\ncredit-value-usd-pro = \"0.008\"\n";
        let values = settings(file, &[]).unwrap().report.credit_values;
        assert_eq!(
            values,
            CreditValues {
                free: Some(Money::ZERO),
                plus: Some(Money::from_micros(10_000)),
                pro: Some(Money::from_micros(8_000)),
            }
        );
        let values = settings(file, &[("USAGE_MONITOR_CREDIT_VALUE_USD_PRO", "0.000001")])
            .unwrap()
            .report
            .credit_values;
        assert_eq!(values.pro, Some(Money::from_micros(1)));
        let error = |env: &str| {
            settings("", &[("USAGE_MONITOR_CREDIT_VALUE_USD_PLUS", env)])
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error("0.0000001"),
            "USAGE_MONITOR_CREDIT_VALUE_USD_PLUS, or credit-value-usd-plus in [app] (\"0.0000001\") has more than 6 decimal places"
        );
        assert!(
            error("-0.01").ends_with("must not be negative"),
            "{}",
            error("-0.01")
        );
        assert!(error("1000.01").ends_with("is larger than 1000 dollars"));
        assert!(error("a cent").ends_with("is not a decimal number"));
        let e = settings("[app]\ncredit-value-usd-free = 1e-7\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.ends_with("has more than 6 decimal places"), "{e}");
        let e = settings("[app]\ncredit-value-usd-free = true\n", &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "credit-value-usd-free = true in [app] is not an amount of dollars"
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
    fn the_documentation_shows_the_settings_as_declared() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/configuration.md"
        ))
        .unwrap();
        let table = doc
            .split_once("<!-- settings-table -->\n")
            .and_then(|(_, rest)| rest.split_once("<!-- /settings-table -->"))
            .map(|(table, _)| table)
            .expect("docs/configuration.md marks its table with <!-- settings-table -->");
        assert_eq!(
            table,
            settings_table_markdown(),
            "docs/configuration.md's table is not what SETTINGS declares; between its markers goes:\n{}",
            settings_table_markdown()
        );
    }

    #[test]
    fn file_values_of_the_wrong_type_are_named() {
        let error = |file: &str| settings(file, &[]).unwrap_err().to_string();
        assert_eq!(
            error("[app]\nrefresh-seconds = \"soon\"\n"),
            "refresh-seconds = \"soon\" in [app] is not a valid number"
        );
        assert_eq!(
            error("[app]\nrefresh-seconds = 2.5\n"),
            "refresh-seconds = 2.5 in [app] is not a valid number"
        );
        assert_eq!(
            error("[app]\nsession-max-hours = -1\n"),
            "session-max-hours = -1 in [app] is not a valid number"
        );
        assert_eq!(
            error("[app]\ntime-zone = 1\n"),
            "time-zone = 1 in [app] is not text"
        );
        assert_eq!(
            error("[app]\ntrusted-proxies = \"10.0.0.0/8\"\n"),
            "trusted-proxies = \"10.0.0.0/8\" in [app] is not a list"
        );
        let s = settings("[app]\ndegraded-at-percent = 7\n", &[]).unwrap();
        assert_eq!(s.report.health.degraded_at_percent, 7.0);
        let e = settings("", &[("USAGE_MONITOR_CRITICAL_PERCENT", "101")])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "USAGE_MONITOR_CRITICAL_PERCENT (101) must be a percentage, from 0 to 100"
        );
        let e = toml::from_str::<ConfigFile>("[app]\ntimezone = \"UTC\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown setting `timezone` in [app]"), "{e}");
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
