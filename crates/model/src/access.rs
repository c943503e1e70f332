//! What the browser shares of access control: the problems a login or setup form can
//! report, and where a signed-in admin is sent next.

use serde::{Deserialize, Serialize};

/// The start of every "no session" answer; the page recognises it to offer signing in again.
pub const SIGN_IN_FIRST: &str = "sign in first";

/// What a request without a session is told.
pub fn session_needed() -> String {
    format!("{SIGN_IN_FIRST}: this needs an admin session")
}

/// Why a login or setup form came back instead of letting the admin in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FormProblem {
    /// Wrong email or wrong password: one answer for both.
    InvalidCredentials,
    /// Too many failed attempts for this account or from this address.
    Throttled { retry_after_seconds: u64 },
    /// Too many sign-ins being checked at once.
    Busy { retry_after_seconds: u64 },
    /// The setup link is wrong, used, or an admin exists already.
    SetupClosed,
    /// A field the admin typed is not acceptable; the text says which and why.
    Invalid(String),
}

impl FormProblem {
    pub fn message(&self) -> String {
        match self {
            FormProblem::InvalidCredentials => "Wrong email or password.".into(),
            FormProblem::Throttled {
                retry_after_seconds,
            } => format!(
                "Too many failed sign-ins. Try again in {retry_after_seconds} s."
            ),
            FormProblem::Busy {
                retry_after_seconds,
            } => format!(
                "The server is busy checking other sign-ins. Try again in {retry_after_seconds} s."
            ),
            FormProblem::SetupClosed => {
                "This setup link is not valid: it was used already, or an admin exists. Sign in instead, or ask an admin to run usage-monitor create-admin.".into()
            }
            FormProblem::Invalid(reason) => reason.clone(),
        }
    }
}

/// `path?key=value`, the value URL-encoded; just `path` without a value.
pub fn path_with_query(path: &str, key: &str, value: Option<&str>) -> String {
    match value {
        Some(value) => format!(
            "{path}?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair(key, value)
                .finish()
        ),
        None => path.to_owned(),
    }
}

/// Where to go after signing in: a path on this site, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control()) =>
        {
            path.to_owned()
        }
        _ => super::paths::DASHBOARD_PATH.to_owned(),
    }
}

#[cfg(test)]
mod unit_tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/admin/credits?x=1")), "/admin/credits?x=1");
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "admin",
            "/admin\r\nSet-Cookie: x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/admin/credits", "{bad}");
        }
        assert_eq!(safe_next(None), "/admin/credits");
    }
}
