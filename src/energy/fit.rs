//! Fitting an [`EnergyModel`] to meter windows.
//!
//! Each window (a profiled run repeated inside one meter window, see
//! [`Session::run_repeated`](crate::Session::run_repeated)) gives one equation
//! `J = Σ FLOPs_c · pJ_c + bytes · pJ/B + static W · seconds`; the fit is the non-negative least
//! squares solution over the windows, each equation divided by its joules so that short windows
//! count as much as long ones. With five unknowns the exact NNLS optimum is found by solving the
//! least-squares problem on every subset of the columns and keeping the best non-negative one.
//!
//! A coefficient no window exercises (no f16 op was run) keeps the prior's value and is listed in
//! [`Fit::not_fitted`]. The static term covers the whole window, so it absorbs the package's idle
//! power and the host time between runs: a fitted model prices an op as it costs on that machine,
//! background load included.

use super::{ComputeClass, EnergyModel, disjoint_windows};
use crate::DeviceKind;
use crate::error::{Error, Result};
use crate::profile::Profile;

/// The coefficients' names, in column order (that of [`EnergyModel::coefficients`]).
pub const COEFFICIENTS: [&str; 5] = ["pj_per_flop_f32", "pj_per_flop_f16", "pj_per_op_int8", "pj_per_byte", "static_w"];

/// One meter window: the work done on one device inside it and the joules its meters counted.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct FitSample {
    /// FLOPs by compute class: f32, f16, int8.
    pub flops: [f64; 3],
    /// Bytes read and written.
    pub bytes: f64,
    /// Window length, in seconds.
    pub seconds: f64,
    /// Joules the (disjoint) meters covering the device counted over the window.
    pub joules: f64,
}

/// A fitted model and how well it reproduces the windows.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    /// The coefficients (those not fitted are the prior's).
    pub model: EnergyModel,
    /// Root-mean-square of (model − meter) / meter over the windows.
    pub rms_relative_error: f64,
    /// Coefficients no window exercised, left at the prior's value.
    pub not_fitted: Vec<&'static str>,
}

impl FitSample {
    /// The window of a profile made by `run_repeated` with meters attached: the work of the ops
    /// that ran on `kind` over all the window's runs, and the joules of the disjoint meters that
    /// cover `kind`. `None` when no usable window covers `kind` (no meter, or a window too short).
    /// Ops on other devices in the same window are not subtracted: calibrate one device at a time.
    pub fn from_profile(profile: &Profile, kind: DeviceKind) -> Option<FitSample> {
        let windows: Vec<_> =
            disjoint_windows(&profile.energy_windows).into_iter().filter(|w| w.meter.covers.contains(&kind)).collect();
        if windows.is_empty() {
            return None;
        }
        let runs = profile.energy_window_runs.max(1) as f64;
        let mut s = FitSample {
            flops: [0.0; 3],
            bytes: 0.0,
            seconds: windows.iter().map(|w| w.seconds).fold(0.0, f64::max),
            joules: windows.iter().map(|w| w.joules).sum(),
        };
        for w in profile.work.iter().filter(|w| w.kind == kind) {
            let class = match w.class {
                ComputeClass::F32 => 0,
                ComputeClass::F16 => 1,
                ComputeClass::Int8 => 2,
            };
            s.flops[class] += w.flops as f64 * runs;
            s.bytes += w.bytes as f64 * runs;
        }
        Some(s)
    }

    /// The joules `model` gives this window's work.
    pub fn joules_of(&self, model: &EnergyModel) -> f64 {
        dot(&self.row(), &model.coefficients())
    }

    /// The equation's coefficients, in the units of [`EnergyModel`] (pJ, pJ, pJ, pJ/B, W).
    fn row(&self) -> [f64; 5] {
        [self.flops[0] * 1e-12, self.flops[1] * 1e-12, self.flops[2] * 1e-12, self.bytes * 1e-12, self.seconds]
    }
}

/// Fits the model to `samples`; `prior` gives the coefficients no sample exercises. Errors when a
/// sample is not finite or counted no energy, or when there are fewer samples than coefficients
/// to fit.
pub fn fit(samples: &[FitSample], prior: EnergyModel) -> Result<Fit> {
    for (i, s) in samples.iter().enumerate() {
        let finite = s.row().iter().all(|x| x.is_finite() && *x >= 0.0);
        if !(finite && s.joules.is_finite() && s.joules > 0.0) {
            return Err(Error::EnergyFit(format!("window {i} is not a measurement: {s:?}")));
        }
    }
    // Each equation divided by its joules: minimise the relative error.
    let rows: Vec<[f64; 5]> = samples.iter().map(|s| s.row().map(|x| x / s.joules)).collect();
    let active: Vec<usize> = (0..5).filter(|&c| rows.iter().any(|r| r[c] > 0.0)).collect();
    if samples.len() < active.len() {
        return Err(Error::EnergyFit(format!(
            "{} windows cannot determine {} coefficients ({}): measure more cases",
            samples.len(),
            active.len(),
            active.iter().map(|&c| COEFFICIENTS[c]).collect::<Vec<_>>().join(", ")
        )));
    }
    let mut best: Option<(f64, [f64; 5])> = None;
    for mask in 0u32..(1 << active.len()) {
        let cols: Vec<usize> = active.iter().enumerate().filter(|(i, _)| mask >> i & 1 == 1).map(|(_, &c)| c).collect();
        let Some(x) = least_squares(&rows, &cols) else { continue };
        if x.iter().any(|&v| v < 0.0) {
            continue;
        }
        let mut coef = [0.0; 5];
        for (&c, &v) in cols.iter().zip(&x) {
            coef[c] = v;
        }
        let residual = rows.iter().map(|r| (dot(r, &coef) - 1.0).powi(2)).sum::<f64>();
        if best.is_none_or(|(b, _)| residual < b) {
            best = Some((residual, coef));
        }
    }
    let (residual, coef) = best.expect("the empty subset is always feasible");
    let p = prior.coefficients();
    Ok(Fit {
        model: EnergyModel::from_coefficients(std::array::from_fn(
            |c| if active.contains(&c) { coef[c] } else { p[c] },
        )),
        rms_relative_error: (residual / samples.len().max(1) as f64).sqrt(),
        not_fitted: (0..5).filter(|c| !active.contains(c)).map(|c| COEFFICIENTS[c]).collect(),
    })
}

fn dot(a: &[f64; 5], b: &[f64; 5]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Least squares of `rows · x ≈ 1` over columns `cols` (normal equations, columns scaled to unit
/// norm, Gaussian elimination with partial pivoting); `None` when the columns are dependent.
fn least_squares(rows: &[[f64; 5]], cols: &[usize]) -> Option<Vec<f64>> {
    let n = cols.len();
    let norm: Vec<f64> = cols.iter().map(|&c| rows.iter().map(|r| r[c] * r[c]).sum::<f64>().sqrt()).collect();
    if norm.contains(&0.0) {
        return None;
    }
    // Augmented normal matrix [AᵀA | Aᵀ1] of the scaled columns.
    let mut m = vec![vec![0.0; n + 1]; n];
    for r in rows {
        for i in 0..n {
            let ai = r[cols[i]] / norm[i];
            for j in 0..n {
                m[i][j] += ai * r[cols[j]] / norm[j];
            }
            m[i][n] += ai;
        }
    }
    for k in 0..n {
        let p = (k..n).max_by(|&a, &b| m[a][k].abs().total_cmp(&m[b][k].abs()))?;
        if m[p][k].abs() < 1e-10 {
            return None;
        }
        m.swap(k, p);
        let (top, rest) = m.split_at_mut(k + 1);
        let pivot = &top[k];
        for row in rest {
            let f = row[k] / pivot[k];
            for (x, p) in row[k..].iter_mut().zip(&pivot[k..]) {
                *x -= f * p;
            }
        }
    }
    let mut x = vec![0.0; n];
    for k in (0..n).rev() {
        let s: f64 = (k + 1..n).map(|j| m[k][j] * x[j]).sum();
        x[k] = (m[k][n] - s) / m[k][k];
    }
    Some(x.iter().zip(&norm).map(|(v, s)| v / s).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth() -> EnergyModel {
        EnergyModel {
            pj_per_flop_f32: 6.0,
            pj_per_flop_f16: 3.0,
            pj_per_op_int8: 1.2,
            pj_per_byte: 80.0,
            static_w: 4.0,
        }
    }

    /// Windows of varied work, their joules from `m`, times `1 + noise(i)`.
    fn samples(m: &EnergyModel, noise: impl Fn(usize) -> f64) -> Vec<FitSample> {
        (0..12)
            .map(|i| {
                let k = (i * 7 % 5) as f64 + 1.0;
                let flops = [[4e9 * k, 0.0, 0.0], [0.0, 8e9, 0.0], [0.0, 0.0, 3e10 / k]][i % 3];
                let bytes = [1e8, 2e9, 5e8, 3e9][i % 4] * k;
                let seconds = 0.05 + 0.01 * i as f64;
                let joules = (flops[0] * m.pj_per_flop_f32
                    + flops[1] * m.pj_per_flop_f16
                    + flops[2] * m.pj_per_op_int8
                    + bytes * m.pj_per_byte)
                    * 1e-12
                    + m.static_w * seconds;
                FitSample { flops, bytes, seconds, joules: joules * (1.0 + noise(i)) }
            })
            .collect()
    }

    #[test]
    fn exact_windows_give_the_model_back() {
        let fit = fit(&samples(&truth(), |_| 0.0), EnergyModel::for_kind(DeviceKind::Cpu)).unwrap();
        let (got, want) = (fit.model, truth());
        for (g, w) in [
            (got.pj_per_flop_f32, want.pj_per_flop_f32),
            (got.pj_per_flop_f16, want.pj_per_flop_f16),
            (got.pj_per_op_int8, want.pj_per_op_int8),
            (got.pj_per_byte, want.pj_per_byte),
            (got.static_w, want.static_w),
        ] {
            assert!((g - w).abs() <= 1e-6 * w, "{got:?}");
        }
        assert!(fit.rms_relative_error < 1e-9 && fit.not_fitted.is_empty(), "{fit:?}");
    }

    #[test]
    fn noise_stays_bounded_and_coefficients_stay_non_negative() {
        let noisy = samples(&truth(), |i| if i % 2 == 0 { 0.03 } else { -0.03 });
        let fit = fit(&noisy, EnergyModel::for_kind(DeviceKind::Cpu)).unwrap();
        let m = fit.model;
        assert!(
            [m.pj_per_flop_f32, m.pj_per_flop_f16, m.pj_per_op_int8, m.pj_per_byte, m.static_w]
                .iter()
                .all(|&c| c >= 0.0)
        );
        assert!(fit.rms_relative_error <= 0.031, "{fit:?}");
        assert!((m.static_w - 4.0).abs() < 1.0, "{m:?}");
    }

    #[test]
    fn a_constant_power_meter_is_all_static_and_unused_classes_keep_the_prior() {
        // Power independent of the work: the fit puts it all in the static term.
        let mut s = samples(&truth(), |_| 0.0);
        for x in &mut s {
            x.flops[1] = 0.0;
            x.joules = 2.5 * x.seconds;
        }
        let prior = EnergyModel::for_kind(DeviceKind::Cpu);
        let fit = fit(&s, prior).unwrap();
        assert!((fit.model.static_w - 2.5).abs() < 1e-9, "{fit:?}");
        assert!(fit.model.pj_per_flop_f32 < 1e-9 && fit.model.pj_per_byte < 1e-9, "{fit:?}");
        assert_eq!(fit.not_fitted, ["pj_per_flop_f16"]);
        assert_eq!(fit.model.pj_per_flop_f16, prior.pj_per_flop_f16);
    }

    #[test]
    fn too_few_or_empty_windows_are_errors() {
        let prior = EnergyModel::for_kind(DeviceKind::Cpu);
        let s = samples(&truth(), |_| 0.0);
        let err = fit(&s[..3], prior).unwrap_err().to_string();
        assert!(err.contains("3 windows cannot determine 5 coefficients"), "{err}");
        let mut zero = s.clone();
        zero[4].joules = 0.0;
        assert!(fit(&zero, prior).unwrap_err().to_string().contains("window 4"));
        let mut nan = s;
        nan[1].bytes = f64::NAN;
        assert!(fit(&nan, prior).is_err());
    }
}
