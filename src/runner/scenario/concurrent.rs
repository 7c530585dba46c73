//! Many clients at once. Each client writes its own pattern, shuts down its
//! write side and reads the echo to EOF; the server serves each connection
//! in a thread of its own, or in a process of its own: the accepted socket
//! becomes the standard input of a new `tcpsim run --serve-stdin` process,
//! the way inetd hands connections to per-connection servers.

use super::{
    app_error, echo_until_eof, join, pattern, read_to_end, AppConnection, Ctx, Scenario,
    ScenarioConfig, ScenarioError, ScenarioOutcome,
};
use std::io::Write;
use std::net::{Shutdown, SocketAddr};
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::sync::{mpsc, Arc, Condvar, Mutex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Server {
    ThreadPerConnection,
    ProcessPerConnection,
}

/// Bytes each client sends.
const PER_CLIENT: usize = 2000;

type Served = Vec<(Option<SocketAddr>, Option<Vec<u8>>)>;

pub(super) fn run(
    cfg: &ScenarioConfig,
    step: &mut dyn FnMut(&str),
    kind: Server,
) -> Result<ScenarioOutcome, ScenarioError> {
    let scenario = match kind {
        Server::ThreadPerConnection => Scenario::Concurrent,
        Server::ProcessPerConnection => Scenario::ConcurrentFork,
    };
    let ctx = Ctx::new(scenario, cfg);
    let listener = ctx.listen()?;
    let n = cfg.clients;
    let worker = match kind {
        Server::ProcessPerConnection => Some(match &cfg.worker_exe {
            Some(p) => p.clone(),
            None => std::env::current_exe().map_err(ctx.err("find the tcpsim executable"))?,
        }),
        Server::ThreadPerConnection => None,
    };
    let server_ctx = Ctx {
        scenario: ctx.scenario,
        server: ctx.server,
    };
    let server = std::thread::spawn(move || -> Result<Served, ScenarioError> {
        let ctx = server_ctx;
        let mut threads = Vec::new();
        let mut children = Vec::new();
        for _ in 0..n {
            let mut stream = ctx.accept(&listener)?;
            let peer = stream.peer_addr().ok();
            match &worker {
                None => {
                    let c = Ctx {
                        scenario: ctx.scenario,
                        server: ctx.server,
                    };
                    threads.push(std::thread::spawn(
                        move || -> Result<(Option<SocketAddr>, Option<Vec<u8>>), ScenarioError> {
                            let seen =
                                echo_until_eof(&mut stream).map_err(c.err("server thread echo"))?;
                            Ok((peer, Some(seen)))
                        },
                    ));
                }
                Some(exe) => {
                    let child = Command::new(exe)
                        .args(["run", "--serve-stdin"])
                        .stdin(Stdio::from(OwnedFd::from(stream)))
                        .stdout(Stdio::null())
                        .spawn()
                        .map_err(ctx.err(format!("start a server process ({})", exe.display())))?;
                    children.push((peer, child));
                }
            }
        }
        let mut served = Vec::new();
        for t in threads {
            served.push(join(&ctx, "server thread", t)?);
        }
        for (peer, mut child) in children {
            let status = wait_bounded(&mut child).map_err(ctx.err("wait for a server process"))?;
            if !status.is_some_and(|s| s.success()) {
                return Err(app_error(
                    ctx.scenario,
                    "server process",
                    format!("for {peer:?} ended with {status:?}"),
                ));
            }
            served.push((peer, None));
        }
        Ok(served)
    });

    // Every client connects, reports, and waits at the gate, so that the
    // kernel's table is sampled with all connections established.
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let (connected_tx, connected_rx) = mpsc::channel::<()>();
    let mut clients = Vec::new();
    for i in 0..n {
        let c = Ctx {
            scenario: ctx.scenario,
            server: ctx.server,
        };
        let (gate, connected) = (gate.clone(), connected_tx.clone());
        clients.push(std::thread::spawn(
            move || -> Result<AppConnection, ScenarioError> {
                let mut s = c.connect()?;
                let addr = s.local_addr().map_err(c.err("client address"))?;
                let _ = connected.send(());
                wait_open(&gate);
                let data = pattern(i as u32 + 100, PER_CLIENT);
                s.write_all(&data)
                    .map_err(c.err(format!("client {i} write")))?;
                s.shutdown(Shutdown::Write)
                    .map_err(c.err(format!("client {i} shutdown(SHUT_WR)")))?;
                let back =
                    read_to_end(&mut s).map_err(c.err(format!("client {i} read the echo")))?;
                Ok(AppConnection {
                    client: Some(addr),
                    server: c.server,
                    client_sent: data,
                    client_received: back,
                    ..AppConnection::default()
                })
            },
        ));
    }
    drop(connected_tx);
    let mut connected = 0;
    while connected < n && connected_rx.recv_timeout(super::IO_TIMEOUT).is_ok() {
        connected += 1;
    }
    if connected == n {
        step("all clients connected");
    }
    if let Ok(mut open) = gate.0.lock() {
        *open = true;
        gate.1.notify_all();
    }
    let mut connections = Vec::new();
    for c in clients {
        connections.push(join(&ctx, "client", c)?);
    }
    let served = join(&ctx, "server", server)?;
    for (peer, seen) in served {
        if let Some(conn) = connections.iter_mut().find(|c| c.client == peer) {
            conn.server_sent = seen.clone();
            conn.server_received = seen;
        }
    }
    step("all clients done");
    Ok(ScenarioOutcome {
        connections,
        expected_failures: Vec::new(),
    })
}

/// Wait until the gate opens, at most the scenario I/O timeout.
fn wait_open(gate: &(Mutex<bool>, Condvar)) {
    let Ok(mut open) = gate.0.lock() else { return };
    let deadline = std::time::Instant::now() + super::IO_TIMEOUT;
    while !*open {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return;
        }
        match gate.1.wait_timeout(open, left) {
            Ok((guard, _)) => open = guard,
            Err(_) => return,
        }
    }
}

/// Wait for a child process for at most the scenario I/O timeout; kill it after.
fn wait_bounded(
    child: &mut std::process::Child,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    let start = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait()? {
            return Ok(Some(s));
        }
        if start.elapsed() > super::IO_TIMEOUT {
            child.kill()?;
            return child.try_wait();
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

/// The body of `tcpsim run --serve-stdin`: standard input is a connected TCP
/// socket; echo it until EOF.
pub fn serve_stdin() -> std::io::Result<usize> {
    use std::os::fd::AsFd;
    let fd = std::io::stdin().as_fd().try_clone_to_owned()?;
    let mut stream = std::net::TcpStream::from(fd);
    super::timeouts(&stream)?;
    Ok(echo_until_eof(&mut stream)?.len())
}
