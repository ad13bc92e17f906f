// IQ4_NL encoder: d = (value of largest magnitude) / -127 (the first table level), each value the
// nearest table level. Simpler than ggml's scale search, and within a half level step (at most
// 12/127 of the block's largest magnitude) of the input.

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
    let d = select(max / -127.0, 0.0, amax < 1e-15);
    let id = select(0.0, 1.0 / d, d != 0.0);
    let bits = f16_bits(d);
    out[0] = bits & 0xffu;
    out[1] = bits >> 8u;
    for (var j = 0u; j < 16u; j++) {
        let q0 = iq4_nl_nearest(x[x_base + j] * id);
        let q1 = iq4_nl_nearest(x[x_base + j + 16u] * id);
        out[2u + j] = q0 | (q1 << 4u);
    }
    return out;
}

// The index of the table level nearest to `t` (the first of two equally near).
fn iq4_nl_nearest(t: f32) -> u32 {
    var best = 0u;
    var err = 1e30;
    for (var c = 0u; c < 16u; c += 4u) {
        let e = abs(iq4_nl_values(vec4<u32>(c, c + 1u, c + 2u, c + 3u)) - t);
        for (var i = 0u; i < 4u; i++) {
            if (e[i] < err) {
                err = e[i];
                best = c + i;
            }
        }
    }
    return best;
}
