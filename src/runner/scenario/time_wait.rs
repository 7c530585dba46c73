//! A server restarted on its port while its old connection sits in
//! TIME-WAIT. The old server closes first (active close, RFC 9293 §3.6), so
//! its side of the connection holds the port in TIME-WAIT for 2*MSL. Binding
//! a new listener there without SO_REUSEADDR fails with EADDRINUSE: that is
//! the expected outcome, reported as such. With SO_REUSEADDR (on both the
//! old and the new listener: Linux requires it of both) the bind succeeds and
//! the new server serves a new connection.

use super::{
    app_error, AppConnection, Ctx, ExpectedFailure, Scenario, ScenarioConfig, ScenarioError,
    ScenarioOutcome,
};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener};

pub(super) fn run(
    cfg: &ScenarioConfig,
    step: &mut dyn FnMut(&str),
) -> Result<ScenarioOutcome, ScenarioError> {
    let ctx = Ctx::new(Scenario::TimeWaitRestart, cfg);
    let mut connections = Vec::new();
    let mut expected_failures = Vec::new();

    // The old server: it closes first.
    let old = ctx
        .listen_with(true, None)
        .map_err(ctx.err(format!("listen on {} with SO_REUSEADDR", ctx.server)))?;
    connections.push(one_exchange(&ctx, &old, "old", true, step)?);
    drop(old);
    step("old server stopped");

    // Restart without SO_REUSEADDR: expected to fail while TIME-WAIT holds the port.
    let action = format!("restart: bind {} without SO_REUSEADDR", ctx.server);
    let attempt = ctx.listen_with(false, None);
    let (expected, outcome) = match &attempt {
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => (
            true,
            format!("failed as expected ({e}): the old connection's TIME-WAIT holds the port"),
        ),
        Err(e) => (false, format!("failed, but not with EADDRINUSE: {e}")),
        Ok(_) => (
            false,
            "unexpectedly succeeded: no TIME-WAIT socket held the port".to_string(),
        ),
    };
    expected_failures.push(ExpectedFailure {
        action,
        expected,
        outcome,
    });
    drop(attempt);
    step("restart without SO_REUSEADDR tried");

    // Restart with SO_REUSEADDR: succeeds and serves a new client.
    let new = ctx
        .listen_with(true, None)
        .map_err(ctx.err(format!("restart: bind {} with SO_REUSEADDR", ctx.server)))?;
    step("restarted with SO_REUSEADDR");
    connections.push(one_exchange(&ctx, &new, "new", false, step)?);
    Ok(ScenarioOutcome {
        connections,
        expected_failures,
    })
}

/// One request/response line; `server_closes_first` picks the active closer.
fn one_exchange(
    ctx: &Ctx,
    l: &TcpListener,
    label: &str,
    server_closes_first: bool,
    step: &mut dyn FnMut(&str),
) -> Result<AppConnection, ScenarioError> {
    let mut client = ctx.connect()?;
    let client_addr = client.local_addr().map_err(ctx.err("client address"))?;
    let mut server = ctx.accept(l)?;
    step(&format!("{label} connection established"));
    let request = format!("hello from the {label} client\n").into_bytes();
    client
        .write_all(&request)
        .map_err(ctx.err("client write"))?;
    let mut got = Vec::new();
    BufReader::new(&mut server)
        .read_until(b'\n', &mut got)
        .map_err(ctx.err("server read"))?;
    let reply = format!("hello from the {label} server\n").into_bytes();
    server.write_all(&reply).map_err(ctx.err("server write"))?;
    let mut back = Vec::new();
    BufReader::new(&mut client)
        .read_until(b'\n', &mut back)
        .map_err(ctx.err("client read"))?;
    if back != reply || got != request {
        return Err(app_error(
            ctx.scenario,
            format!("{label} exchange"),
            "bytes differ",
        ));
    }
    let (first, second) = if server_closes_first {
        (&mut server, &mut client)
    } else {
        (&mut client, &mut server)
    };
    first
        .shutdown(Shutdown::Both)
        .map_err(ctx.err("first close"))?;
    let mut rest = Vec::new();
    second
        .read_to_end(&mut rest)
        .map_err(ctx.err("read EOF after the first close"))?;
    step(&format!(
        "{label} connection: {} closed first",
        if server_closes_first {
            "server"
        } else {
            "client"
        }
    ));
    second
        .shutdown(Shutdown::Both)
        .or_else(super::ignore_not_connected)
        .map_err(ctx.err("second close"))?;
    drop(server);
    drop(client);
    step(&format!("{label} connection closed"));
    Ok(AppConnection {
        client: Some(client_addr),
        server: ctx.server,
        client_sent: request.clone(),
        client_received: back,
        server_received: Some(got),
        server_sent: Some(reply),
        refused: false,
    })
}
