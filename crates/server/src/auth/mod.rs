//! The checks every request passes before it reaches a page, a server function or the
//! JSON API (`guard`), the security headers (`headers`), the sign-in forms' endpoints
//! (`forms`), and who a request comes from behind trusted proxies (`client_address`).

pub mod client_address;
pub mod forms;
pub mod guard;
pub mod headers;

#[cfg(test)]
pub(crate) mod tests;
