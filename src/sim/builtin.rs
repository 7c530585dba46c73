//! Built-in scenarios (`tcpsim simulate --list`), kept as scenario files
//! under scenarios/ so they double as examples of the format.

use super::driver::SimConfig;
use super::scenario::{Scenario, ScenarioError};

/// (name, file text).
pub const BUILTINS: [(&str, &str); 10] = [
    ("handshake", include_str!("../../scenarios/handshake.json")),
    ("teaching", include_str!("../../scenarios/teaching.json")),
    (
        "zero-window",
        include_str!("../../scenarios/zero-window.json"),
    ),
    (
        "fast-retransmit",
        include_str!("../../scenarios/fast-retransmit.json"),
    ),
    (
        "simultaneous-open",
        include_str!("../../scenarios/simultaneous-open.json"),
    ),
    (
        "simultaneous-close",
        include_str!("../../scenarios/simultaneous-close.json"),
    ),
    (
        "half-close",
        include_str!("../../scenarios/half-close.json"),
    ),
    ("refused", include_str!("../../scenarios/refused.json")),
    (
        "sack-recovery",
        include_str!("../../scenarios/sack-recovery.json"),
    ),
    ("bulk-1gib", include_str!("../../scenarios/bulk-1gib.json")),
];

/// The built-in scenario `name`.
pub fn builtin(name: &str) -> Result<Scenario, ScenarioError> {
    let (n, text) = BUILTINS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| ScenarioError::UnknownBuiltin(name.to_string()))?;
    Scenario::parse(text, &format!("builtin:{n}"))
}

/// The bulk benchmark with another size and loss rate, without tracing.
pub fn bulk(bytes: u64, loss: f64, seed: u64) -> SimConfig {
    let mut s = builtin("bulk-1gib").expect("the bulk-1gib builtin parses");
    s.client.app[1].write = Some(bytes);
    s.link.loss = loss;
    s.seed = seed;
    let mut cfg = s
        .to_config("builtin:bulk-1gib")
        .expect("the bulk-1gib builtin is valid");
    cfg.trace = false;
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_and_validates() {
        for (name, _) in BUILTINS {
            let s = builtin(name).unwrap();
            assert_eq!(s.name, name);
            assert!(!s.description.is_empty());
            s.to_config(name).unwrap();
        }
        assert!(matches!(
            builtin("nope"),
            Err(ScenarioError::UnknownBuiltin(_))
        ));
    }
}
