//! The on-disk pipeline cache: written at shutdown, loaded and reused by the next backend,
//! and a corrupt or foreign file ignored (then replaced), never handed to the driver.

mod common;

use common::*;
use edgehal::{Backend, DType, RunOptions, Tensor};
use edgehal_vulkan::VulkanOptions;
use std::path::Path;
use std::sync::Arc;

/// Creates a backend caching in `file`, compiles and runs silu, returns the loaded byte count and
/// the cache hits reported by the driver.
fn session_with_cache(file: &Path) -> (usize, usize) {
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
    (stats.loaded_bytes, stats.cache_hits)
}

#[test]
fn the_pipeline_cache_is_written_reused_and_bad_files_are_ignored() {
    let dir = std::env::temp_dir().join(format!("edgehal-vk-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = dir.join("sub").join("cache.bin");

    let (loaded, _) = session_with_cache(&file);
    assert_eq!(loaded, 0, "no file yet");
    let written = std::fs::read(&file).expect("cache file written at shutdown");
    assert!(written.len() > 80 + 32, "header + Vulkan cache data, got {} bytes", written.len());

    let (loaded, hits) = session_with_cache(&file);
    assert_eq!(loaded, written.len() - 80, "the second backend loads the first one's data");
    eprintln!("pipeline cache: {loaded} bytes loaded, {hits} hit(s) reported by the driver");

    // Corruptions: flipped payload byte (checksum), truncation, another device's identity, junk.
    let mut flipped = written.clone();
    *flipped.last_mut().unwrap() ^= 0x5a;
    let mut foreign = written.clone();
    foreign[32] ^= 0xff; // device UUID
    for (what, bytes) in
        [("flipped", flipped), ("truncated", written[..written.len() - 1].to_vec()), ("foreign", foreign), ("junk", vec![7u8; 300])]
    {
        std::fs::write(&file, &bytes).unwrap();
        let (loaded, _) = session_with_cache(&file);
        assert_eq!(loaded, 0, "{what} file must be ignored");
        let rewritten = std::fs::read(&file).unwrap();
        assert_eq!(rewritten.len(), written.len(), "{what}: replaced by a valid cache at shutdown");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
