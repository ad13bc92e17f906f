// IQ3_S decoder: { f16 d; u8 qs[64]; u8 qh[8]; u8 signs[32]; u8 scales[4] }, 110 bytes, 256
// elements. Group j (l = j % 4 of sub-block ib) is two 4-magnitude iq3s_grid points with 9-bit
// indices qs[2j] | (bit 2l of qh[ib]) << 8 and qs[2j + 1] | (bit 2l + 1) << 8, and the sign byte
// signs[j]; sub-block ib has the 4-bit scale n (nibble ib % 2 of scales[ib / 2]);
// value = d · (2n + 1) · ±magnitude. Glued after lattice.wgsl, before
// lattice_signed.wgsl.

const W_BLOCK_BYTES: u32 = 110u;

fn lat_point(block_byte: u32, j: u32) -> vec3<u32> {
    let l = j & 3u;
    let q = lat_u16(block_byte + 2u + 2u * j);
    let qh = lat_byte(block_byte + 66u + (j >> 2u));
    let lo = (q & 0xffu) | ((qh << (8u - 2u * l)) & 256u);
    let hi = (q >> 8u) | ((qh << (7u - 2u * l)) & 256u);
    return vec3<u32>(code_book[lo], code_book[hi], lat_byte(block_byte + 74u + j));
}

fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    let ib = j >> 2u;
    let n = (lat_byte(block_byte + 106u + (ib >> 1u)) >> (4u * (ib & 1u))) & 15u;
    return vec2<f32>(lat_f16(block_byte) * f32(2u * n + 1u), 0.0);
}
