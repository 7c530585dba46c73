//! The timeline: JSON schema types shared by every source
//! ([`schema`], documented in docs/timeline-schema.md), the TCP state enum
//! ([`TcpState`]), and the builder that turns analyzed packets into a
//! [`Timeline`] ([`TimelineBuilder`]).

pub mod builder;
pub mod conn_table;
pub mod schema;
pub mod state;

pub use builder::{
    analyze_all, analyze_inputs, event_from, flag_names, timeline_from_packets, SimExtras,
    TimelineBuilder,
};
pub use schema::*;
pub use state::TcpState;
