//! Threads on the wgpu backend (lavapipe in CI): two sessions on one backend at once, one session
//! moved between threads, one session shared by threads in turn — each bitwise equal to a run on
//! one thread (the checks live in the root crate's tests/support/concurrency.rs).

#[path = "../../../tests/support/concurrency.rs"]
mod support;

use edgehal::Backend;
use edgehal_wgpu::WgpuBackend;
use std::sync::Arc;
use support::*;

/// The backend types are shared between threads.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<WgpuBackend>();
};

fn gpu() -> (Arc<WgpuBackend>, Arc<dyn Backend>) {
    let b = Arc::new(WgpuBackend::new().expect("wgpu adapter (lavapipe: apt install mesa-vulkan-drivers)"));
    (b.clone(), b)
}

fn assert_clean(b: &WgpuBackend) {
    let errors = b.uncaptured_errors();
    assert!(errors.is_empty(), "uncaptured wgpu errors: {errors:?}");
}

#[test]
fn two_sessions_on_one_wgpu_backend_from_two_threads_match_alone() {
    let (b, dynb) = gpu();
    two_sessions_on_two_threads(&dynb, fresh_seed());
    assert_clean(&b);
}

#[test]
fn one_wgpu_session_moved_between_threads_matches_one_thread() {
    let (b, dynb) = gpu();
    one_session_moved_between_threads(&dynb, fresh_seed());
    assert_clean(&b);
}

#[test]
fn one_wgpu_session_shared_by_three_threads_in_turn_matches_one_thread() {
    let (b, dynb) = gpu();
    one_session_shared_in_turn(&dynb, fresh_seed(), 3);
    assert_clean(&b);
}
