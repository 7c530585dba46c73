//! The sans-IO TCP endpoint (quinn-proto style): it never reads a clock or a
//! socket. Feed it segments and timeouts with the current [`Instant`]; take
//! segments from [`Endpoint::poll_transmit`], the next wake-up from
//! [`Endpoint::poll_timeout`] and events from [`Endpoint::poll_event`].

pub mod buffer;
pub mod config;
pub mod endpoint;
pub mod rtt;
pub mod segment;
pub mod state;
pub mod time;

#[cfg(test)]
mod tests;

pub use config::Config;
pub use endpoint::{AppError, Endpoint, Event, Stats};
pub use segment::{fill_pattern, pattern_byte, Payload, Segment};
pub use state::TcpState;
pub use time::{Duration, Instant};
