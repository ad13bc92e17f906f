// Q5_1 encoder (ggml's quantize_row_q5_1_ref): m = min, d = (max - min) / 31,
// q = min(31, trunc((x - m) / d + 0.5)); the fifth bits go to qh.

fn w_encode(x_base: u32) -> array<u32, W_BLOCK_BYTES> {
    var out: array<u32, W_BLOCK_BYTES>;
    var lo = 3.40282347e38;
    var hi = -3.40282347e38;
    for (var i = 0u; i < 32u; i++) {
        let v = x[x_base + i];
        lo = min(lo, v);
        hi = max(hi, v);
    }
    let d = (hi - lo) / 31.0;
    let id = select(0.0, 1.0 / d, d != 0.0);
    let dm = pack_f16(d, lo);
    var qh = 0u;
    for (var j = 0u; j < 16u; j++) {
        let q0 = min(31u, u32((x[x_base + j] - lo) * id + 0.5));
        let q1 = min(31u, u32((x[x_base + j + 16u] - lo) * id + 0.5));
        out[8u + j] = (q0 & 15u) | ((q1 & 15u) << 4u);
        qh |= ((q0 >> 4u) << j) | ((q1 >> 4u) << (j + 16u));
    }
    for (var b = 0u; b < 4u; b++) {
        out[b] = byte_of(dm, b);
        out[4u + b] = byte_of(qh, b);
    }
    return out;
}
