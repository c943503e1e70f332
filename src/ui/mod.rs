//! What the admin sees: the Credits tab (`dashboard`), the generations log and the user
//! pages (`log`), the alerts page (`alerts`), the sign-in and first-admin forms (`login`),
//! the trends chart (`trend`), the text they are made of (`format`), and the mark that a
//! page is live (`hydrated`).

pub mod alerts;
pub mod dashboard;
pub mod format;
pub mod hydrated;
pub mod log;
pub mod login;
pub mod trend;
