// IQ2_XXS decoder: { f16 d; u16 qs[32] }, 66 bytes, 256 elements. Sub-block ib is the 8 bytes at
// 2 + 8ib: bytes 0..3 index iq2xxs_grid for its four groups, and the u32 after them holds the
// groups' 7-bit sign indices (bits 7l..7l+7) and the scale ls (top 4 bits);
// value = d · (0.5 + ls) / 4 · ±magnitude. Glued after lattice.wgsl,
// before lattice_signed.wgsl.

const W_BLOCK_BYTES: u32 = 66u;

fn iq2xxs_aux(block_byte: u32, j: u32) -> u32 {
    return lat_u32(block_byte + 6u + 8u * (j >> 2u));
}

fn lat_point(block_byte: u32, j: u32) -> vec3<u32> {
    let index = lat_byte(block_byte + 2u + 8u * (j >> 2u) + (j & 3u));
    let signs = lat_ksigns((iq2xxs_aux(block_byte, j) >> (7u * (j & 3u))) & 127u);
    return vec3<u32>(code_book[2u * index], code_book[2u * index + 1u], signs);
}

fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    let ls = iq2xxs_aux(block_byte, j) >> 28u;
    return vec2<f32>(lat_f16(block_byte) * (0.5 + f32(ls)) * 0.25, 0.0);
}
