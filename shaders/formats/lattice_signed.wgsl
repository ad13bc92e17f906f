// The decoder tail of the signed-point lattice formats (IQ2_*, IQ3_*): each format's part defines
// `lat_point(block_byte, j) -> vec3<u32>` (the 8 magnitudes of group j, elements 0..3 in .x, and
// its sign byte in .z) and `w_scale8`; a value is scale · ±magnitude.

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let p = lat_point(block_byte, j);
    let scale = w_scale8(block_byte, j).x;
    return array<vec4<f32>, 2>(lat_signed4(p.x, p.z) * scale, lat_signed4(p.y, p.z >> 4u) * scale);
}

// Integer decoder (dot4 kernels): the signed magnitudes as bytes.
const W_I8_MIN: bool = false;

fn w_decode8_i8(block_byte: u32, j: u32) -> vec2<u32> {
    let p = lat_point(block_byte, j);
    return vec2<u32>(lat_signed4_i8(p.x, p.z), lat_signed4_i8(p.y, p.z >> 4u));
}
