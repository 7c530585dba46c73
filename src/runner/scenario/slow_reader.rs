//! A slow reader: the server's socket has a small SO_RCVBUF and the server
//! sleeps before reading, so the client fills the receive window and the
//! server's kernel advertises a zero window (RFC 9293 §3.8.6.1); the client
//! probes it, and the window opens again as the reader drains the data.
//!
//! The client closes only once the reader has read everything. Closing
//! earlier would put its kernel socket in FIN-WAIT-1 at once while the FIN
//! still waits behind unsent data (RFC 9293 §3.10.4, CLOSE: "queue this
//! until all preceding SENDs have been segmentized ... In any case, enter
//! FIN-WAIT-1 state"), a state no capture can show until the FIN is sent.

use super::{
    app_error, join, pattern, read_to_end, AppConnection, Ctx, Scenario, ScenarioConfig,
    ScenarioError, ScenarioOutcome, IO_TIMEOUT,
};
use std::io::{Read, Write};
use std::net::Shutdown;
use std::sync::mpsc;
use std::time::Duration;

/// SO_RCVBUF of the server's socket (Linux doubles it for bookkeeping).
const SMALL_RCVBUF: usize = 4096;
/// How long the reader sleeps before its first read: long enough for the
/// window to close and for at least one zero-window probe (RTO min 200 ms).
const STALL: Duration = Duration::from_millis(600);

pub(super) fn run(
    cfg: &ScenarioConfig,
    step: &mut dyn FnMut(&str),
) -> Result<ScenarioOutcome, ScenarioError> {
    let ctx = Ctx::new(Scenario::SlowReader, cfg);
    let listener = ctx
        .listen_with(true, Some(SMALL_RCVBUF))
        .map_err(ctx.err(format!("listen on {} with a small SO_RCVBUF", ctx.server)))?;
    let bytes = cfg.bytes;
    let (all_read_tx, all_read_rx) = mpsc::channel::<()>();
    let client_ctx = Ctx {
        scenario: ctx.scenario,
        server: ctx.server,
    };
    let client = std::thread::spawn(move || -> Result<AppConnection, ScenarioError> {
        let c = client_ctx;
        let mut s = c.connect()?;
        let addr = s.local_addr().map_err(c.err("client address"))?;
        let data = pattern(7, bytes);
        s.write_all(&data).map_err(c.err("client write"))?;
        all_read_rx
            .recv_timeout(IO_TIMEOUT)
            .map_err(|_| app_error(c.scenario, "client wait", "the reader never finished"))?;
        s.shutdown(Shutdown::Write)
            .map_err(c.err("client shutdown(SHUT_WR)"))?;
        let back = read_to_end(&mut s).map_err(c.err("client read to EOF"))?;
        Ok(AppConnection {
            client: Some(addr),
            server: c.server,
            client_sent: data,
            client_received: back,
            ..AppConnection::default()
        })
    });
    let mut server = ctx.accept(&listener)?;
    step("accepted; the reader sleeps");
    std::thread::sleep(STALL);
    step("the reader wakes up");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while got.len() < bytes {
        let n = server.read(&mut buf).map_err(ctx.err("server read"))?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        std::thread::sleep(Duration::from_micros(200));
    }
    step("all data read");
    let _ = all_read_tx.send(());
    let rest = read_to_end(&mut server).map_err(ctx.err("server read to EOF"))?;
    got.extend_from_slice(&rest);
    step("client closed its write side");
    server
        .shutdown(Shutdown::Both)
        .or_else(super::ignore_not_connected)
        .map_err(ctx.err("server close"))?;
    let mut conn = join(&ctx, "client", client)?;
    drop(server);
    step("closed");
    conn.server_received = Some(got);
    conn.server_sent = Some(Vec::new());
    Ok(ScenarioOutcome {
        connections: vec![conn],
        expected_failures: Vec::new(),
    })
}
