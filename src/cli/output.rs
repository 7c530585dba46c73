//! Standard output written by a thread of its own: the commands that print
//! hundreds of megabytes (`decode --jsonl`, `timeline --jsonl`) format on
//! one core while the other copies the bytes into the kernel.
//!
//! [`BackgroundWriter`] collects output in chunks and hands each full chunk
//! to the writing thread; chunks come back for reuse, so memory stays at a
//! few chunks whatever the output's size. A write error ends the writing
//! thread, and the next write or [`BackgroundWriter::finish`] returns it:
//! output is never lost silently.

use std::io::{self, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender};
use std::thread::{self, JoinHandle};

/// Bytes collected before a chunk is handed over.
pub const CHUNK: usize = 1 << 20;
/// Chunks queued for the writing thread at most.
const QUEUED: usize = 2;

pub struct BackgroundWriter {
    buf: Vec<u8>,
    to_writer: Option<SyncSender<Vec<u8>>>,
    recycled: Receiver<Vec<u8>>,
    /// Chunks handed over and not yet back.
    in_flight: usize,
    spare: Vec<Vec<u8>>,
    writer: Option<JoinHandle<io::Result<()>>>,
}

impl BackgroundWriter {
    /// Starts the writing thread, which owns `inner`.
    pub fn new<W: Write + Send + 'static>(mut inner: W) -> BackgroundWriter {
        let (to_writer, chunks) = sync_channel::<Vec<u8>>(QUEUED);
        let (give_back, recycled) = channel::<Vec<u8>>();
        let writer = thread::spawn(move || {
            for mut chunk in chunks {
                inner.write_all(&chunk)?;
                inner.flush()?;
                chunk.clear();
                let _ = give_back.send(chunk);
            }
            Ok(())
        });
        BackgroundWriter {
            buf: Vec::with_capacity(CHUNK),
            to_writer: Some(to_writer),
            recycled,
            in_flight: 0,
            spare: Vec::new(),
            writer: Some(writer),
        }
    }

    /// Hands the collected bytes to the writing thread.
    fn hand_over(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        while let Ok(chunk) = self.recycled.try_recv() {
            self.in_flight -= 1;
            self.spare.push(chunk);
        }
        let next = self
            .spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(CHUNK));
        let chunk = std::mem::replace(&mut self.buf, next);
        let sent = match &self.to_writer {
            Some(tx) => tx.send(chunk).is_ok(),
            None => false,
        };
        if sent {
            self.in_flight += 1;
            Ok(())
        } else {
            Err(self.writer_error())
        }
    }

    /// The writing thread stopped: its error says why.
    fn writer_error(&mut self) -> io::Error {
        self.join()
            .err()
            .unwrap_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "output closed"))
    }

    /// Waits until every chunk handed over is written.
    fn wait_written(&mut self) -> io::Result<()> {
        while self.in_flight > 0 {
            match self.recycled.recv() {
                Ok(chunk) => {
                    self.in_flight -= 1;
                    self.spare.push(chunk);
                }
                Err(_) => return Err(self.writer_error()),
            }
        }
        Ok(())
    }

    fn join(&mut self) -> io::Result<()> {
        self.to_writer = None;
        match self.writer.take() {
            Some(h) => h
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => Ok(()),
        }
    }

    /// Hands `chunk` over whole, without copying it, after anything written
    /// before; `chunk` comes back empty (a recycled buffer).
    pub fn write_chunk(&mut self, chunk: &mut Vec<u8>) -> io::Result<()> {
        self.hand_over()?;
        std::mem::swap(&mut self.buf, chunk);
        self.hand_over()
    }

    /// Writes everything collected and stops the writing thread.
    pub fn finish(mut self) -> io::Result<()> {
        self.hand_over()?;
        self.join()
    }
}

impl Write for BackgroundWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.hand_over()?;
        }
        Ok(data.len())
    }

    fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.write(data).map(|_| ())
    }

    /// Returns once everything written so far is written to the inner
    /// writer and flushed there.
    fn flush(&mut self) -> io::Result<()> {
        self.hand_over()?;
        self.wait_written()
    }
}

impl Drop for BackgroundWriter {
    fn drop(&mut self) {
        let _ = self.hand_over();
        let _ = self.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, d: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(d);
            Ok(d.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn everything_arrives_in_order() {
        let sink = Shared::default();
        let mut w = BackgroundWriter::new(sink.clone());
        let mut want = Vec::new();
        for i in 0..300_000u32 {
            let line = format!("{i}\n");
            want.extend_from_slice(line.as_bytes());
            w.write_all(line.as_bytes()).unwrap();
        }
        w.finish().unwrap();
        assert_eq!(*sink.0.lock().unwrap(), want);
    }

    struct Failing;
    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_comes_back() {
        let mut w = BackgroundWriter::new(Failing);
        let chunk = vec![b'x'; CHUNK];
        let mut err = None;
        for _ in 0..(QUEUED + 3) {
            if let Err(e) = w.write_all(&chunk) {
                err = Some(e);
                break;
            }
        }
        let err = err
            .or_else(|| w.finish().err())
            .expect("the error is reported");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }
}
