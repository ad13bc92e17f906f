// The decoder tail of the shifted ternary lattice formats (IQ1_S, IQ1_M): each format's part
// defines `lat_shifted8(block_byte, j) -> array<vec4<i32>, 2>` (group j as 8g ± 1, g the
// code-book point's coordinates in {-1, 0, 1}) and `w_scale8` (the sub-block scale / 8), so that
// value = scale · (8g ± 1) = sub-block scale · (g ± 1/8), as ggml computes it.

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let v = lat_shifted8(block_byte, j);
    let scale = w_scale8(block_byte, j).x;
    return array<vec4<f32>, 2>(vec4<f32>(v[0]) * scale, vec4<f32>(v[1]) * scale);
}

// Integer decoder (dot4 kernels): 8g ± 1 (-9..9) as signed bytes.
const W_I8_MIN: bool = false;

fn w_decode8_i8(block_byte: u32, j: u32) -> vec2<u32> {
    let v = lat_shifted8(block_byte, j);
    return vec2<u32>(lat_pack_i8(v[0]), lat_pack_i8(v[1]));
}
