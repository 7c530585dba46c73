//! The scenarios: real kernel TCP sockets on loopback, each bounded in time
//! (a timeout on every blocking call). A scenario calls `step` at each
//! application step so the runner can sample the kernel's socket table there.

pub use concurrent::serve_stdin;

mod bulk;
mod concurrent;
mod echo;
mod half_close;
mod refused;
mod slow_reader;
mod time_wait;

use socket2::{Domain, Socket, Type};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::Duration;

/// Every blocking socket call gives up after this long.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// `connect` gives up after this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The scenarios `tcpsim run` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// The client writes numbered lines, the server echoes each back.
    Echo,
    /// The client sends N bytes (--bytes), the server counts and checks them.
    Bulk,
    /// The client shuts down its write side and keeps reading the reply.
    HalfClose,
    /// Many clients (--clients) at once, a server thread per connection.
    Concurrent,
    /// Many clients at once, a server process per connection.
    ConcurrentFork,
    /// The server restarts on its port while its old connection sits in
    /// TIME-WAIT: first without SO_REUSEADDR (bind fails, as expected), then with.
    TimeWaitRestart,
    /// A receiver with a small SO_RCVBUF that sleeps: zero windows.
    SlowReader,
    /// Connect to a closed port: the kernel answers with RST.
    Refused,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Echo => "echo",
            Scenario::Bulk => "bulk",
            Scenario::HalfClose => "half-close",
            Scenario::Concurrent => "concurrent",
            Scenario::ConcurrentFork => "concurrent-fork",
            Scenario::TimeWaitRestart => "time-wait-restart",
            Scenario::SlowReader => "slow-reader",
            Scenario::Refused => "refused",
        }
    }
}

/// IPv4 (127.0.0.1) or IPv6 (::1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn loopback(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Family::V6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        }
    }
}

/// How to run a scenario.
#[derive(Clone, Debug)]
pub struct ScenarioConfig {
    pub family: Family,
    /// The server's port (never 0 here: the runner picks one first).
    pub port: u16,
    /// echo: how many lines.
    pub lines: usize,
    /// bulk and slow-reader: how many bytes the client sends.
    pub bytes: usize,
    /// concurrent: how many clients.
    pub clients: usize,
    /// concurrent-fork: the tcpsim executable that serves one connection
    /// (`tcpsim run --serve-stdin`); default: the current executable.
    pub worker_exe: Option<PathBuf>,
}

/// The bytes one connection carried, as the applications saw them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AppConnection {
    pub client: Option<SocketAddr>,
    pub server: SocketAddr,
    /// Bytes the client wrote, in order.
    #[serde(skip)]
    pub client_sent: Vec<u8>,
    /// Bytes the client read, in order.
    #[serde(skip)]
    pub client_received: Vec<u8>,
    /// Bytes the server read and wrote (`None` when the server ran in
    /// another process).
    #[serde(skip)]
    pub server_received: Option<Vec<u8>>,
    #[serde(skip)]
    pub server_sent: Option<Vec<u8>>,
    /// The client's connect was refused (expected in `refused`).
    pub refused: bool,
}

impl Default for AppConnection {
    fn default() -> AppConnection {
        AppConnection {
            client: None,
            server: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
            client_sent: Vec::new(),
            client_received: Vec::new(),
            server_received: None,
            server_sent: None,
            refused: false,
        }
    }
}

/// An outcome the scenario expects to fail and reports as such.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExpectedFailure {
    pub action: String,
    pub expected: bool,
    pub outcome: String,
}

/// What a scenario did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ScenarioOutcome {
    pub connections: Vec<AppConnection>,
    pub expected_failures: Vec<ExpectedFailure>,
}

/// A socket call that failed where the scenario did not expect it.
#[derive(Debug, thiserror::Error)]
#[error("{scenario}: {action}: {source}")]
pub struct ScenarioError {
    pub scenario: &'static str,
    pub action: String,
    #[source]
    pub source: std::io::Error,
}

/// Something a scenario's application saw that is wrong (e.g. an echo that
/// differs from what was sent).
pub fn app_error(
    scenario: &'static str,
    action: impl Into<String>,
    what: impl Into<String>,
) -> ScenarioError {
    ScenarioError {
        scenario,
        action: action.into(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, what.into()),
    }
}

/// Run `scenario`; `step(label)` is called at each application step.
pub fn run(
    scenario: Scenario,
    cfg: &ScenarioConfig,
    step: &mut dyn FnMut(&str),
) -> Result<ScenarioOutcome, ScenarioError> {
    match scenario {
        Scenario::Echo => echo::run(cfg, step),
        Scenario::Bulk => bulk::run(cfg, step),
        Scenario::HalfClose => half_close::run(cfg, step),
        Scenario::Concurrent => concurrent::run(cfg, step, concurrent::Server::ThreadPerConnection),
        Scenario::ConcurrentFork => {
            concurrent::run(cfg, step, concurrent::Server::ProcessPerConnection)
        }
        Scenario::TimeWaitRestart => time_wait::run(cfg, step),
        Scenario::SlowReader => slow_reader::run(cfg, step),
        Scenario::Refused => refused::run(cfg, step),
    }
}

/// Helpers shared by the scenarios.
pub(crate) struct Ctx {
    pub scenario: &'static str,
    pub server: SocketAddr,
}

impl Ctx {
    pub fn new(scenario: Scenario, cfg: &ScenarioConfig) -> Ctx {
        Ctx {
            scenario: scenario.name(),
            server: SocketAddr::new(cfg.family.loopback(), cfg.port),
        }
    }

    pub fn err(&self, action: impl Into<String>) -> impl FnOnce(std::io::Error) -> ScenarioError {
        let scenario = self.scenario;
        let action = action.into();
        move |source| ScenarioError {
            scenario,
            action,
            source,
        }
    }

    /// A listening socket on the server address; `reuse` sets SO_REUSEADDR,
    /// `rcvbuf` sets SO_RCVBUF before listen (accepted sockets inherit it).
    pub fn listen_with(&self, reuse: bool, rcvbuf: Option<usize>) -> std::io::Result<TcpListener> {
        let sock = Socket::new(Domain::for_address(self.server), Type::STREAM, None)?;
        if self.server.is_ipv6() {
            sock.set_only_v6(true)?;
        }
        sock.set_reuse_address(reuse)?;
        if let Some(size) = rcvbuf {
            sock.set_recv_buffer_size(size)?;
        }
        // Linux honours SO_RCVTIMEO in accept(): no accept waits forever.
        sock.set_read_timeout(Some(IO_TIMEOUT))?;
        sock.bind(&self.server.into())?;
        sock.listen(128)?;
        Ok(sock.into())
    }

    pub fn listen(&self) -> Result<TcpListener, ScenarioError> {
        self.listen_with(true, None)
            .map_err(self.err(format!("listen on {}", self.server)))
    }

    pub fn accept(&self, l: &TcpListener) -> Result<TcpStream, ScenarioError> {
        let (s, _) = l.accept().map_err(self.err("accept"))?;
        timeouts(&s).map_err(self.err("set timeouts"))?;
        Ok(s)
    }

    pub fn connect(&self) -> Result<TcpStream, ScenarioError> {
        let s = TcpStream::connect_timeout(&self.server, CONNECT_TIMEOUT)
            .map_err(self.err(format!("connect to {}", self.server)))?;
        timeouts(&s).map_err(self.err("set timeouts"))?;
        s.set_nodelay(true).map_err(self.err("set TCP_NODELAY"))?;
        Ok(s)
    }
}

pub(crate) fn timeouts(s: &TcpStream) -> std::io::Result<()> {
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))
}

/// Read until EOF; every read is bounded by the stream's read timeout.
pub(crate) fn read_to_end(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(out)
}

/// Echo everything read back to the peer until EOF, then close the stream.
/// Returns the bytes echoed.
pub(crate) fn echo_until_eof(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        s.write_all(&buf[..n])?;
        seen.extend_from_slice(&buf[..n]);
    }
    s.shutdown(Shutdown::Both).or_else(ignore_not_connected)?;
    Ok(seen)
}

pub(crate) fn ignore_not_connected(e: std::io::Error) -> std::io::Result<()> {
    if e.kind() == std::io::ErrorKind::NotConnected {
        Ok(())
    } else {
        Err(e)
    }
}

/// A deterministic byte pattern that differs per `seed` and position.
pub fn pattern(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            // xorshift32
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// The server side of a connection, run in a thread, joined with a bound.
pub(crate) fn join<T>(
    ctx: &Ctx,
    what: &str,
    h: std::thread::JoinHandle<Result<T, ScenarioError>>,
) -> Result<T, ScenarioError> {
    h.join()
        .map_err(|_| app_error(ctx.scenario, what.to_string(), "thread panicked"))?
}
