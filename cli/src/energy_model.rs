//! Energy models fitted by `edgehal calibrate`: where they are kept and how `profile` and
//! `bench` read them back.
//!
//! A fitted model lives in `$EDGEHAL_ENERGY_MODEL_DIR/energy-model-<backend>.json`, by default
//! `~/.cache/edgehal/energy-model-<backend>.json`: it describes one machine, so it is cached per
//! user, never shipped. Its figures stay labelled `modelled` — a fitted model is still a model.

use crate::error::{CliError, Result, write_file};
use edgehal::energy::EnergyModel;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// An energy model fitted to a meter, with what it was fitted from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FittedModel {
    /// The backend it describes.
    pub backend: String,
    /// The coefficients.
    pub model: EnergyModel,
    /// The meters whose windows it was fitted to.
    pub meters: Vec<String>,
    /// Meter windows fitted.
    pub windows: usize,
    /// Root-mean-square of (model − meter) / meter over the windows.
    pub rms_relative_error: f64,
    /// When it was fitted, seconds since the Unix epoch.
    pub fitted_unix_s: u64,
}

/// Where the fitted model of `backend` is kept.
pub fn default_path(backend: &str) -> PathBuf {
    let dir = std::env::var_os("EDGEHAL_ENERGY_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default().join(".cache/edgehal"));
    dir.join(format!("energy-model-{backend}.json"))
}

/// The model for `backend`: from `explicit` (which must exist), else from [`default_path`] when
/// a file is there, else `None` (the device kind's defaults apply). A file that does not parse,
/// or describes another backend, is an error naming it.
pub fn load(backend: &str, explicit: Option<&Path>) -> Result<Option<(FittedModel, PathBuf)>> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let p = default_path(backend);
            if !p.exists() {
                return Ok(None);
            }
            p
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|e| CliError::io(path.display().to_string(), e))?;
    let fitted: FittedModel = serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!("{}: not an energy model written by `edgehal calibrate`: {e}", path.display()))
    })?;
    if fitted.backend != backend {
        return Err(CliError::Usage(format!(
            "{}: the energy model is for backend `{}`, not `{backend}`",
            path.display(),
            fitted.backend
        )));
    }
    let m = &fitted.model;
    if m.coefficients().iter().any(|c| !c.is_finite() || *c < 0.0) {
        return Err(CliError::Usage(format!(
            "{}: energy model coefficients must be finite and non-negative: {m:?}",
            path.display()
        )));
    }
    Ok(Some((fitted, path)))
}

/// Writes `fitted` as pretty JSON to `path`, creating its directory.
pub fn save(path: &Path, fitted: &FittedModel) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CliError::io(dir.display().to_string(), e))?;
    }
    let json = serde_json::to_string_pretty(fitted).expect("a fitted model serialises");
    write_file(path, json + "\n")
}

/// One line saying which model prices energy on `backend`.
pub fn describe(backend: &str, loaded: &Option<(FittedModel, PathBuf)>) -> String {
    match loaded {
        Some((f, path)) => format!(
            "energy model for {backend}: fitted to {} ({} windows, rms error {:.1} %), {}",
            f.meters.join(", "),
            f.windows,
            100.0 * f.rms_relative_error,
            path.display()
        ),
        None => format!(
            "energy model for {backend}: the device kind's defaults (no {}; run `edgehal calibrate` where a meter exists)",
            default_path(backend).display()
        ),
    }
}
