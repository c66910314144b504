//! NCMEC's CyberTipline reporting API. [`wire`] builds the requests and re-exports the
//! rest: [`report`] types the report, [`writer`] writes its XML, [`response`] reads NCMEC's
//! answers (their codes are in [`code`]), and [`xml`] is the safe XML reader underneath.
//! [`client`] sends each step through the egress client.

pub mod client;
pub mod code;
pub mod report;
pub mod response;
pub mod wire;
pub mod writer;
pub mod xml;

#[cfg(test)]
pub(crate) mod tests;
