// TQ2_0 encoder, glued after ternary_encode.wgsl: levels four to a byte in the decoder's order.

fn ternary_pack(out: ptr<function, array<u32, W_BLOCK_BYTES>>, x_base: u32, id: f32) {
    for (var i = 0u; i < W_BLOCK; i++) {
        let q = ternary_level(x[x_base + i] * id) & 3u;
        (*out)[32u * (i >> 7u) + (i & 31u)] |= q << (2u * ((i >> 5u) & 3u));
    }
}
