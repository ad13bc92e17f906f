//! The read-bandwidth probe. A peak is only useful if no kernel beats it, so the probe tries what
//! kernels do — all threads and half of them, three access patterns, the widest loads the CPU
//! has — and keeps the best of several passes of each, over a buffer at least 4× the last-level
//! cache (and at least 256 MiB) so that it streams from DRAM, not from cache.

use super::cache::CacheSize;
use crate::backend::ReadProbe;
use rayon::prelude::*;
use std::time::Instant;

/// The buffer is at least this many times the last-level cache ...
const LLC_MULTIPLE: u64 = 4;
/// ... and at least this large ...
const MIN_BYTES: u64 = 256 << 20;
/// ... but at most this share of the machine's memory.
const MAX_MEMORY_SHARE: u64 = 8;
/// Passes per thread count and pattern.
const PASSES: usize = 6;
/// 4 KiB: the unit the four-stream pattern switches streams at.
const BLOCK: usize = 1024;
/// Work-stealing chunk of the interleaved pattern: 256 KiB.
const CHUNK: usize = 64 * BLOCK;

/// How the threads walk the buffer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Pattern {
    /// 256 KiB chunks handed out by work stealing: the threads move through memory together.
    Interleaved,
    /// One contiguous block per thread, read front to back.
    Blocked,
    /// One block per thread, read as four streams in 4 KiB turns (as a GEMV reads rows).
    FourStreams,
}

impl Pattern {
    const ALL: [Pattern; 3] = [Pattern::Interleaved, Pattern::Blocked, Pattern::FourStreams];

    fn name(self) -> &'static str {
        match self {
            Pattern::Interleaved => "interleaved 256 KiB chunks",
            Pattern::Blocked => "one block per thread",
            Pattern::FourStreams => "four streams per thread",
        }
    }
}

/// The best read rate in GB/s and how it was measured, on the current rayon pool and on one of
/// half its threads. `memory` is the machine's memory in bytes (0: unknown).
pub(super) fn read_gbps(llc: CacheSize, memory: u64) -> (f64, ReadProbe) {
    let want = (LLC_MULTIPLE * llc.bytes).max(MIN_BYTES);
    let bytes = if memory > 0 { want.min(memory / MAX_MEMORY_SHARE).max(MIN_BYTES) } else { want };
    let floats = (bytes as usize / 4).div_ceil(CHUNK) * CHUNK;
    let mut buf = vec![0f32; floats];
    // Touch every page from the threads that will read it (first-touch NUMA placement).
    buf.par_chunks_mut(CHUNK).enumerate().for_each(|(i, c)| c.fill(1.0 + (i % 7) as f32));
    let bytes = floats as u64 * 4;
    let threads = rayon::current_num_threads();
    let mut probe = ReadProbe {
        bytes,
        llc_bytes: llc.bytes,
        threads,
        pattern: Pattern::Interleaved.name(),
        loads: loads(),
        passes: 0,
    };
    let mut best = 0.0;
    let mut measure = |threads: usize| {
        for pattern in Pattern::ALL {
            for _ in 0..PASSES {
                let start = Instant::now();
                std::hint::black_box(pass(pattern, &buf));
                let gbps = bytes as f64 / start.elapsed().as_secs_f64() / 1e9;
                probe.passes += 1;
                if gbps > best {
                    best = gbps;
                    (probe.threads, probe.pattern) = (threads, pattern.name());
                }
            }
        }
    };
    measure(threads);
    if threads >= 2
        && let Ok(pool) = rayon::ThreadPoolBuilder::new().num_threads(threads / 2).build()
    {
        pool.install(|| measure(threads / 2));
    }
    (best, probe)
}

/// One read of the whole buffer in `pattern` on the current pool; returns the sum.
fn pass(pattern: Pattern, buf: &[f32]) -> f32 {
    match pattern {
        Pattern::Interleaved => buf.par_chunks(CHUNK).map(sum).sum(),
        Pattern::Blocked => rayon::broadcast(|ctx| sum(block(buf, ctx.index(), ctx.num_threads()))).iter().sum(),
        Pattern::FourStreams => rayon::broadcast(|ctx| {
            let mine = block(buf, ctx.index(), ctx.num_threads());
            let quarter = mine.len() / 4 / BLOCK * BLOCK;
            let streams: Vec<&[f32]> = (0..4).map(|s| &mine[s * quarter..(s + 1) * quarter]).collect();
            let mut total = sum(&mine[4 * quarter..]);
            for off in (0..quarter).step_by(BLOCK) {
                for s in &streams {
                    total += sum(&s[off..off + BLOCK]);
                }
            }
            total
        })
        .iter()
        .sum(),
    }
}

/// Thread `i` of `n`'s share of `buf`, in whole 4 KiB blocks (the last takes the rest).
fn block(buf: &[f32], i: usize, n: usize) -> &[f32] {
    let per = buf.len() / BLOCK / n * BLOCK;
    let end = if i + 1 == n { buf.len() } else { (i + 1) * per };
    &buf[i * per..end]
}

/// The loads [`sum`] uses on this CPU.
fn loads() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512";
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            return "avx2";
        }
    }
    if cfg!(target_arch = "aarch64") { "neon" } else { "portable" }
}

/// The sum of `c` with the widest loads the CPU has.
fn sum(c: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the feature was detected at run time.
            return unsafe { sum_avx512(c) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the feature was detected at run time.
            return unsafe { sum_avx2(c) };
        }
    }
    sum_portable(c)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn sum_avx512(c: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm512_setzero_ps(); 8];
    let mut blocks = c.chunks_exact(128);
    for b in &mut blocks {
        for (j, a) in acc.iter_mut().enumerate() {
            // SAFETY: `b` holds 128 floats, so 16 from 16·j are in bounds.
            *a = _mm512_add_ps(*a, unsafe { _mm512_loadu_ps(b.as_ptr().add(16 * j)) });
        }
    }
    let total = acc.iter().fold(_mm512_setzero_ps(), |s, v| _mm512_add_ps(s, *v));
    _mm512_reduce_add_ps(total) + blocks.remainder().iter().sum::<f32>()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sum_avx2(c: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_setzero_ps(); 8];
    let mut blocks = c.chunks_exact(64);
    for b in &mut blocks {
        for (j, a) in acc.iter_mut().enumerate() {
            // SAFETY: `b` holds 64 floats, so 8 from 8·j are in bounds.
            *a = _mm256_add_ps(*a, unsafe { _mm256_loadu_ps(b.as_ptr().add(8 * j)) });
        }
    }
    let mut lanes = [0f32; 8];
    let total = acc.iter().fold(_mm256_setzero_ps(), |s, v| _mm256_add_ps(s, *v));
    // SAFETY: `lanes` holds 8 floats.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), total) };
    lanes.iter().sum::<f32>() + blocks.remainder().iter().sum::<f32>()
}

fn sum_portable(c: &[f32]) -> f32 {
    let mut acc = [0f32; 64];
    let mut blocks = c.chunks_exact(64);
    for b in &mut blocks {
        for (a, v) in acc.iter_mut().zip(b) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + blocks.remainder().iter().sum::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_reads_every_element_once() {
        // Odd length: remainders in every path.
        let buf: Vec<f32> = (0..(3 * CHUNK + 4 * BLOCK + 37)).map(|i| (i % 5) as f32).collect();
        let want: f64 = buf.iter().map(|&v| v as f64).sum();
        for p in Pattern::ALL {
            let got = pass(p, &buf) as f64;
            assert!((got - want).abs() <= 1e-5 * want, "{p:?}: {got} vs {want}");
        }
        assert_eq!(sum_portable(&buf[..1000]), sum(&buf[..1000]));
    }
}
