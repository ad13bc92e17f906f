//! Threads on the CPU backend: two sessions on one backend at once, one session moved between
//! threads, one session shared by threads in turn — each bitwise equal to a run on one thread —
//! and, at compile time, which public types are `Send` and `Sync` (docs/CONCURRENCY.md).

#[path = "support/concurrency.rs"]
mod support;

use edgehal::{
    Backend, CpuBackend, DeviceBuffer, Error, Executable, Graph, Outputs, Plan, Policy, Profile, Session, StateSet,
    Tensor, TensorDesc,
};
use std::sync::Arc;
use support::*;

/// Compiles only where `T: Send`.
fn send<T: Send + ?Sized>() {}
/// Compiles only where `T: Send + Sync`.
fn send_sync<T: Send + Sync + ?Sized>() {}

/// `<T as NotSync<_>>::check` resolves (compiles) only where `T` is *not* `Sync`: for a `Sync`
/// type both impls apply and the `_` is ambiguous (the `static_assertions` crate's trick).
trait NotSync<A> {
    fn check() {}
}
impl<T: ?Sized> NotSync<()> for T {}
impl<T: ?Sized + Sync> NotSync<u8> for T {}

#[test]
fn send_and_sync_are_what_the_docs_say() {
    // Shared freely between threads (immutable, or internally synchronised).
    send_sync::<CpuBackend>();
    send_sync::<Arc<dyn Backend>>();
    send_sync::<dyn DeviceBuffer>();
    send_sync::<Graph>();
    send_sync::<Tensor>();
    send_sync::<TensorDesc>();
    send_sync::<Outputs>();
    send_sync::<Plan>();
    send_sync::<Profile>();
    send_sync::<Policy>();
    send_sync::<Error>();
    // Owned by one thread at a time: moved between threads, or behind a `Mutex`.
    send::<Session>();
    send::<StateSet>();
    send::<dyn Executable>();
    let _ = <Session as NotSync<_>>::check;
    let _ = <dyn Executable as NotSync<_>>::check;
}

fn cpu() -> Arc<dyn Backend> {
    Arc::new(CpuBackend::with_threads(2).expect("cpu backend"))
}

#[test]
fn two_sessions_on_one_cpu_backend_from_two_threads_match_alone() {
    two_sessions_on_two_threads(&cpu(), fresh_seed());
}

#[test]
fn one_session_moved_between_threads_matches_one_thread() {
    one_session_moved_between_threads(&cpu(), fresh_seed());
}

#[test]
fn one_session_shared_by_three_threads_in_turn_matches_one_thread() {
    one_session_shared_in_turn(&cpu(), fresh_seed(), 3);
}
