//! Half-close (RFC 9293 §3.6): the client sends its request and shuts down
//! its write side (FIN), then keeps reading; the server reads to EOF (it is
//! in CLOSE-WAIT and may still send), writes its reply and closes.

use super::{
    join, read_to_end, AppConnection, Ctx, Scenario, ScenarioConfig, ScenarioError, ScenarioOutcome,
};
use std::io::{Read, Write};
use std::net::Shutdown;
use std::sync::mpsc;

pub(super) fn run(
    cfg: &ScenarioConfig,
    step: &mut dyn FnMut(&str),
) -> Result<ScenarioOutcome, ScenarioError> {
    let ctx = Ctx::new(Scenario::HalfClose, cfg);
    let listener = ctx.listen()?;
    let (may_reply_tx, may_reply_rx) = mpsc::channel::<()>();
    let server_ctx = Ctx {
        scenario: ctx.scenario,
        server: ctx.server,
    };
    let server = std::thread::spawn(move || -> Result<(Vec<u8>, Vec<u8>), ScenarioError> {
        let ctx = server_ctx;
        let mut stream = ctx.accept(&listener)?;
        let mut request = Vec::new();
        stream
            .read_to_end(&mut request)
            .map_err(ctx.err("server read the request to EOF"))?;
        let _ = may_reply_rx.recv_timeout(super::IO_TIMEOUT);
        // The reply: the request upper-cased, then a summary line.
        let mut reply = request.to_ascii_uppercase();
        reply.extend_from_slice(format!("{} bytes received\n", request.len()).as_bytes());
        stream
            .write_all(&reply)
            .map_err(ctx.err("server write the reply"))?;
        stream
            .shutdown(Shutdown::Both)
            .or_else(super::ignore_not_connected)
            .map_err(ctx.err("server close"))?;
        Ok((request, reply))
    });

    let mut client = ctx.connect()?;
    let client_addr = client.local_addr().map_err(ctx.err("client address"))?;
    step("connected");
    let mut request = Vec::new();
    for i in 1..=cfg.lines.max(1) {
        request.extend_from_slice(format!("request line {i}\n").as_bytes());
    }
    client
        .write_all(&request)
        .map_err(ctx.err("client write the request"))?;
    client
        .shutdown(Shutdown::Write)
        .map_err(ctx.err("client shutdown(SHUT_WR)"))?;
    step("client shut down its write side");
    let _ = may_reply_tx.send(());
    let reply = read_to_end(&mut client).map_err(ctx.err("client read the reply"))?;
    let (server_received, server_sent) = join(&ctx, "server", server)?;
    step("reply read, server closed");
    drop(client);
    step("client closed");
    Ok(ScenarioOutcome {
        connections: vec![AppConnection {
            client: Some(client_addr),
            server: ctx.server,
            client_sent: request,
            client_received: reply,
            server_received: Some(server_received),
            server_sent: Some(server_sent),
            refused: false,
        }],
        expected_failures: Vec::new(),
    })
}
