// Q4_0 encoder (ggml's quantize_row_q4_0_ref): d = (value of largest magnitude) / -8,
// q = min(15, trunc(x / d + 8.5)).

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
    let d = max / -8.0;
    let id = select(0.0, 1.0 / d, d != 0.0);
    let bits = f16_bits(d);
    out[0] = bits & 0xffu;
    out[1] = bits >> 8u;
    for (var j = 0u; j < 16u; j++) {
        let q0 = min(15u, u32(x[x_base + j] * id + 8.5));
        let q1 = min(15u, u32(x[x_base + j + 16u] * id + 8.5));
        out[2u + j] = q0 | (q1 << 4u);
    }
    return out;
}
