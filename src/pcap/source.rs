//! A buffered byte source that hands out borrowed slices and knows the file
//! offset of every byte. The buffer has a fixed capacity: nothing is ever
//! allocated from a length read out of the file. A regular file can instead
//! be served from a memory map of the whole file, which spares copying every
//! byte from the kernel's page cache into the buffer.

use std::io::{self, Read};

/// Where the bytes live.
enum Bytes {
    /// A buffer refilled from the reader.
    Buffer(Vec<u8>),
    /// The whole input, mapped; the pages before `released` have been
    /// handed back (see [`ByteSource::release_behind`]).
    Mapped { map: memmap2::Mmap, released: usize },
}

/// Consumed bytes of a map handed back at a time.
const RELEASE_STEP: usize = 8 << 20;
/// Page size the released ranges are aligned to (a multiple of it would do
/// as well: madvise needs a page-aligned start).
const PAGE: usize = 4096;

pub(crate) struct ByteSource<R> {
    inner: R,
    buf: Bytes,
    start: usize,
    end: usize,
    /// File offset of `buf[start]`.
    offset: u64,
    eof: bool,
}

impl<R: Read> ByteSource<R> {
    pub(crate) fn new(inner: R, capacity: usize) -> Self {
        ByteSource {
            inner,
            buf: Bytes::Buffer(vec![0; capacity]),
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
        }
    }

    /// A source serving the bytes of `map`, which holds all of `inner`.
    pub(crate) fn mapped(inner: R, map: memmap2::Mmap) -> Self {
        ByteSource {
            inner,
            start: 0,
            end: map.len(),
            buf: Bytes::Mapped { map, released: 0 },
            offset: 0,
            eof: true,
        }
    }

    #[inline]
    fn bytes(&self) -> &[u8] {
        match &self.buf {
            Bytes::Buffer(b) => b,
            Bytes::Mapped { map, .. } => map,
        }
    }

    /// Hands the mapped pages wholly before `self.start` back to the
    /// system, a few megabytes at a time, so that reading a large file
    /// keeps only the pages in use resident (as a read buffer would)
    /// instead of all it has read.
    #[inline]
    fn release_behind(&mut self) {
        let Bytes::Mapped { map, released } = &mut self.buf else {
            return;
        };
        if self.start - *released < RELEASE_STEP {
            return;
        }
        let upto = self.start / PAGE * PAGE;
        // SAFETY: MADV_DONTNEED on a read-only shared file mapping drops
        // the pages from this process; reading them again would fault them
        // back in from the file. Nothing refers to these bytes any more:
        // every slice this source hands out borrows it, and the bytes
        // before `start` belong to records whose borrows ended before this
        // call (`take` and `consume` take `&mut self`).
        #[cfg(unix)]
        let advised = unsafe {
            map.unchecked_advise_range(
                memmap2::UncheckedAdvice::DontNeed,
                *released,
                upto - *released,
            )
        };
        // A refusal (or a system without madvise) only leaves the pages
        // resident.
        #[cfg(unix)]
        let _ = advised;
        #[cfg(not(unix))]
        let _ = map;
        *released = upto;
    }

    /// File offset of the next unconsumed byte.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Makes at least `n` bytes available (n <= capacity). Returns how many
    /// are available, which is less than `n` only at the end of the input.
    #[inline]
    pub(crate) fn fill(&mut self, n: usize) -> io::Result<usize> {
        if self.end - self.start >= n || self.eof {
            return Ok(self.end - self.start);
        }
        self.refill(n)
    }

    fn refill(&mut self, n: usize) -> io::Result<usize> {
        let Bytes::Buffer(buf) = &mut self.buf else {
            return Ok(self.end - self.start);
        };
        debug_assert!(n <= buf.len());
        let n = n.min(buf.len());
        if self.start + n > buf.len() {
            buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < n {
            match self.inner.read(&mut buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.end - self.start)
    }

    /// The available bytes (as many as the last `fill` made ready, or more).
    #[inline]
    pub(crate) fn peek(&self) -> &[u8] {
        &self.bytes()[self.start..self.end]
    }

    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.offset += n as u64;
        self.release_behind();
    }

    /// Consumes `n` available bytes and returns them.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> &[u8] {
        self.release_behind();
        let n = n.min(self.end - self.start);
        let at = self.start;
        self.start += n;
        self.offset += n as u64;
        &self.bytes()[at..at + n]
    }

    /// Skips `n` bytes without keeping them; returns how many were skipped
    /// (less than `n` only at the end of the input).
    pub(crate) fn skip(&mut self, mut n: u64) -> io::Result<u64> {
        let want = n;
        while n > 0 {
            let chunk = n.min(self.bytes().len() as u64) as usize;
            let have = self.fill(chunk)?;
            let k = have.min(chunk);
            if k == 0 {
                break;
            }
            self.consume(k);
            n -= k as u64;
        }
        Ok(want - n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_compacts_and_tracks_offset() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut s = ByteSource::new(&data[..], 64);
        assert_eq!(s.fill(10).unwrap(), 64);
        s.consume(60);
        assert_eq!(s.offset(), 60);
        assert!(s.fill(20).unwrap() >= 20);
        assert_eq!(s.peek()[0], 60);
        assert_eq!(s.skip(900).unwrap(), 900);
        assert_eq!(s.offset(), 960);
        assert_eq!(s.fill(64).unwrap(), 40);
        assert_eq!(s.skip(100).unwrap(), 40);
    }
}
