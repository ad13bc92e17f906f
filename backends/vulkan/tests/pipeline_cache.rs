//! The on-disk pipeline cache: written at shutdown, loaded and reused by the next backend,
//! and a corrupt, truncated, random or foreign file (another device in our header, or another
//! driver in Vulkan's own header) ignored with its reason (then replaced), never handed to the
//! driver.

mod common;

use common::*;
use edgehal::{Backend, DType, RunOptions, Tensor};
use edgehal_vulkan::VulkanOptions;
use std::path::Path;
use std::sync::Arc;

/// Creates a backend caching in `file`, compiles and runs silu, returns the loaded byte count,
/// the cache hits reported by the driver and why the file was ignored.
fn session_with_cache(file: &Path) -> (usize, usize, Option<String>) {
    let b = backend(VulkanOptions { pipeline_cache: Some(file.to_path_buf()), ..options() });
    let x = Tensor::from_f32([4, 64], &values(256, 3)).unwrap();
    let y = run_silu(b.clone() as Arc<dyn Backend>, silu_graph(DType::F32, &[4, 64]), &x, &RunOptions::default());
    let want = x.as_f32().unwrap().iter().map(|v| v / (1.0 + (-v).exp()));
    for (g, w) in y.as_f32().unwrap().iter().zip(want) {
        assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()));
    }
    let stats = b.pipeline_cache_stats();
    assert_eq!(stats.file.as_deref(), Some(file));
    assert_eq!(stats.pipelines_created, 1, "one pipeline (elementwise.base::silu)");
    assert_no_validation_messages(&b);
    (stats.loaded_bytes, stats.cache_hits, stats.ignored)
}

/// The 64-bit FNV-1a checksum the cache file's header carries over the Vulkan data.
fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// The header size of edgehal's cache file (identity, length, checksum).
const HEADER: usize = 80;

#[test]
fn the_pipeline_cache_is_written_reused_and_bad_files_are_ignored() {
    let dir = std::env::temp_dir().join(format!("edgehal-vk-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = dir.join("sub").join("cache.bin");

    let (loaded, _, ignored) = session_with_cache(&file);
    assert_eq!((loaded, ignored), (0, None), "no file yet: nothing loaded, nothing to complain about");
    let written = std::fs::read(&file).expect("cache file written at shutdown");
    // Our header and at least Vulkan's own (lavapipe stores nothing more).
    assert!(written.len() >= 80 + 32, "header + Vulkan cache data, got {} bytes", written.len());

    let (loaded, hits, ignored) = session_with_cache(&file);
    assert_eq!(loaded, written.len() - HEADER, "the second backend loads the first one's data");
    assert_eq!(ignored, None);
    eprintln!("pipeline cache: {loaded} bytes loaded, {hits} hit(s) reported by the driver");

    // Corruptions: flipped payload byte (checksum), truncation, another device's identity, junk,
    // random bytes behind our magic, and Vulkan's own header naming another vendor (with our
    // header and checksum intact, as a cache copied from another machine would have).
    let mut flipped = written.clone();
    *flipped.last_mut().unwrap() ^= 0x5a;
    let mut foreign = written.clone();
    foreign[32] ^= 0xff; // device UUID
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mut random = written[..16].to_vec();
    random.extend(values(200, seed).iter().map(|v| v.to_bits() as u8));
    let mut other_driver = written.clone();
    other_driver[HEADER + 8] ^= 0x01; // VkPipelineCacheHeaderVersionOne::vendorID
    let sum = checksum(&other_driver[HEADER..]);
    other_driver[72..80].copy_from_slice(&sum.to_le_bytes());
    for (what, bytes, reason) in [
        ("flipped", flipped, "checksum mismatch"),
        ("truncated", written[..written.len() - 1].to_vec(), "truncated"),
        ("foreign", foreign, "another device"),
        ("junk", vec![7u8; 300], "not an edgehal pipeline cache"),
        ("random", random, "another device"),
        ("other driver", other_driver, "Vulkan header names another device"),
    ] {
        std::fs::write(&file, &bytes).unwrap();
        let (loaded, _, ignored) = session_with_cache(&file);
        assert_eq!(loaded, 0, "{what} file must be ignored");
        let ignored = ignored.unwrap_or_else(|| panic!("{what}: no reason given for ignoring the file"));
        assert!(ignored.contains(reason), "{what}: ignored because {ignored:?}, expected {reason:?}");
        let rewritten = std::fs::read(&file).unwrap();
        assert_eq!(rewritten.len(), written.len(), "{what}: replaced by a valid cache at shutdown");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
