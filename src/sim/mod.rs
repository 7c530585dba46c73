//! The deterministic simulator: a virtual clock, one link per direction
//! (delay, rate, queue, faults from a seed or a script), two
//! [`crate::tcp::Endpoint`]s with application scripts, and scenario files.

pub mod app;
pub mod builtin;
pub mod driver;
pub mod link;
pub mod output;
pub mod rng;
pub mod scenario;

pub use app::{Action, AppReport, DataMode, ReadMode, Step};
pub use driver::{
    FaultAction, Host, Outcome, ScriptedFault, Side, Sim, SimConfig, StateChange, TraceEvent,
    TraceKind,
};
pub use link::{LinkConfig, LinkStats, Loss};
pub use rng::SplitMix64;
#[cfg(test)]
mod tests;
pub use scenario::{Scenario, ScenarioError};
