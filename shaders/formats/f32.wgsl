// Plain f32 weights (one element per word of `w`), for the kernels that take a float matrix.

// Element `i` of `w`.
fn w_elem(i: u32) -> f32 {
    return bitcast<f32>(w[i]);
}

// Elements k0 .. k0+7 of row `row` of a [rows, k] matrix (0 from column k on).
fn w_load8(row: u32, k0: u32, k: u32) -> array<vec4<f32>, 2> {
    let base = row * k + k0;
    if (k0 + 8u <= k) {
        return array<vec4<f32>, 2>(
            bitcast<vec4<f32>>(vec4<u32>(w[base], w[base + 1u], w[base + 2u], w[base + 3u])),
            bitcast<vec4<f32>>(vec4<u32>(w[base + 4u], w[base + 5u], w[base + 6u], w[base + 7u])));
    }
    var v = array<vec4<f32>, 2>(vec4<f32>(0.0), vec4<f32>(0.0));
    for (var i = 0u; i < 8u && k0 + i < k; i++) {
        v[i >> 2u][i & 3u] = w_elem(base + i);
    }
    return v;
}
