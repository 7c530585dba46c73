//! One direction of the simulated network: one-way delay, serialisation at a
//! rate, a drop-tail queue, and faults decided by the driver.

use crate::tcp::{Duration, Instant, Segment};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// A link's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub delay: Duration,
    /// Bits per second; `None` = infinitely fast.
    pub rate_bps: Option<u64>,
    /// Packets waiting for serialisation beyond which new ones are dropped.
    pub queue_limit: Option<usize>,
    /// Probabilities per segment.
    pub loss: f64,
    pub duplicate: f64,
    pub reorder: f64,
    pub corrupt: f64,
    /// Extra delay of a reordered segment.
    pub reorder_delay: Duration,
}

impl Default for LinkConfig {
    fn default() -> LinkConfig {
        LinkConfig {
            delay: Duration::from_millis(10),
            rate_bps: None,
            queue_limit: None,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            corrupt: 0.0,
            reorder_delay: Duration::from_millis(5),
        }
    }
}

/// What the link does to one segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fate {
    pub drop: bool,
    pub duplicate: bool,
    pub corrupt: bool,
    pub extra_delay: Duration,
}

/// A segment on the wire.
#[derive(Clone, Debug)]
pub struct InFlight {
    pub at: Instant,
    pub order: u64,
    pub seg: Segment,
    pub corrupted: bool,
    /// The second copy of a duplicated segment.
    pub duplicate: bool,
}

impl PartialEq for InFlight {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.order) == (o.at, o.order)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for InFlight {
    /// Reversed: the heap pops the earliest arrival first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.at, o.order).cmp(&(self.at, self.order))
    }
}

/// Per-link counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub queue_drops: u64,
    pub duplicated: u64,
    pub corrupted: u64,
    pub reordered: u64,
}

#[derive(Debug)]
pub struct Link {
    pub cfg: LinkConfig,
    busy_until: Instant,
    queued: VecDeque<Instant>,
    wire: BinaryHeap<InFlight>,
    order: u64,
    pub stats: LinkStats,
}

/// Why a segment did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    Fault,
    QueueFull,
}

impl Link {
    pub fn new(cfg: LinkConfig) -> Link {
        Link {
            cfg,
            busy_until: Instant::ZERO,
            queued: VecDeque::new(),
            wire: BinaryHeap::new(),
            order: 0,
            stats: LinkStats::default(),
        }
    }

    /// Put a segment on the link at `now`; returns why it was lost, if it was.
    pub fn send(
        &mut self,
        now: Instant,
        seg: Segment,
        wire_len: usize,
        fate: Fate,
    ) -> Option<Loss> {
        self.stats.sent += 1;
        while self.queued.front().is_some_and(|&t| t <= now) {
            self.queued.pop_front();
        }
        if let Some(limit) = self.cfg.queue_limit {
            if self.queued.len() >= limit {
                self.stats.queue_drops += 1;
                return Some(Loss::QueueFull);
            }
        }
        // Serialisation: the segment leaves when the link is free.
        let depart = match self.cfg.rate_bps {
            Some(bps) if bps > 0 => {
                let start = self.busy_until.max(now);
                let ns = (wire_len as u128 * 8 * 1_000_000_000 / bps as u128) as u64;
                let end = start + Duration::from_nanos(ns);
                self.busy_until = end;
                if end > now {
                    self.queued.push_back(end);
                }
                end
            }
            _ => now,
        };
        if fate.drop {
            self.stats.dropped += 1;
            return Some(Loss::Fault);
        }
        let at = depart + self.cfg.delay + fate.extra_delay;
        if fate.extra_delay > Duration::ZERO {
            self.stats.reordered += 1;
        }
        if fate.corrupt {
            self.stats.corrupted += 1;
        }
        let copy = fate.duplicate.then(|| seg.clone());
        self.order += 1;
        self.wire.push(InFlight {
            at,
            order: self.order,
            seg,
            corrupted: fate.corrupt,
            duplicate: false,
        });
        if let Some(seg) = copy {
            self.stats.duplicated += 1;
            self.order += 1;
            self.wire.push(InFlight {
                at,
                order: self.order,
                seg,
                corrupted: false,
                duplicate: true,
            });
        }
        None
    }

    /// When the next segment arrives.
    pub fn next_arrival(&self) -> Option<Instant> {
        self.wire.peek().map(|f| f.at)
    }

    /// The next segment arriving at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<InFlight> {
        if self.wire.peek().is_some_and(|f| f.at <= now) {
            self.stats.delivered += 1;
            self.wire.pop()
        } else {
            None
        }
    }

    pub fn is_idle(&self) -> bool {
        self.wire.is_empty()
    }
}
