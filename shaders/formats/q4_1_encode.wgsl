// Q4_1 encoder (ggml's quantize_row_q4_1_ref): m = min, d = (max - min) / 15,
// q = min(15, trunc((x - m) / d + 0.5)).

fn w_encode(x_base: u32) -> array<u32, W_BLOCK_BYTES> {
    var out: array<u32, W_BLOCK_BYTES>;
    var lo = 3.40282347e38;
    var hi = -3.40282347e38;
    for (var i = 0u; i < 32u; i++) {
        let v = x[x_base + i];
        lo = min(lo, v);
        hi = max(hi, v);
    }
    let d = (hi - lo) / 15.0;
    let id = select(0.0, 1.0 / d, d != 0.0);
    let dm = pack_f16(d, lo);
    for (var b = 0u; b < 4u; b++) {
        out[b] = byte_of(dm, b);
    }
    for (var j = 0u; j < 16u; j++) {
        let q0 = min(15u, u32((x[x_base + j] - lo) * id + 0.5));
        let q1 = min(15u, u32((x[x_base + j + 16u] - lo) * id + 0.5));
        out[4u + j] = q0 | (q1 << 4u);
    }
    return out;
}
