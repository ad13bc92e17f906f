// TQ2_0 encoder (ggml's quantize_row_tq2_0_ref): d = amax, levels round(x / d) + 1 (halves away
// from zero, as lroundf), four to a byte in the decoder's order.

// round(t) with halves away from zero, exactly (t - trunc(t) is exact; floor(|t| + 0.5) is not
// below 0.5).
fn tq2_round(t: f32) -> f32 {
    let r = trunc(t);
    return r + select(0.0, sign(t), abs(t - r) >= 0.5);
}

fn w_encode(x_base: u32) -> array<u32, W_BLOCK_BYTES> {
    var out: array<u32, W_BLOCK_BYTES>;
    var amax = 0.0;
    for (var i = 0u; i < W_BLOCK; i++) {
        amax = max(amax, abs(x[x_base + i]));
    }
    let id = select(0.0, 1.0 / amax, amax != 0.0);
    for (var i = 0u; i < W_BLOCK; i++) {
        let q = u32(i32(tq2_round(x[x_base + i] * id)) + 1) & 3u;
        out[32u * (i >> 7u) + (i & 31u)] |= q << (2u * ((i >> 5u) & 3u));
    }
    let bits = f16_bits(amax);
    out[64] = bits & 0xffu;
    out[65] = bits >> 8u;
    return out;
}
