//! Where logs go and which are written: `RUST_LOG` chooses, except for the audit trail
//! (docs/security.md, rule 7): events of the `audit` target at `info` and above are written
//! whatever `RUST_LOG` says, as a filter of their own beside it rather than a directive
//! inside it, which a more specific directive could outweigh.

use tracing::Level;
use tracing_subscriber::filter::{EnvFilter, FilterExt, Targets};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::Registry;

/// The target of the audit trail: logins, logouts, admins and tokens.
pub const AUDIT: &str = "audit";
/// What is logged when `RUST_LOG` is not set (or cannot be read).
pub const DEFAULT_FILTER: &str = "info,sqlx=warn";

/// The subscriber for `RUST_LOG`'s value (`None`: not set), writing to `writer`.
pub fn subscriber<W>(rust_log: Option<&str>, writer: W, ansi: bool) -> impl tracing::Subscriber
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let chosen = rust_log
        .and_then(|filter| EnvFilter::try_new(filter).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    let audit = Targets::new().with_target(AUDIT, Level::INFO);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi)
        .with_filter(chosen.or(audit));
    Registry::default().with(layer)
}

/// Installs the subscriber for the process: to standard error, coloured only for people.
pub fn init() {
    use tracing_subscriber::util::SubscriberInitExt;
    let rust_log = std::env::var("RUST_LOG").ok();
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    subscriber(rust_log.as_deref(), std::io::stderr, ansi).init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::db::testing::CapturedLog;

    /// What is written for an audit event, an event of another target and a debug audit
    /// event, under `rust_log`.
    fn written(rust_log: Option<&str>) -> String {
        let captured = CapturedLog::default();
        let writer = captured.clone();
        let subscriber = subscriber(rust_log, move || writer.clone(), false);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", path = "/login");
            let _entered = span.enter();
            tracing::warn!(target: "audit", action = "login_failed", "probe");
            tracing::info!(target: "usage_monitor::server", "chatter");
            tracing::debug!(target: "audit", "detail");
        });
        captured.text()
    }

    #[test]
    fn no_rust_log_silences_the_audit_trail() {
        for rust_log in [
            "off",
            "audit=off",
            "audit=error",
            "info,audit=off",
            "aud=off",
            "audit[request]=off",
            "[request]=off",
            "audit[request{path}]=off",
            "[{path}]=off",
            "error,audit::x=off",
            "not a filter ===",
            "",
        ] {
            let log = written(Some(rust_log));
            assert!(
                log.contains("action=\"login_failed\""),
                "{rust_log:?}: {log:?}"
            );
        }
    }

    #[test]
    fn rust_log_still_chooses_the_rest() {
        assert!(written(None).contains("chatter"));
        assert!(!written(None).contains("detail"));
        assert!(!written(Some("off")).contains("chatter"));
        assert!(!written(Some("warn")).contains("chatter"));
        assert!(written(Some("debug")).contains("detail"));
    }
}
