//! The classic socket-tutorial echo: the client writes numbered lines, the
//! server writes each line back, the client checks it. The client closes
//! first (it ends in TIME-WAIT); the server closes when told, so that the
//! half-closed moment (client FIN-WAIT-2, server CLOSE-WAIT) is sampled.

use super::{
    app_error, join, AppConnection, Ctx, Scenario, ScenarioConfig, ScenarioError, ScenarioOutcome,
};
use std::io::{BufRead, BufReader, Write};
use std::net::Shutdown;
use std::sync::mpsc;

pub(super) fn run(
    cfg: &ScenarioConfig,
    step: &mut dyn FnMut(&str),
) -> Result<ScenarioOutcome, ScenarioError> {
    let ctx = Ctx::new(Scenario::Echo, cfg);
    let listener = ctx.listen()?;
    let (may_close_tx, may_close_rx) = mpsc::channel::<()>();
    let server_ctx = Ctx {
        scenario: ctx.scenario,
        server: ctx.server,
    };
    let server = std::thread::spawn(move || -> Result<(Vec<u8>, Vec<u8>), ScenarioError> {
        let ctx = server_ctx;
        let stream = ctx.accept(&listener)?;
        let mut reader = BufReader::new(stream.try_clone().map_err(ctx.err("clone the stream"))?);
        let mut writer = stream;
        let mut received = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(ctx.err("server read a line"))?;
            if n == 0 {
                break; // the client closed its side: CLOSE-WAIT
            }
            writer
                .write_all(&line)
                .map_err(ctx.err("server echo a line"))?;
            received.extend_from_slice(&line);
        }
        // Bounded: the main thread either says close or is gone.
        let _ = may_close_rx.recv_timeout(super::IO_TIMEOUT);
        writer
            .shutdown(Shutdown::Both)
            .or_else(super::ignore_not_connected)
            .map_err(ctx.err("server close"))?;
        Ok((received.clone(), received))
    });

    let mut client = ctx.connect()?;
    let client_addr = client.local_addr().map_err(ctx.err("client address"))?;
    step("connected");
    let mut reader = BufReader::new(client.try_clone().map_err(ctx.err("clone the stream"))?);
    let mut sent = Vec::new();
    let mut received = Vec::new();
    for i in 1..=cfg.lines {
        let line = format!("line {i}: the quick brown fox jumps over the lazy dog\n");
        client
            .write_all(line.as_bytes())
            .map_err(ctx.err(format!("client write line {i}")))?;
        sent.extend_from_slice(line.as_bytes());
        let mut back = Vec::new();
        reader
            .read_until(b'\n', &mut back)
            .map_err(ctx.err(format!("client read echo {i}")))?;
        if back != line.as_bytes() {
            return Err(app_error(
                ctx.scenario,
                format!("echo of line {i}"),
                format!("got {:?}", String::from_utf8_lossy(&back)),
            ));
        }
        received.extend_from_slice(&back);
        step(&format!("line {i} echoed"));
    }
    client
        .shutdown(Shutdown::Both)
        .map_err(ctx.err("client close"))?;
    drop(reader);
    drop(client);
    step("client closed");
    let _ = may_close_tx.send(());
    let (server_received, server_sent) = join(&ctx, "server", server)?;
    step("server closed");
    Ok(ScenarioOutcome {
        connections: vec![AppConnection {
            client: Some(client_addr),
            server: ctx.server,
            client_sent: sent,
            client_received: received,
            server_received: Some(server_received),
            server_sent: Some(server_sent),
            refused: false,
        }],
        expected_failures: Vec::new(),
    })
}
