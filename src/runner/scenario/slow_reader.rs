//! A slow reader: the server's socket has a small SO_RCVBUF and the server
//! sleeps before reading, so the client fills the receive window and the
//! server's kernel advertises a zero window (RFC 9293 §3.8.6.1); the client
//! probes it, and the window opens again as the reader drains the data.

use super::{
    join, pattern, read_to_end, AppConnection, Ctx, Scenario, ScenarioConfig, ScenarioError,
    ScenarioOutcome,
};
use std::io::{Read, Write};
use std::net::Shutdown;
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
    loop {
        let n = server.read(&mut buf).map_err(ctx.err("server read"))?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        std::thread::sleep(Duration::from_micros(200));
    }
    step("all data read");
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
