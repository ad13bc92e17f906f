// IQ3_XXS decoder: { f16 d; u8 qs[64]; u32 scales_and_signs[8] }, 98 bytes, 256 elements. Group j
// is two 4-magnitude iq3xxs_grid points, indexed by qs[2j] and qs[2j + 1]; the u32 of sub-block ib
// holds the groups' 7-bit sign indices (bits 7l..7l+7) and the scale ls (top 4 bits);
// value = d · (0.5 + ls) / 2 · ±magnitude. Glued after lattice.wgsl, before
// lattice_signed.wgsl.

const W_BLOCK_BYTES: u32 = 98u;

fn iq3xxs_aux(block_byte: u32, j: u32) -> u32 {
    return lat_u32(block_byte + 66u + 4u * (j >> 2u));
}

fn lat_point(block_byte: u32, j: u32) -> vec3<u32> {
    let q = lat_u16(block_byte + 2u + 2u * j);
    let signs = lat_ksigns((iq3xxs_aux(block_byte, j) >> (7u * (j & 3u))) & 127u);
    return vec3<u32>(code_book[q & 0xffu], code_book[q >> 8u], signs);
}

fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    let ls = iq3xxs_aux(block_byte, j) >> 28u;
    return vec2<f32>(lat_f16(block_byte) * (0.5 + f32(ls)) * 0.5, 0.0);
}
