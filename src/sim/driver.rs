//! The simulation driver: two endpoints, two links and a virtual clock. Each
//! iteration jumps to the earliest wake-up (a segment arriving, a timer, an
//! application call) so a run never sleeps.

use super::app::{App, AppReport, DataMode, Step};
use super::link::{Fate, Link, LinkConfig, LinkStats, Loss};
use super::rng::SplitMix64;
use crate::tcp::{Config, Duration, Endpoint, Event, Instant, Segment, Stats, TcpState};
use std::net::Ipv4Addr;

/// Which endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Client,
    Server,
}

impl Side {
    pub fn index(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }
    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
    pub fn from_index(i: usize) -> Side {
        if i == 0 {
            Side::Client
        } else {
            Side::Server
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// One simulated host: address, port, TCP settings and application script.
#[derive(Clone, Debug)]
pub struct Host {
    pub addr: Ipv4Addr,
    pub port: u16,
    pub tcp: Config,
    pub script: Vec<Step>,
}

/// What a scripted fault does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultAction {
    Drop,
    Duplicate,
    Corrupt,
    Delay(Duration),
}

/// "Drop the 3rd data segment from the client": `nth` counts from 1, among
/// data-carrying segments when `data_only`, else among all segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptedFault {
    pub from: Side,
    pub nth: u64,
    pub data_only: bool,
    pub action: FaultAction,
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// [client, server].
    pub hosts: [Host; 2],
    /// [client -> server, server -> client].
    pub links: [LinkConfig; 2],
    pub faults: Vec<ScriptedFault>,
    pub seed: u64,
    pub data: DataMode,
    /// Virtual time after which the run stops.
    pub time_limit: Duration,
    /// Record every segment (for timelines, ladders and pcaps).
    pub trace: bool,
}

/// What happened to a recorded segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceKind {
    /// Left its sender; `lost` if the link dropped it.
    Sent { lost: Option<Loss> },
    /// Arrived changed by the link: the extra copy of a duplicate, or corrupted.
    Arrived { duplicate: bool, corrupted: bool },
}

/// One recorded segment.
#[derive(Clone, Debug)]
pub struct TraceEvent {
    pub time: Instant,
    pub from: Side,
    pub kind: TraceKind,
    pub seg: Segment,
    /// The sender's congestion window and threshold right after sending.
    pub cwnd: u32,
    pub ssthresh: u32,
    /// The sender's state right after sending.
    pub sender_state: TcpState,
}

/// A state change as the endpoint itself saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateChange {
    pub time: Instant,
    pub side: Side,
    pub from: TcpState,
    pub to: TcpState,
}

/// How a run ended.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub end: Instant,
    pub states: [TcpState; 2],
    pub apps: [AppReport; 2],
    pub stats: [Stats; 2],
    pub links: [LinkStats; 2],
    /// Generated payloads found at the wrong offset by each receiver.
    pub integrity_errors: [u64; 2],
    /// The run reached its time limit with work left.
    pub hit_time_limit: bool,
    /// Loop iterations (wake-ups).
    pub wakeups: u64,
}

pub struct Sim {
    cfg: SimConfig,
    now: Instant,
    eps: [Endpoint; 2],
    apps: [App; 2],
    links: [Link; 2],
    rng: SplitMix64,
    /// Segments and data segments sent per side.
    counts: [(u64, u64); 2],
    trace: Vec<TraceEvent>,
    states: Vec<StateChange>,
    wakeups: u64,
}

/// Bytes on the wire for rate limiting: IPv4 + TCP headers, options, payload.
fn wire_len(seg: &Segment) -> usize {
    let o = &seg.options;
    let mut opt = 0;
    if o.mss.is_some() || o.wscale.is_some() || o.sack_perm {
        opt += 12;
    }
    if o.timestamps.is_some() {
        opt += 12;
    }
    if o.sack_count > 0 {
        opt += 4 + 8 * o.sack_count as usize;
    }
    14 + 40 + opt + seg.payload.len()
}

impl Sim {
    pub fn new(cfg: SimConfig) -> Sim {
        let [c, s] = &cfg.hosts;
        let eps = [Endpoint::new(c.tcp.clone()), Endpoint::new(s.tcp.clone())];
        let apps = [
            App::new(c.script.clone(), cfg.data, c.port, s.port),
            App::new(s.script.clone(), cfg.data, s.port, c.port),
        ];
        let links = [
            Link::new(cfg.links[0].clone()),
            Link::new(cfg.links[1].clone()),
        ];
        Sim {
            rng: SplitMix64::new(cfg.seed),
            cfg,
            now: Instant::ZERO,
            eps,
            apps,
            links,
            counts: [(0, 0); 2],
            trace: Vec::new(),
            states: Vec::new(),
            wakeups: 0,
        }
    }

    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }
    pub fn now(&self) -> Instant {
        self.now
    }
    pub fn endpoint(&self, side: Side) -> &Endpoint {
        &self.eps[side.index()]
    }
    pub fn app(&self, side: Side) -> &AppReport {
        &self.apps[side.index()].report
    }
    /// Every segment sent (and changed arrivals), in time order.
    pub fn trace(&self) -> &[TraceEvent] {
        &self.trace
    }
    /// Every state change of both endpoints, in time order.
    pub fn state_changes(&self) -> &[StateChange] {
        &self.states
    }

    /// Run until nothing is left to do or the time limit.
    pub fn run(&mut self) -> Outcome {
        let limit = Instant::ZERO + self.cfg.time_limit;
        let mut hit_limit = false;
        loop {
            self.settle();
            let mut next = None;
            for i in 0..2 {
                for t in [
                    self.eps[i].poll_timeout(),
                    self.links[i].next_arrival(),
                    self.apps[i].next_wakeup(),
                ]
                .into_iter()
                .flatten()
                {
                    next = Some(next.map_or(t, |n: Instant| n.min(t)));
                }
            }
            let Some(t) = next else { break };
            if t > limit {
                hit_limit = true;
                break;
            }
            self.now = self.now.max(t);
            self.wakeups += 1;
            let now = self.now;
            for i in 0..2 {
                while let Some(f) = self.links[i].pop_due(now) {
                    let from = Side::from_index(i);
                    if self.cfg.trace && (f.duplicate || f.corrupted) {
                        let ep = &self.eps[i];
                        self.trace.push(TraceEvent {
                            time: now,
                            from,
                            kind: TraceKind::Arrived {
                                duplicate: f.duplicate,
                                corrupted: f.corrupted,
                            },
                            seg: f.seg.clone(),
                            cwnd: ep.cwnd(),
                            ssthresh: ep.ssthresh(),
                            sender_state: ep.state(),
                        });
                    }
                    if !f.corrupted {
                        // A corrupted segment fails the receiver's checksum.
                        self.eps[1 - i].handle_segment(now, f.seg);
                        // The receiver answers each segment before the next
                        // (one duplicate ACK per out-of-order segment).
                        self.settle_side(1 - i);
                    }
                }
            }
            for ep in &mut self.eps {
                if ep.poll_timeout().is_some_and(|t| t <= now) {
                    ep.handle_timeout(now);
                }
            }
        }
        Outcome {
            end: self.now,
            states: [self.eps[0].state(), self.eps[1].state()],
            apps: [self.apps[0].report.clone(), self.apps[1].report.clone()],
            stats: [self.eps[0].stats(), self.eps[1].stats()],
            links: [self.links[0].stats, self.links[1].stats],
            integrity_errors: [
                self.eps[0].integrity_errors(),
                self.eps[1].integrity_errors(),
            ],
            hit_time_limit: hit_limit,
            wakeups: self.wakeups,
        }
    }

    /// Let both applications act and both endpoints send what they can.
    fn settle(&mut self) {
        for i in 0..2 {
            self.settle_side(i);
        }
    }

    fn settle_side(&mut self, i: usize) {
        let now = self.now;
        self.apps[i].step(now, &mut self.eps[i]);
        while let Some(seg) = self.eps[i].poll_transmit(now) {
            self.transmit(i, seg);
        }
        while let Some(e) = self.eps[i].poll_event() {
            if let (true, Event::StateChanged { from, to }) = (self.cfg.trace, e) {
                self.states.push(StateChange {
                    time: now,
                    side: Side::from_index(i),
                    from,
                    to,
                });
            }
        }
    }

    fn fate(&mut self, i: usize, has_data: bool) -> Fate {
        let side = Side::from_index(i);
        let (n, d) = self.counts[i];
        for f in &self.cfg.faults {
            let hit = f.from == side
                && if f.data_only {
                    has_data && f.nth == d
                } else {
                    f.nth == n
                };
            if hit {
                return match f.action {
                    FaultAction::Drop => Fate {
                        drop: true,
                        ..Fate::default()
                    },
                    FaultAction::Duplicate => Fate {
                        duplicate: true,
                        ..Fate::default()
                    },
                    FaultAction::Corrupt => Fate {
                        corrupt: true,
                        ..Fate::default()
                    },
                    FaultAction::Delay(d) => Fate {
                        extra_delay: d,
                        ..Fate::default()
                    },
                };
            }
        }
        let l = &self.cfg.links[i];
        let mut fate = Fate::default();
        if self.rng.chance(l.loss) {
            fate.drop = true;
            return fate;
        }
        fate.duplicate = self.rng.chance(l.duplicate);
        fate.corrupt = self.rng.chance(l.corrupt);
        if self.rng.chance(l.reorder) {
            let max = l.reorder_delay.as_nanos().max(1) as u64;
            fate.extra_delay = Duration::from_nanos(1 + self.rng.below(max));
        }
        fate
    }

    fn transmit(&mut self, i: usize, seg: Segment) {
        let has_data = !seg.payload.is_empty();
        self.counts[i].0 += 1;
        if has_data {
            self.counts[i].1 += 1;
        }
        let fate = self.fate(i, has_data);
        let len = wire_len(&seg);
        if self.cfg.trace {
            let copy = seg.clone();
            let lost = self.links[i].send(self.now, seg, len, fate);
            let ep = &self.eps[i];
            self.trace.push(TraceEvent {
                time: self.now,
                from: Side::from_index(i),
                kind: TraceKind::Sent { lost },
                seg: copy,
                cwnd: ep.cwnd(),
                ssthresh: ep.ssthresh(),
                sender_state: ep.state(),
            });
        } else {
            self.links[i].send(self.now, seg, len, fate);
        }
    }
}
