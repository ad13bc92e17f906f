// IQ2_XS decoder: { f16 d; u16 qs[32]; u8 scales[8] }, 74 bytes, 256 elements. Group j is qs[j]:
// a 9-bit iq2xs_grid index and a 7-bit sign index; each 16 elements have a 4-bit scale ls (low
// nibble of scales[ib] for the first 16 of sub-block ib); value = d · (0.5 + ls) / 4 · ±magnitude.
// Glued after lattice.wgsl, before lattice_signed.wgsl.

const W_BLOCK_BYTES: u32 = 74u;

fn lat_point(block_byte: u32, j: u32) -> vec3<u32> {
    let q = lat_u16(block_byte + 2u + 2u * j);
    let index = q & 511u;
    return vec3<u32>(code_book[2u * index], code_book[2u * index + 1u], lat_ksigns(q >> 9u));
}

fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    let ls = (lat_byte(block_byte + 66u + (j >> 2u)) >> (4u * ((j >> 1u) & 1u))) & 15u;
    return vec2<f32>(lat_f16(block_byte) * (0.5 + f32(ls)) * 0.25, 0.0);
}
