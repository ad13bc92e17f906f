//! Threads on one NNAPI backend (over the recording fake), as `docs/CONCURRENCY.md` promises for
//! every backend: two sessions built and run at once from two threads, one session moved into a
//! new thread for each run, and one session shared by three threads in turn — each bitwise equal
//! to the same runs on one thread, on fresh random inputs (the seed is printed).
//!
//! **What the fake makes of threads.** Its log and injected failures are thread-local (see
//! `fake`'s module docs): the backend is created on the test thread after `fake::reset`, and a
//! session running on a spawned thread calls into the same fake functions, which record into
//! that thread's own, default state. The backend under test is the real one, unchanged; the
//! handles each session's models, compilations and executions get are separate objects, so the
//! runs share nothing but the backend. Each worker thread checks in its own log that NNAPI
//! computed there.
//!
//! The workload is decode-like and stateful: `x [1, 64] → matmul (w [32, 64]) → rms_norm → silu`
//! on NNAPI; the matmul row is appended to a KV-cache state at the run position by `kv_write`
//! (which NNAPI does not lower: it runs on the CPU backend listed second), and NNAPI multiplies
//! the whole cache by a second weight. So every run's outputs depend on the runs before it, and
//! the threads' turns must keep their order.

use crate::ffi::feature_level::FL6;
use crate::{NnapiBackend, NnapiOptions, fake};
use edgehal::{Backend, CpuBackend, DType, Graph, Policy, Position, RunOptions, Session, Tensor};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;

/// Runs (tokens) per session; also the cache's capacity.
const STEPS: usize = 6;
const K: usize = 64;
const N: usize = 32;
const M: usize = 16;

/// The two backends every session lists: the fake NNAPI first, the CPU for `kv_write`.
#[derive(Clone)]
struct Backends(Vec<Arc<dyn Backend>>);

impl Backends {
    fn new() -> Self {
        fake::reset(FL6);
        let nnapi = NnapiBackend::from_symbols(fake::symbols(), NnapiOptions::default()).expect("fake backend");
        Backends(vec![Arc::new(nnapi), Arc::new(CpuBackend::with_threads(1).expect("cpu backend"))])
    }
}

/// SplitMix64 values in ±[0.05, 1).
fn values(seed: u64, n: usize) -> Vec<f32> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            let magnitude = 0.05 + 0.95 * ((z >> 40) as f32 / (1u64 << 24) as f32);
            if z & 1 == 0 { magnitude } else { -magnitude }
        })
        .collect()
}

/// A seed that differs on every test run (printed, so that a failure can be replayed).
fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let seed = (nanos as u64) ^ (u64::from(std::process::id()) << 32);
    eprintln!("nnapi concurrency seed: {seed:#x}");
    seed
}

/// One workload: its weights and every run's input.
#[derive(Clone)]
struct Workload {
    w: Tensor,
    w2: Tensor,
    inputs: Vec<Tensor>,
}

/// What a session produced: each run's output bytes, in order, and the final cache.
#[derive(Debug, PartialEq, Eq)]
struct Results {
    runs: Vec<Vec<Vec<u8>>>,
    cache: Vec<u8>,
}

impl Workload {
    fn new(seed: u64) -> Self {
        let w = Tensor::from_f32([N, K], &values(seed, N * K)).unwrap();
        let w2 = Tensor::from_f32([M, N], &values(seed ^ 1, M * N)).unwrap();
        let inputs = (0..STEPS).map(|i| Tensor::from_f32([1, K], &values(seed ^ ((i as u64 + 2) << 8), K)).unwrap());
        Workload { w, w2, inputs: inputs.collect() }
    }

    fn graph(&self) -> Graph {
        let mut g = Graph::new();
        let x = g.input("x", DType::F32, &[1, K]).unwrap();
        let w = g.weight("w", self.w.clone());
        let y = g.matmul(x, w).unwrap();
        let n = g.rms_norm(y, None, 1e-5).unwrap();
        let s = g.silu(n).unwrap();
        g.output(s).unwrap();
        let cache = g.state("cache", DType::F32, &[1, 1, STEPS, N]).unwrap();
        let row = g.reshape(y, &[1, 1, 1, N]).unwrap();
        let updated = g.kv_write(cache, row, Position::Run).unwrap();
        let rows = g.reshape(updated, &[STEPS, N]).unwrap();
        let w2 = g.weight("w2", self.w2.clone());
        let mixed = g.matmul(rows, w2).unwrap();
        g.output(mixed).unwrap();
        g
    }

    /// A session of this workload: both matmuls, rms_norm and silu are placed on NNAPI,
    /// `kv_write` on the CPU (placement may keep the reshape of its output there too).
    fn session(&self, backends: &Backends) -> Session {
        let s = Session::new(self.graph(), backends.0.clone(), Policy::strict()).expect("session");
        let placement = &s.plan().placement;
        for (node, backend) in placement {
            let want = match node.split('_').next() {
                Some("kv") => "cpu",
                Some("matmul" | "rms" | "silu") => "nnapi",
                _ => continue,
            };
            assert_eq!(backend, want, "placement of {node}: {placement:?}");
        }
        assert_eq!(placement.iter().filter(|(n, b)| n.starts_with("matmul") && b == "nnapi").count(), 2);
        s
    }

    /// Runs step `step` (position `step`); each output's bytes.
    fn step(&self, session: &mut Session, step: usize) -> Vec<Vec<u8>> {
        let opts = RunOptions { position: step, ..Default::default() };
        let out = session.run_with(&[("x", &self.inputs[step])], &opts).expect("run");
        out.into_vec().into_iter().map(|(_, t)| t.bytes().to_vec()).collect()
    }

    /// Every step, in order, on the calling thread, on a fresh session.
    fn all_steps(&self, backends: &Backends) -> Results {
        let mut s = self.session(backends);
        let runs = (0..STEPS).map(|i| self.step(&mut s, i)).collect();
        Results { runs, cache: cache(&s) }
    }
}

fn cache(session: &Session) -> Vec<u8> {
    session.state("cache").expect("cache state").bytes().to_vec()
}

/// Asserts that this thread's fake log holds NNAPI computations (and clears it).
fn assert_nnapi_computed_here(at_least: usize) {
    let computed = fake::take_calls().iter().filter(|c| *c == "compute").count();
    assert!(computed >= at_least, "{computed} NNAPI computes on this thread, expected {at_least} or more");
}

#[test]
fn two_sessions_on_one_nnapi_backend_from_two_threads_match_alone() {
    let backends = Backends::new();
    let seed = fresh_seed();
    let workloads = [Workload::new(seed), Workload::new(seed ^ 0x5555_5555_5555_5555)];
    let alone: Vec<Results> = workloads.iter().map(|w| w.all_steps(&backends)).collect();
    assert_ne!(alone[0], alone[1], "the two workloads differ, so cross-talk would show");
    assert!(alone[0].cache.iter().any(|&b| b != 0), "the cache holds the written rows");
    for round in 0..3 {
        let start = Barrier::new(workloads.len());
        let together: Vec<Results> = thread::scope(|scope| {
            let handles: Vec<_> = workloads
                .iter()
                .map(|w| {
                    let (backends, start) = (&backends, &start);
                    scope.spawn(move || {
                        let mut s = w.session(backends);
                        start.wait();
                        let runs = (0..STEPS).map(|i| w.step(&mut s, i)).collect();
                        assert_nnapi_computed_here(2 * STEPS);
                        Results { runs, cache: cache(&s) }
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("worker thread")).collect()
        });
        for (i, (got, want)) in together.iter().zip(&alone).enumerate() {
            assert!(got == want, "round {round}: session {i} on two threads differs from alone");
        }
    }
}

#[test]
fn one_nnapi_session_moved_between_threads_matches_one_thread() {
    let backends = Backends::new();
    let w = Workload::new(fresh_seed());
    let alone = w.all_steps(&backends);
    let mut session = w.session(&backends);
    let mut runs = Vec::new();
    for step in 0..STEPS {
        let w = w.clone();
        let (s, out) = thread::spawn(move || {
            let out = w.step(&mut session, step);
            assert_nnapi_computed_here(2);
            (session, out)
        })
        .join()
        .expect("worker thread");
        session = s;
        runs.push(out);
    }
    assert!(Results { runs, cache: cache(&session) } == alone, "a session moved between threads differs");
}

#[test]
fn one_nnapi_session_shared_by_three_threads_in_turn_matches_one_thread() {
    const THREADS: usize = 3;
    let backends = Backends::new();
    let w = Workload::new(fresh_seed());
    let alone = w.all_steps(&backends);
    // (session, next step, outputs so far)
    let shared = Mutex::new((w.session(&backends), 0usize, Vec::new()));
    let turn = Condvar::new();
    thread::scope(|scope| {
        for t in 0..THREADS {
            let (shared, turn, w) = (&shared, &turn, &w);
            scope.spawn(move || {
                for step in (t..STEPS).step_by(THREADS) {
                    let mut guard = turn.wait_while(shared.lock().unwrap(), |g| g.1 != step).unwrap();
                    let (session, next, runs) = &mut *guard;
                    runs.push(w.step(session, step));
                    *next += 1;
                    turn.notify_all();
                }
                assert_nnapi_computed_here(2 * STEPS / THREADS);
            });
        }
    });
    let (session, next, runs) = shared.into_inner().unwrap();
    assert_eq!(next, STEPS);
    assert!(Results { runs, cache: cache(&session) } == alone, "a session shared by {THREADS} threads differs");
}
