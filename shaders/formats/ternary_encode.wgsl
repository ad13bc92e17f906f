// The part the TQ1_0 and TQ2_0 encoders share (ggml's quantize_row_tq*_ref): d = amax, levels
// round(x / d) + 1 with halves away from zero (as lroundf), d as f16 in the block's last two
// bytes. Each format defines `ternary_pack(out, x_base, id)`: its level bytes, from the
// elements at `x_base` times `id` = 1 / d (0 for an all-zero block).

// round(t) with halves away from zero, exactly (t - trunc(t) is exact; floor(|t| + 0.5) is not
// below 0.5).
fn ternary_round(t: f32) -> f32 {
    let r = trunc(t);
    return r + select(0.0, sign(t), abs(t - r) >= 0.5);
}

// The level 0..2 of `t` = x / d.
fn ternary_level(t: f32) -> u32 {
    return u32(i32(ternary_round(t)) + 1);
}

fn w_encode(x_base: u32) -> array<u32, W_BLOCK_BYTES> {
    var out: array<u32, W_BLOCK_BYTES>;
    var amax = 0.0;
    for (var i = 0u; i < W_BLOCK; i++) {
        amax = max(amax, abs(x[x_base + i]));
    }
    ternary_pack(&out, x_base, select(0.0, 1.0 / amax, amax != 0.0));
    let bits = f16_bits(amax);
    out[W_BLOCK_BYTES - 2u] = bits & 0xffu;
    out[W_BLOCK_BYTES - 1u] = bits >> 8u;
    return out;
}
