//! Real kernel TCP sockets on loopback, their traffic captured as it happens,
//! then analysed by the same analyzer as any capture.
//!
//! `runner` is the only module that opens sockets, captures live traffic and
//! reads the wall clock. A run:
//! 1. picks the scenario's port and starts the capture on `lo` (`capture`),
//!    before the first connect;
//! 2. runs the scenario (`scenario`), sampling the kernel's socket table
//!    (`procnet`) at each application step and at the end;
//! 3. stops the capture once the traffic has settled, analyses it with the
//!    same analyzer as `tcpsim timeline` (`verdict`), checks the bytes end to
//!    end (`data_check`), and sets the kernel's states beside the inferred
//!    ones at every sampled moment (`compare`).

pub mod capture;
pub mod clock;
pub mod compare;
pub mod data_check;
pub mod frame;
pub mod procnet;
pub mod scenario;
pub mod verdict;

use crate::timeline::{timeline_from_packets, Source, SourceKind, Timeline};
use capture::{CaptureError, CaptureResult, LiveCapture, PortFilter};
use compare::StateComparison;
use data_check::DirectionCheck;
use procnet::{KernelSocket, ProcNetError};
use scenario::{Scenario, ScenarioConfig, ScenarioError, ScenarioOutcome};
use std::net::SocketAddr;
use std::time::Duration;
use verdict::ConnectionVerdict;

/// How long the traffic must be quiet before a sample is taken.
const SETTLE_QUIET: Duration = Duration::from_millis(15);
/// Longest wait for quiet (a slow reader's probes never stop).
const SETTLE_LIMIT: Duration = Duration::from_millis(300);
/// Quiet needed after the scenario before the capture stops.
const FINAL_QUIET: Duration = Duration::from_millis(100);

/// How to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub scenario: Scenario,
    /// The scenario's settings; `port` 0 lets the runner pick a free port.
    pub settings: ScenarioConfig,
    /// Capture the traffic (needs CAP_NET_RAW).
    pub capture: bool,
}

/// The kernel's table at one application step.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KernelSample {
    pub label: String,
    /// Wall clock when the table was read, ns since the Unix epoch.
    pub time_ns: i64,
    /// With capture: the table was read after the first `.0` captured
    /// frames and before frame `.1 + 1` (synchronisation markers sent
    /// through lo just before and just after the read; see `capture`).
    pub frames_window: Option<(usize, usize)>,
    /// The scenario's sockets (server port on either side), listeners included.
    #[serde(skip)]
    pub sockets: Vec<KernelSocket>,
}

/// Everything a run produced.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub scenario: Scenario,
    pub server: SocketAddr,
    pub outcome: ScenarioOutcome,
    pub samples: Vec<KernelSample>,
    /// `None` with `--no-capture`.
    pub capture: Option<CaptureResult>,
    /// End-to-end data checks, two per connection (empty without capture).
    pub data_checks: Vec<DirectionCheck>,
    /// The capture's timeline (`None` without capture).
    pub timeline: Option<Timeline>,
    /// One verdict per captured connection.
    pub verdicts: Vec<ConnectionVerdict>,
    /// Kernel vs inferred state, per sample and connection side (empty
    /// without capture).
    pub states: Vec<StateComparison>,
}

impl RunReport {
    /// Every check passed: connections, data, and kernel/inferred states.
    pub fn all_good(&self) -> bool {
        let refused = self.scenario == Scenario::Refused;
        // A capture the kernel dropped frames from cannot vouch for anything.
        self.capture
            .as_ref()
            .is_some_and(|c| c.kernel_drops.unwrap_or(0) == 0)
            && verdict::all_good(&self.verdicts, &self.data_checks, refused)
            && self.states.iter().all(|s| s.agree)
            && self.outcome.expected_failures.iter().all(|f| f.expected)
    }
}

/// A run that could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    ProcNet(#[from] ProcNetError),
    #[error("{scenario}: pick a free port on {addr}: {source}")]
    Port {
        scenario: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A port free right now on the loopback address (the kernel picks it).
fn free_port(scenario: Scenario, ip: std::net::IpAddr) -> Result<u16, RunError> {
    let addr = SocketAddr::new(ip, 0);
    let l = std::net::TcpListener::bind(addr).map_err(|source| RunError::Port {
        scenario: scenario.name(),
        addr,
        source,
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|source| RunError::Port {
            scenario: scenario.name(),
            addr,
            source,
        })
}

/// Run one scenario, capturing if asked.
pub fn run(cfg: &RunConfig) -> Result<RunReport, RunError> {
    let mut settings = cfg.settings.clone();
    let ip = settings.family.loopback();
    if settings.port == 0 {
        settings.port = free_port(cfg.scenario, ip)?;
    }
    let server = SocketAddr::new(ip, settings.port);
    let live = if cfg.capture {
        Some(LiveCapture::start(PortFilter {
            ports: vec![settings.port],
        })?)
    } else {
        None
    };

    let mut samples = Vec::new();
    let mut sample_error = None;
    let mut step = |label: &str| {
        match &live {
            Some(c) => c.settle(SETTLE_QUIET, SETTLE_LIMIT),
            None => std::thread::sleep(SETTLE_QUIET),
        }
        let before = live.as_ref().and_then(|c| c.sync());
        match sample(label, server) {
            Ok(mut s) => {
                let after = live.as_ref().and_then(|c| c.sync());
                s.frames_window = before.zip(after);
                samples.push(s)
            }
            Err(e) => {
                sample_error.get_or_insert(e);
            }
        }
    };
    let outcome = scenario::run(cfg.scenario, &settings, &mut step);
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            drop(live);
            return Err(e.into());
        }
    };
    if let Some(c) = &live {
        c.settle(FINAL_QUIET, Duration::from_secs(2));
    }
    step("end");
    if let Some(e) = sample_error {
        return Err(e.into());
    }
    let capture = match live {
        Some(c) => Some(c.finish()?),
        None => None,
    };
    let data_checks = match &capture {
        Some(c) => outcome
            .connections
            .iter()
            .flat_map(|conn| data_check::check(&c.frames, conn))
            .collect(),
        None => Vec::new(),
    };
    let timeline = capture.as_ref().map(|c| {
        let source = Source {
            kind: SourceKind::Live,
            name: format!("tcpsim run {}", cfg.scenario.name()),
            seed: None,
            packets: 0,
        };
        timeline_from_packets(source, &frame::packet_infos(&c.frames))
    });
    let verdicts = timeline
        .as_ref()
        .map(verdict::judge_all)
        .unwrap_or_default();
    let tuples: Vec<(SocketAddr, SocketAddr)> = outcome
        .connections
        .iter()
        .filter_map(|c| c.client.map(|cl| (cl, c.server)))
        .collect();
    let states = timeline
        .as_ref()
        .map(|t| compare::compare(&samples, t, &tuples))
        .unwrap_or_default();
    Ok(RunReport {
        scenario: cfg.scenario,
        server,
        outcome,
        samples,
        capture,
        data_checks,
        timeline,
        verdicts,
        states,
    })
}

/// Write the captured frames as a pcap file (Ethernet, snaplen 262144,
/// nanosecond timestamps) through the project's pcap writer.
pub fn write_pcap(path: &std::path::Path, capture: &CaptureResult) -> std::io::Result<()> {
    let mut w = crate::pcap::PcapWriter::create(path, crate::pcap::linktype::ETHERNET)?;
    for f in &capture.frames {
        let len = u32::try_from(f.data.len()).unwrap_or(u32::MAX);
        w.write(f.time_ns, &f.data, len)?;
    }
    w.finish().map(|_| ())
}

/// Read the kernel's table now, keeping the sockets on the server's port.
fn sample(label: &str, server: SocketAddr) -> Result<KernelSample, ProcNetError> {
    let time_ns = clock::now_ns();
    let sockets = procnet::read_all()?
        .into_iter()
        .filter(|s| s.local.ip() == server.ip() || s.local.ip().is_unspecified())
        .filter(|s| {
            s.local.port() == server.port()
                || (s.remote.port() == server.port() && s.remote.ip() == server.ip())
        })
        .collect();
    Ok(KernelSample {
        label: label.to_string(),
        time_ns,
        frames_window: None,
        sockets,
    })
}
