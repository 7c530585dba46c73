//! Scenario files: JSON naming each endpoint's TCP settings and application
//! script, the links and scripted faults (format in docs/scenarios.md).
//! Errors name the file, the line and column (syntax, unknown or mistyped
//! fields) or the JSON path (values out of range), and what is wrong.

use super::app::{Action, DataMode, ReadMode, Step};
use super::driver::{FaultAction, Host, ScriptedFault, Side, SimConfig};
use super::link::LinkConfig;
use crate::tcp::{Config, Duration};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::Path;

/// Largest buffer a scenario may ask for (buffers are allocated).
pub const MAX_BUFFER: usize = 64 << 20;
/// Longest virtual run a scenario may ask for.
pub const MAX_TIME_LIMIT_MS: u64 = 10_000_000_000;

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: line {line} column {column}: {message}")]
    Json {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: {path}: {message}")]
    Invalid {
        file: String,
        path: String,
        message: String,
    },
    #[error("unknown built-in scenario '{0}' (tcpsim simulate --list shows them)")]
    UnknownBuiltin(String),
}

/// The whole file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub seed: u64,
    /// "bytes" (real bytes, checked by the reader) or "generated" (lengths
    /// only, checked by offset: for bulk runs).
    #[serde(default)]
    pub data: DataKind,
    #[serde(default = "default_time_limit")]
    pub time_limit_ms: u64,
    /// Both directions, unless `links` overrides one.
    #[serde(default)]
    pub link: LinkSpec,
    #[serde(default)]
    pub links: Option<LinksSpec>,
    pub client: HostSpec,
    pub server: HostSpec,
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
}

fn default_time_limit() -> u64 {
    3_600_000
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataKind {
    #[default]
    Bytes,
    Generated,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinksSpec {
    pub client_to_server: Option<LinkSpec>,
    pub server_to_client: Option<LinkSpec>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkSpec {
    pub delay_ms: f64,
    /// Bits per second; absent = no serialisation delay.
    pub rate_bps: Option<u64>,
    /// Packets queued for serialisation beyond which new ones are dropped.
    pub queue_limit: Option<usize>,
    pub loss: f64,
    pub duplicate: f64,
    pub reorder: f64,
    pub reorder_delay_ms: f64,
    pub corrupt: f64,
}

impl Default for LinkSpec {
    fn default() -> LinkSpec {
        LinkSpec {
            delay_ms: 10.0,
            rate_bps: None,
            queue_limit: None,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay_ms: 5.0,
            corrupt: 0.0,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    pub address: Ipv4Addr,
    pub port: u16,
    #[serde(default)]
    pub tcp: TcpSpec,
    #[serde(default)]
    pub app: Vec<StepSpec>,
}

/// An endpoint's settings; every field optional (defaults as `tcp::Config`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TcpSpec {
    pub isn: u32,
    pub mss: u16,
    pub send_buffer: usize,
    pub recv_buffer: usize,
    pub window_scale: Option<u8>,
    pub sack: bool,
    pub timestamps: bool,
    pub nagle: bool,
    /// Absent or null = ACK every segment at once.
    pub delayed_ack_ms: Option<f64>,
    pub receiver_sws: bool,
    pub rto_initial_ms: f64,
    pub rto_min_ms: f64,
    pub rto_max_ms: f64,
    pub msl_ms: f64,
    pub max_retransmissions: u32,
    pub initial_cwnd: Option<u32>,
    pub challenge_ack: bool,
    pub dup_threshold: u32,
}

fn to_ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Default for TcpSpec {
    fn default() -> TcpSpec {
        let c = Config::default();
        TcpSpec {
            isn: c.isn,
            mss: c.mss,
            send_buffer: c.send_buffer,
            recv_buffer: c.recv_buffer,
            window_scale: c.window_scale,
            sack: c.sack,
            timestamps: c.timestamps,
            nagle: c.nagle,
            delayed_ack_ms: c.delayed_ack.map(to_ms),
            receiver_sws: c.receiver_sws,
            rto_initial_ms: to_ms(c.rto_initial),
            rto_min_ms: to_ms(c.rto_min),
            rto_max_ms: to_ms(c.rto_max),
            msl_ms: to_ms(c.msl),
            max_retransmissions: c.max_retransmissions,
            initial_cwnd: c.initial_cwnd,
            challenge_ack: c.challenge_ack,
            dup_threshold: c.dup_threshold,
        }
    }
}

/// One application call: `at_ms` plus exactly one action key.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    #[serde(default, skip_serializing_if = "is_zero")]
    pub at_ms: f64,
    #[serde(default, skip_serializing_if = "is_false")]
    pub listen: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub connect: bool,
    /// Bytes to write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write: Option<u64>,
    /// With `write`: bytes per write call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<ReadSpec>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub wait_eof: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub shutdown: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub close: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub abort: bool,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}
fn is_false(b: &bool) -> bool {
    !*b
}

/// `"all"`, `"none"`, or `{"bytes": N, "every_ms": T}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReadSpec {
    Word(String),
    Paced { bytes: usize, every_ms: f64 },
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub from: Side,
    /// The n-th segment (from 1) this side sends...
    #[serde(default)]
    pub segment: Option<u64>,
    /// ...or the n-th segment carrying data.
    #[serde(default)]
    pub data_segment: Option<u64>,
    /// "drop", "duplicate", "corrupt" or "delay" (with `delay_ms`).
    pub action: String,
    #[serde(default)]
    pub delay_ms: Option<f64>,
}

struct Check<'a> {
    file: &'a str,
}

impl Check<'_> {
    fn err(&self, path: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            file: self.file.to_string(),
            path: path.to_string(),
            message: message.into(),
        }
    }
    fn ms(&self, path: &str, v: f64, max_ms: f64) -> Result<Duration, ScenarioError> {
        if !v.is_finite() || v < 0.0 || v > max_ms {
            return Err(self.err(
                path,
                format!("{v} is not a time in milliseconds between 0 and {max_ms}"),
            ));
        }
        Ok(Duration::from_nanos((v * 1e6).round() as u64))
    }
    fn prob(&self, path: &str, v: f64) -> Result<f64, ScenarioError> {
        if !(0.0..=1.0).contains(&v) {
            return Err(self.err(path, format!("{v} is not a probability between 0 and 1")));
        }
        Ok(v)
    }
}

const DAY_MS: f64 = 86_400_000.0;

impl Scenario {
    /// Parse a scenario; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        serde_json::from_str(text).map_err(|e| ScenarioError::Json {
            file: file.to_string(),
            line: e.line(),
            column: e.column(),
            message: e
                .to_string()
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_string(),
        })
    }

    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            file: file.clone(),
            source,
        })?;
        Scenario::parse(&text, &file)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Check every value and build the simulator's configuration.
    pub fn to_config(&self, file: &str) -> Result<SimConfig, ScenarioError> {
        let c = Check { file };
        let base = link(&c, "link", &self.link)?;
        let mut links = [base.clone(), base];
        if let Some(l) = &self.links {
            if let Some(s) = &l.client_to_server {
                links[0] = link(&c, "links.client_to_server", s)?;
            }
            if let Some(s) = &l.server_to_client {
                links[1] = link(&c, "links.server_to_client", s)?;
            }
        }
        let hosts = [
            host(&c, "client", &self.client)?,
            host(&c, "server", &self.server)?,
        ];
        let mut faults = Vec::new();
        for (i, f) in self.faults.iter().enumerate() {
            let path = format!("faults[{i}]");
            let (nth, data_only) = match (f.segment, f.data_segment) {
                (Some(n), None) => (n, false),
                (None, Some(n)) => (n, true),
                _ => {
                    return Err(c.err(
                        &path,
                        "give exactly one of \"segment\" and \"data_segment\"",
                    ))
                }
            };
            if nth == 0 {
                return Err(c.err(&path, "segments are counted from 1"));
            }
            let action = match (f.action.as_str(), f.delay_ms) {
                ("drop", None) => FaultAction::Drop,
                ("duplicate", None) => FaultAction::Duplicate,
                ("corrupt", None) => FaultAction::Corrupt,
                ("delay", Some(d)) => {
                    FaultAction::Delay(c.ms(&format!("{path}.delay_ms"), d, DAY_MS)?)
                }
                ("delay", None) => return Err(c.err(&path, "\"delay\" needs \"delay_ms\"")),
                (a @ ("drop" | "duplicate" | "corrupt"), Some(_)) => {
                    return Err(c.err(
                        &path,
                        format!("\"delay_ms\" only goes with \"delay\", not \"{a}\""),
                    ))
                }
                (a, _) => {
                    return Err(c.err(
                        &format!("{path}.action"),
                        format!("unknown action \"{a}\" (drop, duplicate, corrupt, delay)"),
                    ))
                }
            };
            faults.push(ScriptedFault {
                from: f.from,
                nth,
                data_only,
                action,
            });
        }
        if self.time_limit_ms == 0 || self.time_limit_ms > MAX_TIME_LIMIT_MS {
            return Err(c.err(
                "time_limit_ms",
                format!("must be between 1 and {MAX_TIME_LIMIT_MS}"),
            ));
        }
        Ok(SimConfig {
            hosts,
            links,
            faults,
            seed: self.seed,
            data: match self.data {
                DataKind::Bytes => DataMode::Bytes,
                DataKind::Generated => DataMode::Generated,
            },
            time_limit: Duration::from_millis(self.time_limit_ms),
            trace: true,
        })
    }
}

fn link(c: &Check, path: &str, s: &LinkSpec) -> Result<LinkConfig, ScenarioError> {
    if s.rate_bps == Some(0) {
        return Err(c.err(
            &format!("{path}.rate_bps"),
            "must be positive (leave it out for an infinitely fast link)",
        ));
    }
    Ok(LinkConfig {
        delay: c.ms(&format!("{path}.delay_ms"), s.delay_ms, DAY_MS)?,
        rate_bps: s.rate_bps,
        queue_limit: s.queue_limit,
        loss: c.prob(&format!("{path}.loss"), s.loss)?,
        duplicate: c.prob(&format!("{path}.duplicate"), s.duplicate)?,
        reorder: c.prob(&format!("{path}.reorder"), s.reorder)?,
        corrupt: c.prob(&format!("{path}.corrupt"), s.corrupt)?,
        reorder_delay: c.ms(
            &format!("{path}.reorder_delay_ms"),
            s.reorder_delay_ms,
            DAY_MS,
        )?,
    })
}

fn host(c: &Check, path: &str, h: &HostSpec) -> Result<Host, ScenarioError> {
    if h.port == 0 {
        return Err(c.err(&format!("{path}.port"), "port 0 is not a TCP port"));
    }
    let t = &h.tcp;
    let p = |f: &str| format!("{path}.tcp.{f}");
    if t.mss < 64 {
        return Err(c.err(&p("mss"), format!("{} is below 64", t.mss)));
    }
    for (name, v) in [
        ("send_buffer", t.send_buffer),
        ("recv_buffer", t.recv_buffer),
    ] {
        if v == 0 || v > MAX_BUFFER {
            return Err(c.err(
                &p(name),
                format!("{v} is not between 1 and {MAX_BUFFER} bytes"),
            ));
        }
    }
    if t.window_scale.is_some_and(|s| s > 14) {
        return Err(c.err(&p("window_scale"), "RFC 7323 §2.3 allows shifts up to 14"));
    }
    if t.dup_threshold == 0 {
        return Err(c.err(&p("dup_threshold"), "must be at least 1"));
    }
    if t.initial_cwnd == Some(0) {
        return Err(c.err(&p("initial_cwnd"), "must be at least 1 segment"));
    }
    let tcp = Config {
        isn: t.isn,
        mss: t.mss,
        send_buffer: t.send_buffer,
        recv_buffer: t.recv_buffer,
        window_scale: t.window_scale,
        sack: t.sack,
        timestamps: t.timestamps,
        nagle: t.nagle,
        delayed_ack: match t.delayed_ack_ms {
            Some(d) => Some(c.ms(&p("delayed_ack_ms"), d, 500.0)?),
            None => None,
        },
        receiver_sws: t.receiver_sws,
        rto_initial: c.ms(&p("rto_initial_ms"), t.rto_initial_ms, DAY_MS)?,
        rto_min: c.ms(&p("rto_min_ms"), t.rto_min_ms, DAY_MS)?,
        rto_max: c.ms(&p("rto_max_ms"), t.rto_max_ms, DAY_MS)?,
        msl: c.ms(&p("msl_ms"), t.msl_ms, DAY_MS)?,
        max_retransmissions: t.max_retransmissions,
        initial_cwnd: t.initial_cwnd,
        challenge_ack: t.challenge_ack,
        dup_threshold: t.dup_threshold,
    };
    if tcp.rto_min > tcp.rto_max {
        return Err(c.err(&p("rto_min_ms"), "is above rto_max_ms"));
    }
    let mut script = Vec::new();
    for (i, s) in h.app.iter().enumerate() {
        let sp = format!("{path}.app[{i}]");
        let at = c.ms(&format!("{sp}.at_ms"), s.at_ms, MAX_TIME_LIMIT_MS as f64)?;
        let mut actions = Vec::new();
        if s.listen {
            actions.push(Action::Listen);
        }
        if s.connect {
            actions.push(Action::Connect);
        }
        if let Some(bytes) = s.write {
            if s.chunk == Some(0) {
                return Err(c.err(&format!("{sp}.chunk"), "must be at least 1 byte"));
            }
            actions.push(Action::Write {
                bytes,
                chunk: s.chunk,
            });
        } else if s.chunk.is_some() {
            return Err(c.err(&format!("{sp}.chunk"), "only goes with \"write\""));
        }
        if let Some(r) = &s.read {
            let mode = match r {
                ReadSpec::Word(w) if w == "all" => ReadMode::All,
                ReadSpec::Word(w) if w == "none" => ReadMode::Paused,
                ReadSpec::Word(w) => {
                    return Err(c.err(
                        &format!("{sp}.read"),
                        format!(
                        "\"{w}\": expected \"all\", \"none\" or {{\"bytes\": N, \"every_ms\": T}}"
                    ),
                    ))
                }
                ReadSpec::Paced { bytes, every_ms } => {
                    let every = c.ms(&format!("{sp}.read.every_ms"), *every_ms, DAY_MS)?;
                    if every.is_zero() || *bytes == 0 {
                        return Err(
                            c.err(&format!("{sp}.read"), "bytes and every_ms must be positive")
                        );
                    }
                    ReadMode::Paced {
                        bytes: *bytes,
                        every,
                    }
                }
            };
            actions.push(Action::Read(mode));
        }
        if s.wait_eof {
            actions.push(Action::WaitEof);
        }
        if s.shutdown {
            actions.push(Action::Shutdown);
        }
        if s.close {
            actions.push(Action::Close);
        }
        if s.abort {
            actions.push(Action::Abort);
        }
        match actions.len() {
            1 => script.push(Step {
                at,
                action: actions.remove(0),
            }),
            0 => {
                return Err(c.err(
                    &sp,
                    "no action (listen, connect, write, read, wait_eof, shutdown, close, abort)",
                ))
            }
            _ => return Err(c.err(&sp, "more than one action in one step")),
        }
    }
    Ok(Host {
        addr: h.address,
        port: h.port,
        tcp,
        script,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
        "name": "t",
        "client": {"address": "10.0.0.1", "port": 1000, "app": [{"connect": true}, {"write": 10, "chunk": 5}]},
        "server": {"address": "10.0.0.2", "port": 80, "tcp": {"mss": 536}, "app": [{"listen": true}, {"read": {"bytes": 4, "every_ms": 10}}]},
        "faults": [{"from": "client", "data_segment": 2, "action": "drop"}]
    }"#;

    #[test]
    fn parses_and_converts() {
        let s = Scenario::parse(GOOD, "good.json").unwrap();
        let cfg = s.to_config("good.json").unwrap();
        assert_eq!(cfg.hosts[1].tcp.mss, 536);
        assert_eq!(
            cfg.hosts[0].script[1].action,
            Action::Write {
                bytes: 10,
                chunk: Some(5)
            }
        );
        assert_eq!(
            cfg.faults[0],
            ScriptedFault {
                from: Side::Client,
                nth: 2,
                data_only: true,
                action: FaultAction::Drop
            }
        );
        // Round trip through the writer.
        let again = Scenario::parse(&s.to_json(), "x").unwrap();
        assert_eq!(
            again.to_config("x").unwrap().hosts[0].script,
            cfg.hosts[0].script
        );
    }

    #[test]
    fn errors_name_file_line_and_path() {
        let e = Scenario::parse("{\n  \"name\": \"x\",\n  \"bogus\": 1\n}", "f.json")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("f.json: line 3 column"), "{e}");
        assert!(e.contains("unknown field `bogus`"), "{e}");
        let bad = GOOD.replace("\"mss\": 536", "\"mss\": 5");
        let e = Scenario::parse(&bad, "f.json")
            .unwrap()
            .to_config("f.json")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f.json: server.tcp.mss: 5 is below 64");
        let bad = GOOD.replace("{\"listen\": true}", "{\"listen\": true, \"close\": true}");
        let e = Scenario::parse(&bad, "f.json")
            .unwrap()
            .to_config("f.json")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "f.json: server.app[0]: more than one action in one step");
        let bad = GOOD.replace("\"drop\"", "\"explode\"");
        let e = Scenario::parse(&bad, "f.json")
            .unwrap()
            .to_config("f.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("faults[0].action: unknown action \"explode\""),
            "{e}"
        );
        let bad = GOOD.replace(
            "\"name\": \"t\",",
            "\"name\": \"t\", \"link\": {\"loss\": 2},",
        );
        let e = Scenario::parse(&bad, "f.json")
            .unwrap()
            .to_config("f.json")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "f.json: link.loss: 2 is not a probability between 0 and 1"
        );
        let bad = GOOD
            .replace(
                "\"port\": 80,",
                "\"port\": 80, \"tcp\": {\"recv_buffer\": 99999999999},",
            )
            .replace(", \"tcp\": {\"mss\": 536}", "");
        let e = Scenario::parse(&bad, "f.json")
            .unwrap()
            .to_config("f.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.tcp.recv_buffer"), "{e}");
        let e = Scenario::parse("[1,", "f.json").unwrap_err().to_string();
        assert!(e.starts_with("f.json: line 1"), "{e}");
    }
}
