// Q2_K encoder (uses the decoder part's constants). Not ggml's search: each 16-value sub-block gets the
// range [min(0, min x), max x] in 3 steps, its min and scale rounded UP to their 4-bit grids (against
// the largest of each, f16 d and dmin) so the final grid still covers the sub-block, then every value
// is rounded to the nearest level: the error stays within half a final step.

fn w_encode(x_base: u32) -> array<u32, W_BLOCK_BYTES> {
    var bytes: array<u32, W_BLOCK_BYTES>;
    var below: array<f32, 16>; // -min(0, min x): the min to store
    var above: array<f32, 16>; // max x
    var max_min = 0.0;
    for (var s = 0u; s < 16u; s++) {
        let base = x_base + 16u * s;
        var lo = x[base];
        var hi = lo;
        for (var l = 1u; l < 16u; l++) {
            let v = x[base + l];
            lo = min(lo, v);
            hi = max(hi, v);
        }
        below[s] = -min(lo, 0.0);
        above[s] = hi;
        max_min = max(max_min, below[s]);
    }
    let dmin_bits = f16_bits(max_min / 15.0);
    let dmin = unpack2x16float(dmin_bits).x;
    let inv_dmin = select(0.0, 1.0 / dmin, dmin > 0.0);
    var qmin: array<u32, 16>;
    var steps: array<f32, 16>;
    var max_step = 0.0;
    for (var s = 0u; s < 16u; s++) {
        qmin[s] = u32(min(ceil(below[s] * inv_dmin), 15.0));
        steps[s] = max(above[s] + dmin * f32(qmin[s]), 0.0) / 3.0;
        max_step = max(max_step, steps[s]);
    }
    let d_bits = f16_bits(max_step / 15.0);
    let d = unpack2x16float(d_bits).x;
    let inv_d = select(0.0, 1.0 / d, d > 0.0);
    bytes[80] = d_bits & 0xffu;
    bytes[81] = d_bits >> 8u;
    bytes[82] = dmin_bits & 0xffu;
    bytes[83] = dmin_bits >> 8u;
    for (var s = 0u; s < 16u; s++) {
        let qscale = u32(min(ceil(steps[s] * inv_d), 15.0));
        bytes[s] = qscale | (qmin[s] << 4u);
        let dl = d * f32(qscale);
        let ml = dmin * f32(qmin[s]);
        let inv = select(0.0, 1.0 / dl, dl > 0.0);
        // Element 16s + l is element 32k + r of half 16s / 128: bits 2k.. of qs byte r of that half.
        let first = 16u * s;
        let q = 16u + 32u * (first >> 7u) + (first & 31u);
        let shift = 2u * ((first >> 5u) & 3u);
        for (var l = 0u; l < 16u; l++) {
            let level = u32(clamp(round((x[x_base + first + l] + ml) * inv), 0.0, 3.0)) & 3u;
            bytes[q + l] |= level << shift;
        }
    }
    return bytes;
}
