//! The first-admin link: a one-time token, printed at start while there is no admin.

use std::sync::Mutex;

/// The one-time token of the first-admin link, while there is no admin.
#[derive(Debug, Default)]
pub struct SetupLink(Mutex<Option<String>>);

impl SetupLink {
    /// Opens the link with a new random token and returns the token.
    pub fn open(&self) -> String {
        let token = store::auth::secret::random_secret();
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        token
    }

    pub fn accepts(&self, token: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_deref()
            .is_some_and(|open| store::auth::secret::same_secret(open, token))
    }

    /// Takes the token if it is the right one: it works once.
    pub fn redeem(&self, token: &str) -> bool {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if open
            .as_deref()
            .is_some_and(|t| store::auth::secret::same_secret(t, token))
        {
            *open = None;
            true
        } else {
            false
        }
    }

    pub fn reopen(&self, token: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(token);
    }
}
