//! Gzip with block-parallel deflate whose bytes do not depend on the thread
//! count.
//!
//! The input is cut into fixed 128 KiB blocks. Each block is deflated on its
//! own, primed with the 32 KiB of input before it as a preset dictionary, and
//! ended with a sync flush (the last one with a final block), so the
//! concatenation is one valid deflate stream. The CRC-32 is computed per
//! block and combined in order. The bytes depend only on the input, the level
//! and the block size — never on how many threads compressed the blocks or in
//! which order they finished. (This is the technique pigz uses; the code here
//! is written from that description, not taken from pigz.)
//!
//! The header is fixed: no file name, mtime 0, XFL 0, OS 255 ("unknown",
//! so the bytes do not say which system built them).
//!
//! Blocks are compressed as rayon jobs in the pool the writer runs in, with at
//! most `2 × threads + 2` blocks in flight, so memory stays bounded. A
//! producer waiting for its oldest block helps rayon (it runs queued jobs)
//! instead of blocking, so a pool of one thread cannot deadlock.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// Input bytes per independently compressed block.
pub(crate) const BLOCK_SIZE: usize = 128 * 1024;
/// Deflate's window: the dictionary each block is primed with.
const DICT_SIZE: usize = 32 * 1024;

const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

type BlockResult = io::Result<(Vec<u8>, Crc)>;

struct Job {
    result: Mutex<Option<BlockResult>>,
    done: Condvar,
}

pub(crate) struct ParallelGzip<W: Write> {
    out: W,
    level: u32,
    block: Vec<u8>,
    dict: Arc<[u8]>,
    inflight: VecDeque<Arc<Job>>,
    max_inflight: usize,
    crc: Crc,
    total: u64,
    header_written: bool,
}

impl<W: Write> ParallelGzip<W> {
    pub(crate) fn new(out: W, level: u32) -> Self {
        ParallelGzip {
            out,
            level: level.min(9),
            block: Vec::with_capacity(BLOCK_SIZE),
            dict: Arc::from(&[][..]),
            inflight: VecDeque::new(),
            max_inflight: 2 * rayon::current_num_threads() + 2,
            crc: Crc::new(),
            total: 0,
            header_written: false,
        }
    }

    fn submit(&mut self, last: bool) -> io::Result<()> {
        while self.inflight.len() >= self.max_inflight {
            self.drain_one()?;
        }
        let input = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK_SIZE));
        let dict = std::mem::replace(
            &mut self.dict,
            Arc::from(&input[input.len().saturating_sub(DICT_SIZE)..]),
        );
        let job = Arc::new(Job {
            result: Mutex::new(None),
            done: Condvar::new(),
        });
        let level = self.level;
        let worker_job = Arc::clone(&job);
        rayon::spawn(move || {
            let r = compress_block(&dict, &input, level, last);
            if let Ok(mut slot) = worker_job.result.lock() {
                *slot = Some(r);
            }
            worker_job.done.notify_all();
        });
        self.inflight.push_back(job);
        Ok(())
    }

    fn drain_one(&mut self) -> io::Result<()> {
        let Some(job) = self.inflight.pop_front() else {
            return Ok(());
        };
        let result = wait_for(&job)?;
        let (bytes, crc) = result?;
        self.write_header()?;
        self.out.write_all(&bytes)?;
        self.crc.combine(&crc);
        Ok(())
    }

    fn write_header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.out.write_all(&GZIP_HEADER)?;
            self.header_written = true;
        }
        Ok(())
    }

    /// Compress what is left, write the trailer, return the writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.submit(true)?;
        while !self.inflight.is_empty() {
            self.drain_one()?;
        }
        self.write_header()?;
        self.out.write_all(&self.crc.sum().to_le_bytes())?;
        // ISIZE is the length modulo 2^32 (RFC 1952).
        self.out.write_all(&(self.total as u32).to_le_bytes())?;
        Ok(self.out)
    }
}

/// Wait for a block, running other rayon work meanwhile when on a worker.
fn wait_for(job: &Job) -> io::Result<BlockResult> {
    let poisoned = || io::Error::other("a compression worker panicked");
    loop {
        // The lock is never held while running other jobs: the job we run
        // may be this one, which takes the lock to store its result.
        if let Some(r) = job.result.lock().map_err(|_| poisoned())?.take() {
            return Ok(r);
        }
        match rayon::yield_now() {
            Some(rayon::Yield::Executed) => {}
            Some(rayon::Yield::Idle) => {
                // Another worker has it; sleep briefly, then look for
                // stealable work again.
                let slot = job.result.lock().map_err(|_| poisoned())?;
                if slot.is_none() {
                    let _ = job
                        .done
                        .wait_timeout(slot, Duration::from_millis(1))
                        .map_err(|_| poisoned())?;
                }
            }
            None => {
                // Not a rayon worker: the job runs in the global pool.
                let mut slot = job.result.lock().map_err(|_| poisoned())?;
                while slot.is_none() {
                    slot = job.done.wait(slot).map_err(|_| poisoned())?;
                }
            }
        }
    }
}

impl<W: Write> Write for ParallelGzip<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = BLOCK_SIZE - self.block.len();
        let n = room.min(buf.len());
        self.block.extend_from_slice(&buf[..n]);
        self.total += n as u64;
        if self.block.len() == BLOCK_SIZE {
            self.submit(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        // Blocks are fixed-size; flushing early would change the bytes.
        Ok(())
    }
}

/// Deflate one block: raw deflate, primed with `dict`, ended by a sync flush
/// (or the final block when `last`).
///
/// A fresh compressor per block, never a reset one: zlib-rs's reset keeps
/// the old window bytes, which can steer match selection, so a reused
/// compressor's output would depend on which blocks that thread compressed
/// before — on scheduling. A fresh one starts from zeroed memory. (The
/// allocation is small next to deflating 128 KiB.)
pub(crate) fn compress_block(dict: &[u8], input: &[u8], level: u32, last: bool) -> BlockResult {
    let mut c = Compress::new(Compression::new(level), false);
    deflate_with(&mut c, dict, input, last)
}

fn deflate_with(c: &mut Compress, dict: &[u8], input: &[u8], last: bool) -> BlockResult {
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(io::Error::other)?;
    }
    let mut crc = Crc::new();
    crc.update(input);
    let mut out = Vec::with_capacity(input.len() / 2 + 1024);
    let flush = if last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let start = c.total_in();
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity().max(64 * 1024));
        }
        let consumed = usize::try_from(c.total_in() - start).unwrap_or(usize::MAX);
        let rest = input.get(consumed..).unwrap_or(&[]);
        let status = c
            .compress_vec(rest, &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = usize::try_from(c.total_in() - start).ok() == Some(input.len());
        match status {
            Status::StreamEnd => break,
            // With room left in `out`, the sync flush is complete.
            Status::Ok | Status::BufError if !last && all_in && out.len() < out.capacity() => {
                break;
            }
            Status::Ok | Status::BufError => {}
        }
    }
    Ok((out, crc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sample(len: usize) -> Vec<u8> {
        // Random bytes, then highly repetitive text: long matches that reach
        // the end of the window, where a compressor state leaked from an
        // earlier block (stale window bytes) would change the output.
        let mut v = Vec::with_capacity(len);
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        while v.len() < len / 2 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v.extend_from_slice(&x.to_le_bytes());
        }
        while v.len() < len {
            v.extend_from_slice(b"scratchify layer text\n");
        }
        v.truncate(len);
        v
    }

    fn gz(data: &[u8], threads: usize, level: u32) -> Vec<u8> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut w = ParallelGzip::new(Vec::new(), level);
            // Odd write sizes to cross block boundaries everywhere.
            for chunk in data.chunks(7777) {
                w.write_all(chunk).unwrap();
            }
            w.finish().unwrap()
        })
    }

    #[test]
    fn round_trips_and_is_thread_count_independent() {
        let mut failures = Vec::new();
        for len in [
            0,
            1,
            BLOCK_SIZE - 1,
            BLOCK_SIZE,
            BLOCK_SIZE + 1,
            5 * BLOCK_SIZE + 17,
        ] {
            let data = sample(len);
            let one = gz(&data, 1, 6);
            for threads in [2, 3, 4] {
                if gz(&data, threads, 6) != one {
                    failures.push(format!("len {len}: 1 vs {threads} threads differ"));
                }
            }
            let mut back = Vec::new();
            if let Err(e) = flate2::read::GzDecoder::new(&one[..]).read_to_end(&mut back) {
                failures.push(format!("len {len}: decode error {e}"));
            } else if back != data {
                failures.push(format!("len {len}: round trip differs"));
            }
            if one.get(..10) != Some(&GZIP_HEADER[..]) {
                failures.push(format!("len {len}: header {:?}", &one[..10]));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn outside_a_pool_uses_the_global_pool() {
        let data = sample(3 * BLOCK_SIZE);
        let mut w = ParallelGzip::new(Vec::new(), 6);
        w.write_all(&data).unwrap();
        let out = w.finish().unwrap();
        assert_eq!(out, gz(&data, 2, 6));
    }
}
