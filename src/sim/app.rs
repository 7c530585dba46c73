//! The application on top of each simulated endpoint: a script of timed
//! calls (listen, connect, write, shutdown, close, abort) and a reader that
//! takes data all at once, at a pace, or not at all.

use crate::tcp::{fill_pattern, pattern_byte, AppError, Duration, Endpoint, Instant, TcpState};

/// One application call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Listen,
    Connect,
    /// Write `bytes` in calls of at most `chunk` bytes, waiting for buffer
    /// space as a blocking write would.
    Write {
        bytes: u64,
        chunk: Option<u64>,
    },
    Shutdown,
    Close,
    Abort,
    /// Change how the application reads from now on.
    Read(ReadMode),
    /// Wait until the peer's FIN has been read (end of stream) or the
    /// connection is gone.
    WaitEof,
}

/// How the application reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadMode {
    /// Everything, as soon as it is readable.
    All,
    /// Nothing (the receive buffer fills and the window closes).
    Paused,
    /// Up to `bytes` every `every`.
    Paced { bytes: usize, every: Duration },
}

/// A call and the earliest time it happens (since the start of the run; never
/// before the previous call finished, e.g. a write waiting for buffer space).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub at: Duration,
    pub action: Action,
}

/// Whether the stream carries real bytes or generated content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DataMode {
    #[default]
    Bytes,
    Generated,
}

/// What the application saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppReport {
    pub written: u64,
    pub read: u64,
    /// Bytes read that differ from the generated pattern at their offset.
    pub corrupt_bytes: u64,
    /// The peer's FIN was reached after reading everything.
    pub eof: bool,
    /// Calls the endpoint refused, as text.
    pub errors: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct App {
    steps: Vec<Step>,
    next: usize,
    write_left: u64,
    chunk: u64,
    read: ReadMode,
    next_read: Option<Instant>,
    mode: DataMode,
    local_port: u16,
    remote_port: u16,
    scratch: Vec<u8>,
    /// The next call waits for the connection (not for a time).
    waiting: bool,
    pub report: AppReport,
}

impl App {
    pub fn new(steps: Vec<Step>, mode: DataMode, local_port: u16, remote_port: u16) -> App {
        App {
            steps,
            next: 0,
            write_left: 0,
            chunk: u64::MAX,
            read: ReadMode::All,
            next_read: None,
            mode,
            local_port,
            remote_port,
            scratch: Vec::new(),
            waiting: false,
            report: AppReport::default(),
        }
    }

    fn error(&mut self, what: &str, e: AppError) {
        if self.report.errors.len() < 16 {
            self.report.errors.push(format!("{what}: {e}"));
        }
    }

    /// Run every call due at `now`, then read what the reader allows.
    pub fn step(&mut self, now: Instant, ep: &mut Endpoint) {
        self.waiting = false;
        loop {
            if self.write_left > 0 && !self.write_some(ep) {
                break;
            }
            let Some(due) = self.steps.get(self.next).map(|s| Instant::ZERO + s.at) else {
                break;
            };
            if now < due {
                break;
            }
            // A listening application acts once a connection arrives (accept).
            let needs_connection = match self.steps[self.next].action {
                // Data may be queued while our own SYN is out, not before a
                // peer has connected to a listener.
                Action::Write { .. } => ep.state() != TcpState::SynSent,
                Action::Shutdown | Action::Close => true,
                _ => false,
            };
            let connecting = matches!(
                ep.state(),
                TcpState::Listen | TcpState::SynSent | TcpState::SynReceived
            );
            if needs_connection && connecting {
                self.waiting = true;
                break;
            }
            if self.steps[self.next].action == Action::WaitEof {
                self.do_reads(now, ep);
                if !(ep.is_eof() || ep.state() == TcpState::Closed) {
                    self.waiting = true;
                    break;
                }
            }
            let action = self.steps[self.next].action.clone();
            self.next += 1;
            match action {
                Action::Listen => {
                    if let Err(e) = ep.listen(self.local_port) {
                        self.error("listen", e);
                    }
                }
                Action::Connect => {
                    if let Err(e) = ep.connect(now, self.local_port, self.remote_port) {
                        self.error("connect", e);
                    }
                }
                Action::Write { bytes, chunk } => {
                    self.write_left = bytes;
                    self.chunk = chunk.unwrap_or(u64::MAX).max(1);
                }
                Action::Shutdown => {
                    if let Err(e) = ep.shutdown() {
                        self.error("shutdown", e);
                    }
                }
                Action::Close => {
                    if let Err(e) = ep.close() {
                        self.error("close", e);
                    }
                }
                Action::Abort => ep.abort(),
                Action::WaitEof => {}
                Action::Read(mode) => {
                    self.read = mode;
                    self.next_read = None;
                }
            }
        }
        self.do_reads(now, ep);
    }

    /// Write as much as fits; true when the write is complete.
    fn write_some(&mut self, ep: &mut Endpoint) -> bool {
        while self.write_left > 0 {
            let piece = self.write_left.min(self.chunk).min(1 << 30) as usize;
            let res = match self.mode {
                DataMode::Generated => ep.send_generated(piece),
                DataMode::Bytes => {
                    let piece = piece.min(ep.send_capacity());
                    self.scratch.resize(piece, 0);
                    fill_pattern(self.report.written, &mut self.scratch);
                    ep.send(&self.scratch)
                }
            };
            match res {
                Ok(n) => {
                    self.report.written += n as u64;
                    self.write_left -= n as u64;
                    if n < piece || n == 0 {
                        return false;
                    }
                }
                Err(e) => {
                    // The connection cannot take data any more: give up the write.
                    self.error("write", e);
                    self.write_left = 0;
                }
            }
        }
        true
    }

    fn do_reads(&mut self, now: Instant, ep: &mut Endpoint) {
        match self.read {
            ReadMode::All => self.read_up_to(ep, usize::MAX),
            ReadMode::Paused => {}
            ReadMode::Paced { bytes, every } => {
                // The pace starts once a connection exists and stops at its end.
                let connected = !matches!(
                    ep.state(),
                    TcpState::Closed | TcpState::Listen | TcpState::SynSent | TcpState::SynReceived
                );
                if self.next_read.is_none() && connected && !self.reading_done(ep) {
                    self.next_read = Some(now + every);
                }
                while let Some(t) = self.next_read {
                    if t > now {
                        break;
                    }
                    self.read_up_to(ep, bytes);
                    self.next_read = if self.reading_done(ep) {
                        None
                    } else {
                        Some(t + every.max(Duration::from_nanos(1)))
                    };
                }
            }
        }
        if ep.is_eof() {
            self.report.eof = true;
        }
    }

    fn reading_done(&self, ep: &Endpoint) -> bool {
        ep.recv_queued() == 0 && (ep.is_eof() || ep.state() == TcpState::Closed)
    }

    fn read_up_to(&mut self, ep: &mut Endpoint, max: usize) {
        let avail = ep.recv_queued().min(max);
        if avail == 0 {
            return;
        }
        match self.mode {
            DataMode::Generated => {
                let n = ep.recv_discard(avail);
                self.report.read += n as u64;
            }
            DataMode::Bytes => {
                self.scratch.resize(avail, 0);
                let n = ep.recv(&mut self.scratch);
                let base = self.report.read;
                let bad = self.scratch[..n]
                    .iter()
                    .enumerate()
                    .filter(|&(i, &b)| b != pattern_byte(base + i as u64))
                    .count();
                self.report.corrupt_bytes += bad as u64;
                self.report.read += n as u64;
            }
        }
    }

    /// When the application next wants to act on its own (a timed call or a
    /// paced read); writes blocked on buffer space wait for the endpoint.
    pub fn next_wakeup(&self) -> Option<Instant> {
        let step = if self.write_left > 0 || self.waiting {
            None
        } else {
            self.steps.get(self.next).map(|s| Instant::ZERO + s.at)
        };
        match (step, self.next_read) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// All calls made and all writes handed to TCP.
    pub fn finished(&self) -> bool {
        self.next >= self.steps.len() && self.write_left == 0
    }
}
