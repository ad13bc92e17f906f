// Q5_0 encoder (ggml's quantize_row_q5_0_ref): d = (value of largest magnitude) / -16,
// q = min(31, trunc(x / d + 16.5)); the fifth bits go to qh.

fn w_encode(x_base: u32) -> array<u32, W_BLOCK_BYTES> {
    var out: array<u32, W_BLOCK_BYTES>;
    var amax = 0.0;
    var max = 0.0;
    for (var i = 0u; i < 32u; i++) {
        let v = x[x_base + i];
        if (abs(v) > amax) {
            amax = abs(v);
            max = v;
        }
    }
    let d = max / -16.0;
    let id = select(0.0, 1.0 / d, d != 0.0);
    let bits = f16_bits(d);
    out[0] = bits & 0xffu;
    out[1] = bits >> 8u;
    var qh = 0u;
    for (var j = 0u; j < 16u; j++) {
        let q0 = min(31u, u32(x[x_base + j] * id + 16.5));
        let q1 = min(31u, u32(x[x_base + j + 16u] * id + 16.5));
        out[6u + j] = (q0 & 15u) | ((q1 & 15u) << 4u);
        qh |= ((q0 >> 4u) << j) | ((q1 >> 4u) << (j + 16u));
    }
    for (var b = 0u; b < 4u; b++) {
        out[2u + b] = byte_of(qh, b);
    }
    return out;
}
