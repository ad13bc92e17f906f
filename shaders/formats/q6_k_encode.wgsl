// Q6_K encoder (uses the decoder part's constants). Not ggml's search: each 16-value sub-block gets the
// smallest signed step whose levels -32..31 cover [min x, max x] (the sign picks which end gets the 32nd
// level), its magnitude rounded UP to the 7-bit grid of the largest (f16 d; scales -127..127), then
// every value is rounded to the nearest level: the error stays within half a final step.

fn w_encode(x_base: u32) -> array<u32, W_BLOCK_BYTES> {
    var bytes: array<u32, W_BLOCK_BYTES>;
    var steps: array<f32, 16>; // signed step of each sub-block
    var max_step = 0.0;
    for (var s = 0u; s < 16u; s++) {
        let base = x_base + 16u * s;
        var lo = x[base];
        var hi = lo;
        for (var l = 1u; l < 16u; l++) {
            let v = x[base + l];
            lo = min(lo, v);
            hi = max(hi, v);
        }
        // A positive step covers [-32 step, 31 step], a negative one [-31 |step|, 32 |step|].
        let positive = max(max(-lo / 32.0, hi / 31.0), 0.0);
        let negative = max(max(-lo / 31.0, hi / 32.0), 0.0);
        steps[s] = select(positive, -negative, negative < positive);
        max_step = max(max_step, abs(steps[s]));
    }
    let d_bits = f16_bits(max_step / 127.0);
    let d = unpack2x16float(d_bits).x;
    let inv_d = select(0.0, 1.0 / d, d > 0.0);
    bytes[208] = d_bits & 0xffu;
    bytes[209] = d_bits >> 8u;
    for (var s = 0u; s < 16u; s++) {
        let scale = sign(steps[s]) * min(ceil(abs(steps[s]) * inv_d), 127.0);
        bytes[192u + s] = bitcast<u32>(i32(scale)) & 0xffu;
        let dl = d * scale;
        let inv = select(0.0, 1.0 / dl, dl != 0.0);
        // Element e = 16s + l = 128 h + 32 k + r: low nibble in ql[64 h + 32 (k % 2) + r] (high nibble
        // for k >= 2), top bits at bits 2k of qh[32 h + r].
        let first = 16u * s;
        let h = first >> 7u;
        let k = (first >> 5u) & 3u;
        let r = first & 31u;
        let ql = 64u * h + 32u * (k & 1u) + r;
        let qh = 128u + 32u * h + r;
        for (var l = 0u; l < 16u; l++) {
            let level = u32(clamp(round(x[x_base + first + l] * inv), -32.0, 31.0) + 32.0) & 63u;
            bytes[ql + l] |= (level & 15u) << (4u * (k >> 1u));
            bytes[qh + l] |= (level >> 4u) << (2u * k);
        }
    }
    return bytes;
}
