// Q8_0 encoder (ggml's quantize_row_q8_0_ref): d = amax / 127, q = round(x / d) (halves away
// from zero).

fn w_encode(x_base: u32) -> array<u32, W_BLOCK_BYTES> {
    var out: array<u32, W_BLOCK_BYTES>;
    var amax = 0.0;
    for (var i = 0u; i < 32u; i++) {
        amax = max(amax, abs(x[x_base + i]));
    }
    let d = amax / 127.0;
    let id = select(0.0, 1.0 / d, d != 0.0);
    let bits = f16_bits(d);
    out[0] = bits & 0xffu;
    out[1] = bits >> 8u;
    for (var j = 0u; j < 32u; j++) {
        let t = x[x_base + j] * id;
        let q = i32(sign(t) * floor(abs(t) + 0.5));
        out[2u + j] = bitcast<u32>(q) & 0xffu;
    }
    return out;
}
