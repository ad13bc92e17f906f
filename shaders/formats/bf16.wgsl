// Plain bf16 weights (elements 2i, 2i+1 in word i of `w`, low half first), for the kernels that
// take a float matrix.

// Element `i` of `w`.
fn w_elem(i: u32) -> f32 {
    return bf16_to_f32(w[i >> 1u] >> (16u * (i & 1u)));
}

// Both bf16 values of a word, low half first.
fn bf16_pair(word: u32) -> vec2<f32> {
    return bitcast<vec2<f32>>(vec2<u32>(word << 16u, word & 0xffff0000u));
}

// Elements k0 .. k0+7 of row `row` of a [rows, k] matrix (0 from column k on).
fn w_load8(row: u32, k0: u32, k: u32) -> array<vec4<f32>, 2> {
    let base = row * k + k0;
    if (k0 + 8u <= k && (base & 1u) == 0u) {
        let i = base >> 1u;
        return array<vec4<f32>, 2>(
            vec4<f32>(bf16_pair(w[i]), bf16_pair(w[i + 1u])),
            vec4<f32>(bf16_pair(w[i + 2u]), bf16_pair(w[i + 3u])));
    }
    var v = array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));
    for (var i = 0u; i < 8u && k0 + i < k; i++) {
        v[i >> 2u][i & 3u] = w_elem(base + i);
    }
    return v;
}
