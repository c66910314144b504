//! The Lumen Database, where DMCA notices are published: [`wire`] builds the notice (JSON, or
//! multipart when files are attached) and reads Lumen's answer (the notice's id from
//! `Location`, or a typed refusal). The client that sends it through the egress client comes
//! with the DMCA workflow.

pub mod wire;
