// Q5_K encoder (uses the decoder part's constants). Not ggml's search: each 32-value sub-block gets the
// range [min(0, min x), max x] in 31 steps, its min and scale rounded UP to their 6-bit grids (against
// the largest of each, f16 d and dmin) so the final grid still covers the sub-block, then every value
// is rounded to the nearest level: the error stays within half a final step.

fn w_encode(x_base: u32) -> array<u32, W_BLOCK_BYTES> {
    var bytes: array<u32, W_BLOCK_BYTES>;
    var below: array<f32, 8>; // -min(0, min x): the min to store
    var above: array<f32, 8>; // max x
    var max_min = 0.0;
    for (var s = 0u; s < 8u; s++) {
        let base = x_base + 32u * s;
        var lo = x[base];
        var hi = lo;
        for (var l = 1u; l < 32u; l++) {
            let v = x[base + l];
            lo = min(lo, v);
            hi = max(hi, v);
        }
        below[s] = -min(lo, 0.0);
        above[s] = hi;
        max_min = max(max_min, below[s]);
    }
    let dmin_bits = f16_bits(max_min / 63.0);
    let dmin = unpack2x16float(dmin_bits).x;
    let inv_dmin = select(0.0, 1.0 / dmin, dmin > 0.0);
    var qmin: array<u32, 8>;
    var steps: array<f32, 8>;
    var max_step = 0.0;
    for (var s = 0u; s < 8u; s++) {
        qmin[s] = u32(min(ceil(below[s] * inv_dmin), 63.0));
        steps[s] = max(above[s] + dmin * f32(qmin[s]), 0.0) / 31.0;
        max_step = max(max_step, steps[s]);
    }
    let d_bits = f16_bits(max_step / 63.0);
    let d = unpack2x16float(d_bits).x;
    let inv_d = select(0.0, 1.0 / d, d > 0.0);
    var qscale: array<u32, 8>;
    for (var s = 0u; s < 8u; s++) {
        qscale[s] = u32(min(ceil(steps[s] * inv_d), 63.0));
    }
    bytes[0] = d_bits & 0xffu;
    bytes[1] = d_bits >> 8u;
    bytes[2] = dmin_bits & 0xffu;
    bytes[3] = dmin_bits >> 8u;
    for (var t = 0u; t < 4u; t++) {
        bytes[4u + t] = qscale[t] | ((qscale[t + 4u] >> 4u) << 6u);
        bytes[8u + t] = qmin[t] | ((qmin[t + 4u] >> 4u) << 6u);
        bytes[12u + t] = (qscale[t + 4u] & 15u) | ((qmin[t + 4u] & 15u) << 4u);
    }
    for (var s = 0u; s < 8u; s++) {
        let dl = d * f32(qscale[s]);
        let ml = dmin * f32(qmin[s]);
        let inv = select(0.0, 1.0 / dl, dl > 0.0);
        let base = x_base + 32u * s;
        // Low nibbles: sub-blocks 2c and 2c+1 share qs[32c ..] (low, high nibble); fifth bits: bit s of qh.
        let q = 48u + 32u * (s >> 1u);
        let shift = 4u * (s & 1u);
        for (var l = 0u; l < 32u; l++) {
            let level = u32(clamp(round((x[base + l] + ml) * inv), 0.0, 31.0)) & 31u;
            bytes[q + l] |= (level & 15u) << shift;
            bytes[16u + l] |= (level >> 4u) << s;
        }
    }
    return bytes;
}
