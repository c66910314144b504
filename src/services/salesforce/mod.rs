//! salesforce: see [`wire`] for the messages.

pub mod wire;
