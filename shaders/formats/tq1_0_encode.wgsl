// TQ1_0 encoder (ggml's quantize_row_tq1_0_ref): d = amax, levels round(x / d) + 1 (halves away
// from zero, as lroundf); each byte's digits (five in qs, four in qh, in the decoder's order) as
// a base-3 number v, most significant first, the qh ones times 3, stored as ceil(v * 256 / 243).

// round(t) with halves away from zero, exactly (t - trunc(t) is exact; floor(|t| + 0.5) is not
// below 0.5).
fn tq1_round(t: f32) -> f32 {
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
    for (var b = 0u; b < 52u; b++) {
        // Element of digit 0 and the step between digits (see the decoder).
        var at = vec2<u32>(b, 32u);
        if (b >= 48u) {
            at = vec2<u32>(240u + b - 48u, 4u);
        } else if (b >= 32u) {
            at = vec2<u32>(160u + b - 32u, 16u);
        }
        var v = 0u;
        for (var n = 0u; n < 5u; n++) {
            // qh bytes hold four digits: a fifth digit 0 is the same as v * 3.
            var t = 0u;
            if (b < 48u || n < 4u) {
                t = u32(i32(tq1_round(x[x_base + at.x + n * at.y] * id)) + 1);
            }
            v = 3u * v + t;
        }
        out[b] = (256u * v + 242u) / 243u;
    }
    let bits = f16_bits(amax);
    out[52] = bits & 0xffu;
    out[53] = bits >> 8u;
    return out;
}
