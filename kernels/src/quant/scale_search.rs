//! ggml's k-quant scale searches. Each picks a scale (and for the asymmetric ones a minimum)
//! for a small group of values and the integer levels that go with it. The arithmetic follows
//! ggml's reference code operation for operation (f32, no fused multiply-add) so the chosen
//! levels, and so the bytes, match.

use super::common::{GROUP_MAX_EPS, nearest_int};

/// ggml's `make_qx_quants` with `rmse_type = 1` and no importance weights (weights x²): a
/// symmetric scale for levels `-nmax..nmax`, searched over 19 candidate scales around
/// max/-nmax. Writes `levels[i]` = level + nmax (in 0..2*nmax) and returns the scale.
pub(super) fn make_qx_quants(x: &[f32], nmax: i32, levels: &mut [u8]) -> f32 {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    if amax < GROUP_MAX_EPS {
        levels.fill(0);
        return 0.0;
    }
    let level = |iscale: f32, v: f32| nearest_int(iscale * v).clamp(-nmax, nmax - 1);
    let sums = |iscale: f32| {
        let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
        for &v in x {
            let l = level(iscale, v) as f32;
            let w = v * v;
            sumlx += w * v * l;
            suml2 += w * l * l;
        }
        (sumlx, suml2)
    };
    let set_levels = |iscale: f32, levels: &mut [u8]| {
        for (q, &v) in levels.iter_mut().zip(x) {
            *q = (level(iscale, v) + nmax) as u8;
        }
    };

    let iscale = -(nmax as f32) / max;
    set_levels(iscale, levels);
    let (sumlx, suml2) = sums(iscale);
    let mut scale = if suml2 != 0.0 { sumlx / suml2 } else { 0.0 };
    let mut best = scale * sumlx;
    for step in (-9..=9).filter(|&s| s != 0) {
        let iscale = -(nmax as f32 + 0.1 * step as f32) / max;
        let (sumlx, suml2) = sums(iscale);
        if suml2 > 0.0 && sumlx * sumlx > best * suml2 {
            set_levels(iscale, levels);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    scale
}

/// ggml's `make_q3_quants` with `do_rmse = true`: a symmetric scale for levels `-nmax..nmax`,
/// refined by up to five passes that move single levels while the x²-weighted fit improves.
/// Writes `levels[i]` = level + nmax and returns the scale.
pub(super) fn make_q3_quants(x: &[f32], nmax: i32, levels: &mut [u8]) -> f32 {
    let (mut amax, mut max) = (0.0f32, 0.0f32);
    for &v in x {
        if v.abs() > amax {
            amax = v.abs();
            max = v;
        }
    }
    if amax < GROUP_MAX_EPS {
        levels.fill(0);
        return 0.0;
    }
    let iscale = -(nmax as f32) / max;
    let mut signed = [0i32; 16];
    let signed = &mut signed[..x.len()];
    let (mut sumlx, mut suml2) = (0.0f32, 0.0f32);
    for (l, &v) in signed.iter_mut().zip(x) {
        *l = nearest_int(iscale * v).clamp(-nmax, nmax - 1);
        let w = v * v;
        sumlx += w * v * *l as f32;
        suml2 += w * *l as f32 * *l as f32;
    }
    for _ in 0..5 {
        let mut changed = 0;
        for (l, &v) in signed.iter_mut().zip(x) {
            let w = v * v;
            let mut slx = sumlx - w * v * *l as f32;
            if slx > 0.0 {
                let mut sl2 = suml2 - w * *l as f32 * *l as f32;
                let new_l = nearest_int(v * sl2 / slx).clamp(-nmax, nmax - 1);
                if new_l != *l {
                    slx += w * v * new_l as f32;
                    sl2 += w * new_l as f32 * new_l as f32;
                    if sl2 > 0.0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                        *l = new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        changed += 1;
                    }
                }
            }
        }
        if changed == 0 {
            break;
        }
    }
    for (q, &l) in levels.iter_mut().zip(signed.iter()) {
        *q = (l + nmax) as u8;
    }
    if suml2 > 0.0 { sumlx / suml2 } else { 0.0 }
}

/// The search grid of [`make_qkx2_quants`]: candidate inverse scales
/// `(rmin + rdelta * i + nmax) / (max - min)` for i in 0..=nstep.
#[derive(Clone, Copy)]
pub(super) struct Qkx2Search {
    /// Offset of the first candidate from nmax.
    pub rmin: f32,
    /// Step between candidates.
    pub rdelta: f32,
    /// Number of steps.
    pub nstep: i32,
    /// Minimize weighted absolute error (Q2_K) instead of weighted squared error.
    pub use_mad: bool,
}

/// ggml's `make_qkx2_quants`: an asymmetric fit x ≈ scale * level - min with levels
/// `0..=nmax`, weighted by `weights`. For each candidate scale it rounds, then solves the
/// weighted least-squares scale and min for those levels, keeping the best. Writes the levels
/// and returns `(scale, min)` with `min >= 0` (the value subtracted).
pub(super) fn make_qkx2_quants(
    x: &[f32],
    weights: &[f32],
    nmax: i32,
    search: Qkx2Search,
    levels: &mut [u8],
) -> (f32, f32) {
    let n = x.len();
    let (mut min, mut max) = (x[0], x[0]);
    let mut sum_w = weights[0];
    let mut sum_x = sum_w * x[0];
    for i in 1..n {
        min = min.min(x[i]);
        max = max.max(x[i]);
        sum_w += weights[i];
        sum_x += weights[i] * x[i];
    }
    if min > 0.0 {
        min = 0.0;
    }
    if max == min {
        levels.fill(0);
        return (0.0, -min);
    }
    let error = |scale: f32, min: f32, l: u8, v: f32| {
        let diff = scale * l as f32 + min - v;
        if search.use_mad { diff.abs() } else { diff * diff }
    };
    let mut iscale = nmax as f32 / (max - min);
    let mut scale = 1.0 / iscale;
    let mut best_error = 0.0f32;
    for i in 0..n {
        levels[i] = nearest_int(iscale * (x[i] - min)).clamp(0, nmax) as u8;
        best_error += weights[i] * error(scale, min, levels[i], x[i]);
    }
    if search.nstep < 1 {
        return (scale, -min);
    }
    let mut trial = [0u8; 32];
    let trial = &mut trial[..n];
    for step in 0..=search.nstep {
        iscale = (search.rmin + search.rdelta * step as f32 + nmax as f32) / (max - min);
        let (mut sum_l, mut sum_l2, mut sum_xl) = (0.0f32, 0.0f32, 0.0f32);
        for i in 0..n {
            let l = nearest_int(iscale * (x[i] - min)).clamp(0, nmax);
            trial[i] = l as u8;
            let (l, w) = (l as f32, weights[i]);
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        let det = sum_w * sum_l2 - sum_l * sum_l;
        if det > 0.0 {
            let mut this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
            let mut this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
            if this_min > 0.0 {
                this_min = 0.0;
                this_scale = sum_xl / sum_l2;
            }
            let mut cur_error = 0.0f32;
            for i in 0..n {
                cur_error += weights[i] * error(this_scale, this_min, trial[i], x[i]);
            }
            if cur_error < best_error {
                levels.copy_from_slice(trial);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    (scale, -min)
}
