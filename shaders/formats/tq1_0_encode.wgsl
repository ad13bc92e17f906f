// TQ1_0 encoder, glued after ternary_encode.wgsl: each byte's digits (five in qs, four in qh, in
// the decoder's order) as a base-3 number v, most significant first, the qh ones times 3, stored
// as ceil(v * 256 / 243).

fn ternary_pack(out: ptr<function, array<u32, W_BLOCK_BYTES>>, x_base: u32, id: f32) {
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
                t = ternary_level(x[x_base + at.x + n * at.y] * id);
            }
            v = 3u * v + t;
        }
        (*out)[b] = (256u * v + 242u) / 243u;
    }
}
