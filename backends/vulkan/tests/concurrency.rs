//! Threads on the Vulkan backend (lavapipe, validation on: unsynchronised queue use would be
//! reported): two sessions on one backend at once, one session moved between threads, one session
//! shared by threads in turn — each bitwise equal to a run on one thread (the checks live in the
//! root crate's tests/support/concurrency.rs).

mod common;
#[path = "../../../tests/support/concurrency.rs"]
mod support;

use common::{assert_no_validation_messages, backend, options};
use edgehal::Backend;
use edgehal_vulkan::VulkanBackend;
use std::sync::Arc;
use support::*;

/// The backend type is shared between threads.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<VulkanBackend>();
};

fn gpu() -> (Arc<VulkanBackend>, Arc<dyn Backend>) {
    let b = backend(options());
    (b.clone(), b)
}

#[test]
fn two_sessions_on_one_vulkan_backend_from_two_threads_match_alone() {
    let (b, dynb) = gpu();
    two_sessions_on_two_threads(&dynb, fresh_seed());
    assert_no_validation_messages(&b);
}

#[test]
fn one_vulkan_session_moved_between_threads_matches_one_thread() {
    let (b, dynb) = gpu();
    one_session_moved_between_threads(&dynb, fresh_seed());
    assert_no_validation_messages(&b);
}

#[test]
fn one_vulkan_session_shared_by_three_threads_in_turn_matches_one_thread() {
    let (b, dynb) = gpu();
    one_session_shared_in_turn(&dynb, fresh_seed(), 3);
    assert_no_validation_messages(&b);
}
