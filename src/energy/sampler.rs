//! Power samplers: a thread that reads a power in watts every period and integrates it into
//! joules (trapezoid rule), for meters that only report instantaneous power (battery fuel
//! gauges, INA3221 rails); and the sysfs reading those meters and ODPM share.
//!
//! A window reads its meters only when it opens and closes, so integrating between reads alone
//! would join two samples by a straight line; the thread fills the window with a sample every
//! period. [`PowerSampler::joules`] also samples on the caller's thread, so a window's ends are
//! sampled when it opens and closes. A failed, negative or non-finite reading stops the
//! integration for good: the energy after it is unknown, so every later read is that error, never
//! a total that silently misses a stretch.

use super::rapl::FileReader;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Reads the power now, in watts, or says why it cannot.
pub type PowerFn = Box<dyn FnMut() -> Result<f64, String> + Send>;

struct State {
    read: PowerFn,
    last: (Instant, f64),
    joules: f64,
    samples: u64,
    failed: Option<String>,
    stop: bool,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

/// A power reading integrated into joules on a background thread, stopped on drop.
pub struct PowerSampler {
    shared: Shared,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for PowerSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerSampler").field("samples", &self.samples()).finish_non_exhaustive()
    }
}

impl PowerSampler {
    /// Takes a first sample now (its error means the meter cannot open) and starts a thread
    /// (named after `name`) that samples every `period`.
    pub fn start(name: &str, period: Duration, mut read: PowerFn) -> Result<PowerSampler, String> {
        let first = checked(read())?;
        let state = State { read, last: (Instant::now(), first), joules: 0.0, samples: 1, failed: None, stop: false };
        let shared: Shared = Arc::new((Mutex::new(state), Condvar::new()));
        let for_thread = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("edgehal-{name}"))
            .spawn(move || run(&for_thread, period.max(Duration::from_micros(100))))
            .map_err(|e| format!("cannot start the sampler thread: {e}"))?;
        Ok(PowerSampler { shared, thread: Some(thread) })
    }

    /// Samples now and returns the joules integrated since the first sample, or the error that
    /// stopped the integration.
    pub fn joules(&self) -> Result<f64, String> {
        let mut st = lock(&self.shared);
        sample(&mut st);
        match &st.failed {
            Some(why) => Err(why.clone()),
            None => Ok(st.joules),
        }
    }

    /// How many samples have been taken (the first, the thread's and each read's).
    pub fn samples(&self) -> u64 {
        lock(&self.shared).samples
    }
}

impl Drop for PowerSampler {
    fn drop(&mut self) {
        lock(&self.shared).stop = true;
        self.shared.1.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.0.lock().unwrap_or_else(|e| e.into_inner())
}

fn checked(watts: Result<f64, String>) -> Result<f64, String> {
    match watts? {
        w if !w.is_finite() => Err(format!("power reading is not a number: {w}")),
        w if w < 0.0 => Err(format!("power reading is negative: {w} W")),
        w => Ok(w),
    }
}

fn sample(st: &mut State) {
    if st.failed.is_some() {
        return;
    }
    match checked((st.read)()) {
        Ok(w) => {
            let now = Instant::now();
            st.joules += 0.5 * (st.last.1 + w) * now.duration_since(st.last.0).as_secs_f64();
            st.last = (now, w);
            st.samples += 1;
        }
        Err(why) => st.failed = Some(why),
    }
}

fn run(shared: &Shared, period: Duration) {
    let mut st = lock(shared);
    let mut next = Instant::now() + period;
    loop {
        loop {
            if st.stop || st.failed.is_some() {
                return;
            }
            let now = Instant::now();
            if now >= next {
                break;
            }
            st = shared.1.wait_timeout(st, next - now).unwrap_or_else(|e| e.into_inner()).0;
        }
        sample(&mut st);
        // A late thread (a loaded machine) resumes the period from now rather than catching up
        // with a burst of samples that would add nothing.
        next = (next + period).max(Instant::now());
    }
}

/// The real file system as a [`FileReader`].
pub(crate) fn fs_reader() -> FileReader {
    Arc::new(|p: &Path| std::fs::read_to_string(p))
}

/// A sysfs file's text, trimmed; failures name the path, and "permission denied" adds `denied`
/// (what to do about it on this kind of meter).
pub(crate) fn read_text(read: &FileReader, path: &Path, denied: &str) -> Result<String, String> {
    read(path).map(|s| s.trim().to_string()).map_err(|e| describe_io(path, &e, denied))
}

/// A sysfs file holding one number.
pub(crate) fn read_num<T: std::str::FromStr>(read: &FileReader, path: &Path, denied: &str) -> Result<T, String> {
    let text = read_text(read, path, denied)?;
    text.parse().map_err(|_| format!("{}: not a number: {text:?}", path.display()))
}

/// An I/O error on `path`, with the hint `denied` when it is "permission denied".
pub(crate) fn describe_io(path: &Path, e: &io::Error, denied: &str) -> String {
    if e.kind() == io::ErrorKind::PermissionDenied {
        format!("{}: permission denied ({denied})", path.display())
    } else {
        format!("{}: {e}", path.display())
    }
}

/// The entries of `dir` whose names start with `prefix`, sorted.
pub(crate) fn entries(dir: &Path, prefix: &str) -> io::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with(prefix)))
        .map(|e| e.path())
        .collect();
    found.sort();
    Ok(found)
}

/// The last component of `path`, for names.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string()
}
