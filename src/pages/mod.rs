//! HTML pages, rendered with maud. Functions here take values and return markup: no I/O, no
//! store, no clock, so every page can be rendered in a unit test.
//!
//! maud escapes every interpolated value; nothing here uses `PreEscaped`.

pub mod audit;
pub mod bidi;
pub mod cases;
pub mod child_protection;
pub mod dmca;
pub mod errors;
pub mod home;
pub mod layout;
pub mod roster;

/// The stylesheet, compiled into the binary and served at `/static/style.css` (the CSP allows
/// styles only from this origin, never inline).
pub const STYLESHEET: &str = include_str!("style.css");
