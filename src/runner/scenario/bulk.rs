//! Bulk transfer: the client sends N bytes and shuts down its write side;
//! the server reads them all, then closes.

use super::{
    join, pattern, read_to_end, AppConnection, Ctx, Scenario, ScenarioConfig, ScenarioError,
    ScenarioOutcome,
};
use std::io::{Read, Write};
use std::net::Shutdown;

pub(super) fn run(
    cfg: &ScenarioConfig,
    step: &mut dyn FnMut(&str),
) -> Result<ScenarioOutcome, ScenarioError> {
    let ctx = Ctx::new(Scenario::Bulk, cfg);
    let listener = ctx.listen()?;
    let server_ctx = Ctx {
        scenario: ctx.scenario,
        server: ctx.server,
    };
    let server = std::thread::spawn(move || -> Result<Vec<u8>, ScenarioError> {
        let ctx = server_ctx;
        let mut stream = ctx.accept(&listener)?;
        let mut got = Vec::new();
        stream
            .read_to_end(&mut got)
            .map_err(ctx.err("server read to EOF"))?;
        stream
            .shutdown(Shutdown::Both)
            .or_else(super::ignore_not_connected)
            .map_err(ctx.err("server close"))?;
        Ok(got)
    });
    let mut client = ctx.connect()?;
    let client_addr = client.local_addr().map_err(ctx.err("client address"))?;
    step("connected");
    let data = pattern(1, cfg.bytes);
    client.write_all(&data).map_err(ctx.err("client write"))?;
    client
        .shutdown(Shutdown::Write)
        .map_err(ctx.err("client shutdown(SHUT_WR)"))?;
    let reply = read_to_end(&mut client).map_err(ctx.err("client read to EOF"))?;
    let got = join(&ctx, "server", server)?;
    step("transfer done, server closed");
    drop(client);
    step("client closed");
    Ok(ScenarioOutcome {
        connections: vec![AppConnection {
            client: Some(client_addr),
            server: ctx.server,
            client_sent: data,
            client_received: reply,
            server_received: Some(got),
            server_sent: Some(Vec::new()),
            refused: false,
        }],
        expected_failures: Vec::new(),
    })
}
