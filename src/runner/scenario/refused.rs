//! Connect to a port nobody listens on: the kernel answers the SYN with
//! RST/ACK (RFC 9293 §3.10.7.1) and connect fails with ECONNREFUSED, which is
//! this scenario's expected outcome.

use super::{
    AppConnection, Ctx, ExpectedFailure, Scenario, ScenarioConfig, ScenarioError, ScenarioOutcome,
    CONNECT_TIMEOUT,
};
use socket2::{Domain, Socket, Type};
use std::net::SocketAddr;

pub(super) fn run(
    cfg: &ScenarioConfig,
    step: &mut dyn FnMut(&str),
) -> Result<ScenarioOutcome, ScenarioError> {
    let ctx = Ctx::new(Scenario::Refused, cfg);
    let action = format!("connect to {} (nobody listens)", ctx.server);
    // Bind first so the client's port is known even though connect fails.
    let sock = Socket::new(Domain::for_address(ctx.server), Type::STREAM, None)
        .map_err(ctx.err("client socket"))?;
    sock.bind(&SocketAddr::new(ctx.server.ip(), 0).into())
        .map_err(ctx.err("client bind"))?;
    let client = sock.local_addr().ok().and_then(|a| a.as_socket());
    let result = sock.connect_timeout(&ctx.server.into(), CONNECT_TIMEOUT);
    step("connect returned");
    let (expected, outcome) = match &result {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            (true, format!("refused as expected: {e}"))
        }
        Err(e) => (false, format!("failed, but not with ECONNREFUSED: {e}")),
        Ok(()) => (
            false,
            "unexpectedly connected: something listens on this port".to_string(),
        ),
    };
    drop(sock);
    step("client closed");
    Ok(ScenarioOutcome {
        connections: vec![AppConnection {
            client,
            server: ctx.server,
            refused: expected,
            ..AppConnection::default()
        }],
        expected_failures: vec![ExpectedFailure {
            action,
            expected,
            outcome,
        }],
    })
}
