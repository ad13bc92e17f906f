//! The concurrency checks every backend runs (see docs/CONCURRENCY.md), shared by
//! `tests/concurrency.rs` and the GPU backends' `tests/concurrency.rs` (included with `#[path]`).
//!
//! The workload is a small decode-like graph with state: `x [1, 64] → matmul (w [32, 64]) →
//! rms_norm → silu`, and the matmul row appended to a KV-cache state at the run position (the
//! updated cache is the second output), so a run's results depend on every earlier run of the same session. [`reference`] runs it alone on
//! one thread; each scenario must give bitwise the same outputs and final cache:
//!
//! - [`two_sessions_on_two_threads`]: two sessions (different weights and inputs) built and run at
//!   the same time on one backend;
//! - [`one_session_moved_between_threads`]: one session moved into a new thread for each run;
//! - [`one_session_shared_in_turn`]: one session behind a `Mutex`, run by several threads in turn.
//!
//! Inputs are fresh random values on every test run (never zero; the seed is printed).

#![allow(dead_code)]

use edgehal::{Backend, DType, Graph, Policy, RunOptions, Session, Tensor};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

/// Runs (tokens) per scenario; also the KV cache's capacity.
pub const STEPS: usize = 6;
const K: usize = 64;
const N: usize = 32;

/// SplitMix64 values in ±[0.05, 1): random, never zero.
pub struct Values(u64);

impl Values {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Values(seed)
    }

    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let magnitude = 0.05 + 0.95 * ((z >> 40) as f32 / (1u64 << 24) as f32);
        if z & 1 == 0 { magnitude } else { -magnitude }
    }

    /// `n` values.
    pub fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// A seed that differs on every test run (printed, so a failure can be replayed).
pub fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let seed = (nanos as u64) ^ ((std::process::id() as u64) << 32);
    eprintln!("concurrency seed: {seed:#x}");
    seed
}

/// One workload: its weights and the input of every run.
#[derive(Clone)]
pub struct Workload {
    weights: Tensor,
    inputs: Vec<Tensor>,
}

/// What a session produced: the outputs of every run (bytes, in order) and the final cache.
#[derive(Debug, PartialEq, Eq)]
pub struct Results {
    /// Per run, the bytes of each output.
    pub runs: Vec<Vec<Vec<u8>>>,
    /// The KV cache after the last run.
    pub cache: Vec<u8>,
}

impl Workload {
    /// Weights and inputs drawn from `seed`.
    pub fn new(seed: u64) -> Self {
        let mut v = Values::new(seed);
        let weights = Tensor::from_f32([N, K], &v.vec(N * K)).unwrap();
        let inputs = (0..STEPS).map(|_| Tensor::from_f32([1, K], &v.vec(K)).unwrap()).collect();
        Workload { weights, inputs }
    }

    /// The graph (see the module docs).
    pub fn graph(&self) -> Graph {
        let mut g = Graph::new();
        let x = g.input("x", DType::F32, &[1, K]).unwrap();
        let w = g.weight("w", self.weights.clone());
        let y = g.matmul(x, w).unwrap();
        let n = g.rms_norm(y, None, 1e-5).unwrap();
        let s = g.silu(n).unwrap();
        g.output(s).unwrap();
        let cache = g.state("cache", DType::F32, &[1, 1, STEPS, N]).unwrap();
        let row = g.reshape(y, &[1, 1, 1, N]).unwrap();
        let updated = g.kv_write(cache, row, edgehal::Position::Run).unwrap();
        g.output(updated).unwrap();
        g
    }

    /// A new session of this workload on `backend` alone.
    pub fn session(&self, backend: &Arc<dyn Backend>) -> Session {
        Session::new(self.graph(), vec![backend.clone()], Policy::strict()).expect("session")
    }

    /// Runs step `step` (position `step`), returning each output's bytes.
    pub fn step(&self, session: &mut Session, step: usize) -> Vec<Vec<u8>> {
        let opts = RunOptions { position: step, ..Default::default() };
        let out = session.run_with(&[("x", &self.inputs[step])], &opts).expect("run");
        out.into_vec().into_iter().map(|(_, t)| t.bytes().to_vec()).collect()
    }

    /// The cache state's bytes.
    pub fn cache(session: &Session) -> Vec<u8> {
        session.state("cache").expect("cache state").bytes().to_vec()
    }

    /// Every step on one thread, on a fresh session.
    pub fn reference(&self, backend: &Arc<dyn Backend>) -> Results {
        let mut s = self.session(backend);
        let runs = (0..STEPS).map(|i| self.step(&mut s, i)).collect();
        let results = Results { runs, cache: Self::cache(&s) };
        assert!(results.cache.iter().any(|&b| b != 0), "the cache holds the written rows");
        results
    }
}

/// Two sessions with different workloads, each built and run on its own thread at the same time,
/// on one shared backend; each equals its workload run alone.
pub fn two_sessions_on_two_threads(backend: &Arc<dyn Backend>, seed: u64) {
    let workloads = [Workload::new(seed), Workload::new(seed ^ 0x5555_5555_5555_5555)];
    let alone: Vec<Results> = workloads.iter().map(|w| w.reference(backend)).collect();
    assert_ne!(alone[0], alone[1], "the two workloads differ, so cross-talk would show");
    for round in 0..3 {
        let together: Vec<Results> = thread::scope(|scope| {
            let handles: Vec<_> = workloads
                .iter()
                .map(|w| {
                    scope.spawn(move || {
                        let mut s = w.session(backend);
                        let runs = (0..STEPS).map(|i| w.step(&mut s, i)).collect();
                        Results { runs, cache: Workload::cache(&s) }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("thread")).collect()
        });
        for (i, (got, want)) in together.iter().zip(&alone).enumerate() {
            assert!(got == want, "round {round}: session {i} on two threads differs from alone");
        }
    }
}

/// One session moved into a fresh thread for each run (and back); equals the run on one thread.
pub fn one_session_moved_between_threads(backend: &Arc<dyn Backend>, seed: u64) {
    let w = Workload::new(seed);
    let alone = w.reference(backend);
    let mut session = w.session(backend);
    let mut runs = Vec::new();
    for step in 0..STEPS {
        let w = w.clone();
        let (s, out) = thread::spawn(move || {
            let out = w.step(&mut session, step);
            (session, out)
        })
        .join()
        .expect("thread");
        session = s;
        runs.push(out);
    }
    let got = Results { runs, cache: Workload::cache(&session) };
    assert!(got == alone, "a session moved between threads differs from one run on one thread");
}

/// One session behind a `Mutex`, run by `threads` threads taking turns (thread `t` runs the steps
/// `t, t + threads, …`, strictly in step order); equals the run on one thread.
pub fn one_session_shared_in_turn(backend: &Arc<dyn Backend>, seed: u64, threads: usize) {
    let w = Workload::new(seed);
    let alone = w.reference(backend);
    // (session, next step, outputs so far)
    let shared = Mutex::new((w.session(backend), 0usize, Vec::new()));
    let turn = Condvar::new();
    thread::scope(|scope| {
        for t in 0..threads {
            let (shared, turn, w) = (&shared, &turn, &w);
            scope.spawn(move || {
                for step in (t..STEPS).step_by(threads) {
                    let mut guard = turn.wait_while(shared.lock().unwrap(), |g| g.1 != step).unwrap();
                    let (session, next, runs) = &mut *guard;
                    runs.push(w.step(session, step));
                    *next += 1;
                    turn.notify_all();
                }
            });
        }
    });
    let (session, next, runs) = shared.into_inner().unwrap();
    assert_eq!(next, STEPS);
    let got = Results { runs, cache: Workload::cache(&session) };
    assert!(got == alone, "a session shared by {threads} threads in turn differs from one thread");
}
