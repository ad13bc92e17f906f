// IQ2_S decoder: { f16 d; u8 qs[64]; u8 qh[8]; u8 scales[8] }, 82 bytes, 256 elements. Group j
// (l = j % 4 of sub-block ib) has the 10-bit iq2s_grid index qs[j] | (bits 2l..2l+2 of qh[ib]) << 8
// and the sign byte qs[32 + j]; scales as IQ2_XS; value = d · (0.5 + ls) / 4 · ±magnitude.
// Glued after lattice.wgsl, before lattice_signed.wgsl.

const W_BLOCK_BYTES: u32 = 82u;

fn lat_point(block_byte: u32, j: u32) -> vec3<u32> {
    let high = lat_byte(block_byte + 66u + (j >> 2u)) << (8u - 2u * (j & 3u));
    let index = lat_byte(block_byte + 2u + j) | (high & 0x300u);
    return vec3<u32>(code_book[2u * index], code_book[2u * index + 1u], lat_byte(block_byte + 34u + j));
}

fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    let ls = (lat_byte(block_byte + 74u + (j >> 2u)) >> (4u * ((j >> 1u) & 1u))) & 15u;
    return vec2<f32>(lat_f16(block_byte) * (0.5 + f32(ls)) * 0.25, 0.0);
}
