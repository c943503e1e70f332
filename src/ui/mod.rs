//! What the admin sees: the Credits tab (`dashboard`) and the text it is made of (`format`).

pub mod dashboard;
pub mod format;
