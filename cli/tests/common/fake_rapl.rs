//! A fake Linux powercap tree (`EDGEHAL_POWERCAP_ROOT`) whose counters a writer thread advances
//! at a fixed power, computed from the elapsed time so the power is exact whatever the scheduler
//! does.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The zones: a package at the given power and its DRAM at a quarter of it.
const ZONES: [(&str, &str, f64); 2] = [("intel-rapl:0", "package-0", 1.0), ("intel-rapl:0:0", "dram", 0.25)];

/// A powercap tree under a test directory, advancing until dropped.
pub struct FakeRapl {
    /// The root to point `EDGEHAL_POWERCAP_ROOT` at.
    pub root: PathBuf,
    stop: Arc<AtomicBool>,
    writer: Option<JoinHandle<()>>,
}

impl FakeRapl {
    /// Starts a tree whose package counts `watts` and whose DRAM counts `watts / 4`. The tree
    /// goes on tmpfs (`/dev/shm`) where there is one, named after `dir`: on a disk file system
    /// the writer's renames stall under build load and the counted power sags.
    pub fn start(dir: &Path, watts: f64) -> FakeRapl {
        let shm = Path::new("/dev/shm");
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let root = if shm.is_dir() {
            shm.join(format!("edgehal-{}-{name}", std::process::id())).join("powercap")
        } else {
            dir.join("powercap")
        };
        let _ = fs::remove_dir_all(&root);
        for (zone, name, _) in ZONES {
            let zone = root.join(zone);
            fs::create_dir_all(&zone).unwrap();
            fs::write(zone.join("name"), format!("{name}\n")).unwrap();
            fs::write(zone.join("energy_uj"), "1000\n").unwrap();
            fs::write(zone.join("max_energy_range_uj"), "262143328850\n").unwrap();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (root, stop) = (root.clone(), stop.clone());
            std::thread::spawn(move || {
                let start = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let us = start.elapsed().as_secs_f64() * 1e6;
                    for (zone, _, share) in ZONES {
                        set_energy(&root, zone, 1000 + (us * watts * share) as u64);
                    }
                    std::thread::sleep(Duration::from_micros(200));
                }
            })
        };
        FakeRapl { root, stop, writer: Some(writer) }
    }

    /// The total power both zones count.
    pub fn total_watts(watts: f64) -> f64 {
        ZONES.iter().map(|z| z.2 * watts).sum()
    }
}

impl Drop for FakeRapl {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        if self.root.starts_with("/dev/shm") {
            let _ = fs::remove_dir_all(self.root.parent().unwrap_or(&self.root));
        }
    }
}

/// Writes `uj` atomically (temporary file, then rename), so a reader never sees half a number.
fn set_energy(root: &Path, zone: &str, uj: u64) {
    let tmp = root.join(format!("{zone}.tmp"));
    fs::write(&tmp, format!("{uj}\n")).unwrap();
    fs::rename(&tmp, root.join(zone).join("energy_uj")).unwrap();
}
