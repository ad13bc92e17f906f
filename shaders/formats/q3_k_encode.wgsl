// Q3_K encoder (uses the decoder part's constants). Not ggml's search: each 16-value sub-block gets the
// smallest signed step whose levels -4..3 cover [min x, max x] (the sign picks which end gets the 4th
// level), its magnitude rounded UP to the 5-bit grid of the largest (f16 d; scales -31..31), then every
// value is rounded to the nearest level: the error stays within half a final step.

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
        // A positive step covers [-4 step, 3 step], a negative one [-3 |step|, 4 |step|].
        let positive = max(max(-lo / 4.0, hi / 3.0), 0.0);
        let negative = max(max(-lo / 3.0, hi / 4.0), 0.0);
        steps[s] = select(positive, -negative, negative < positive);
        max_step = max(max_step, abs(steps[s]));
    }
    let d_bits = f16_bits(max_step / 31.0);
    let d = unpack2x16float(d_bits).x;
    let inv_d = select(0.0, 1.0 / d, d > 0.0);
    bytes[108] = d_bits & 0xffu;
    bytes[109] = d_bits >> 8u;
    for (var s = 0u; s < 16u; s++) {
        let scale = sign(steps[s]) * min(ceil(abs(steps[s]) * inv_d), 31.0);
        let stored = u32(i32(scale) + 32); // 1..63
        bytes[96u + (s & 7u)] |= (stored & 15u) << (4u * (s >> 3u));
        bytes[104u + (s & 3u)] |= (stored >> 4u) << (2u * (s >> 2u));
        let dl = d * scale;
        let inv = select(0.0, 1.0 / dl, dl != 0.0);
        // Element e = 16s + l: low bits at bits 2k of qs byte e % 32 of half e / 128 (k = e % 128 / 32),
        // third bit at bit e / 32 of hmask[e % 32].
        let first = 16u * s;
        let q = 32u + 32u * (first >> 7u) + (first & 31u);
        let shift = 2u * ((first >> 5u) & 3u);
        let hbit = first >> 5u;
        for (var l = 0u; l < 16u; l++) {
            let level = u32(clamp(round(x[x_base + first + l] * inv), -4.0, 3.0) + 4.0) & 7u;
            bytes[q + l] |= (level & 3u) << shift;
            bytes[(first & 31u) + l] |= (level >> 2u) << hbit;
        }
    }
    return bytes;
}
