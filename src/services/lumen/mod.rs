//! The Lumen Database, where DMCA notices are published: [`wire`] builds the notice (JSON, or
//! multipart when files are attached) and reads Lumen's answer (the notice's id from
//! `Location`, or a typed refusal); [`client`] sends it through the egress client.

pub mod client;
pub mod wire;
