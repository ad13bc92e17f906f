//! The on-disk pipeline cache: `VkPipelineCache` data wrapped in a header naming the device
//! (vendor, device id, device UUID, driver version, pipeline-cache UUID) and a checksum. A file
//! that is missing, truncated, corrupt or written for another device or driver is ignored, never
//! handed to the driver.

use crate::physical::Physical;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 16] = b"edgehal-vkpc\0\0\0\x01";
const HEADER: usize = 16 + 16 + 16 + 16 + 16;

/// The default cache file for `p`: `<user cache dir>/edgehal/vulkan/<device UUID>-<driver version>.bin`.
pub(crate) fn default_path(p: &Physical) -> Option<PathBuf> {
    let uuid: String = p.device_uuid.iter().map(|b| format!("{b:02x}")).collect();
    Some(user_cache_dir()?.join("edgehal").join("vulkan").join(format!("{uuid}-{:08x}.bin", p.driver_version)))
}

/// The platform's per-user cache directory.
fn user_cache_dir() -> Option<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if cfg!(windows) {
        return env("LOCALAPPDATA");
    }
    if cfg!(target_os = "macos") {
        return env("HOME").map(|h| h.join("Library").join("Caches"));
    }
    env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|h| h.join(".cache")))
}

/// 64-bit FNV-1a.
fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// The header fields that tie a file to one device and driver.
fn identity(p: &Physical) -> [u8; 64] {
    let mut id = [0u8; 64];
    id[..16].copy_from_slice(MAGIC);
    id[16..20].copy_from_slice(&p.ids.0.to_le_bytes());
    id[20..24].copy_from_slice(&p.ids.1.to_le_bytes());
    id[24..28].copy_from_slice(&p.driver_version.to_le_bytes());
    id[32..48].copy_from_slice(&p.device_uuid);
    id[48..64].copy_from_slice(&p.pipeline_cache_uuid);
    id
}

/// The cache data in `file` if it was written for this device and driver and is intact, else
/// `Err(why)` (the caller starts with an empty cache).
pub(crate) fn parse(file: &[u8], p: &Physical) -> Result<Vec<u8>, String> {
    if file.len() < HEADER {
        return Err(format!("{} bytes, shorter than the header", file.len()));
    }
    if &file[..16] != MAGIC {
        return Err("not an edgehal pipeline cache".into());
    }
    if file[..64] != identity(p) {
        return Err("written for another device or driver version".into());
    }
    let len = u64::from_le_bytes(file[64..72].try_into().map_err(|_| "bad length")?);
    let sum = u64::from_le_bytes(file[72..80].try_into().map_err(|_| "bad checksum")?);
    let data = &file[HEADER..];
    if data.len() as u64 != len {
        return Err(format!("truncated: {} of {len} bytes", data.len()));
    }
    if checksum(data) != sum {
        return Err("checksum mismatch".into());
    }
    // The driver's own header (VkPipelineCacheHeaderVersionOne) must name this device too.
    if data.len() < 32 {
        return Err("cache data shorter than Vulkan's header".into());
    }
    let word = |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
    let header_len = word(0) as usize;
    if header_len < 32 || header_len > data.len() || word(4) != 1 {
        return Err("unknown Vulkan pipeline cache header".into());
    }
    if word(8) != p.ids.0 || word(12) != p.ids.1 || data[16..32] != p.pipeline_cache_uuid {
        return Err("Vulkan header names another device".into());
    }
    Ok(data.to_vec())
}

/// Reads the cache data from `path`; a missing file gives an empty cache, an unusable one an
/// empty cache, a warning and the reason it was ignored.
pub(crate) fn load(path: &Path, p: &Physical) -> (Vec<u8>, Option<String>) {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), None),
        Err(e) => {
            tracing::warn!("pipeline cache {}: {e}; starting empty", path.display());
            return (Vec::new(), Some(format!("unreadable: {e}")));
        }
    };
    match parse(&bytes, p) {
        Ok(data) => (data, None),
        Err(why) => {
            tracing::warn!("pipeline cache {} ignored: {why}", path.display());
            (Vec::new(), Some(why))
        }
    }
}

/// Writes `data` to `path` atomically (a temporary file renamed over it).
pub(crate) fn save(path: &Path, p: &Physical, data: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut file = Vec::with_capacity(HEADER + data.len());
    file.extend_from_slice(&identity(p));
    file.extend_from_slice(&(data.len() as u64).to_le_bytes());
    file.extend_from_slice(&checksum(data).to_le_bytes());
    file.extend_from_slice(data);
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, &file)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
