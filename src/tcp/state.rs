//! The connection states of RFC 9293 §3.3.2: the endpoint uses the type the
//! analyzer infers, so simulated and captured timelines speak the same states.

pub use crate::timeline::TcpState;
