// Plain f16 weights (elements 2i, 2i+1 in word i of `w`, low half first), for the kernels that
// take a float matrix.

// Element `i` of `w`.
fn w_elem(i: u32) -> f32 {
    return f16_of(w[i >> 1u], i & 1u);
}

// Elements k0 .. k0+7 of row `row` of a [rows, k] matrix (0 from column k on).
fn w_load8(row: u32, k0: u32, k: u32) -> array<vec4<f32>, 2> {
    let base = row * k + k0;
    if (k0 + 8u <= k && (base & 1u) == 0u) {
        let i = base >> 1u;
        return array<vec4<f32>, 2>(
            vec4<f32>(unpack2x16float(w[i]), unpack2x16float(w[i + 1u])),
            vec4<f32>(unpack2x16float(w[i + 2u]), unpack2x16float(w[i + 3u])));
    }
    var v = array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));
    for (var i = 0u; i < 8u && k0 + i < k; i++) {
        v[i >> 2u][i & 3u] = w_elem(base + i);
    }
    return v;
}
