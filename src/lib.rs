//! tcpsim: TCP at the packet level.
//!
//! One analyzer for every source (see docs/architecture.md):
//! captures, simulations and live runs all become `wire` packets,
//! go through `track`, and come out as `timeline` events.
//!
//! Module map:
//! - [`wire`]: pure codecs (link, IPv4, IPv6, TCP, checksums). No I/O.
//! - [`pcap`]: the only module that imports pcap-file: capture reader and writer.
//! - [`track`]: flow table, per-direction sequence state, analysis flags, verdicts.
//! - [`timeline`]: the JSON schema types and the text/JSON renderers.
//! - [`tcp`]: the sans-IO TCP endpoint.
//! - [`sim`]: virtual clock, link model, scenarios, driver.
//! - [`runner`]: the only module that opens sockets or captures live traffic.
//! - [`replay`]: conformance replay and what-if re-runs of captures.
//! - [`plot`]: ladder diagrams, sequence and window graphs, HTML report.
//! - [`cli`]: one file per subcommand.

pub mod cli;
pub mod pcap;
pub mod plot;
pub mod replay;
pub mod runner;
pub mod sim;
pub mod tcp;
pub mod timeline;
pub mod track;
pub mod wire;
