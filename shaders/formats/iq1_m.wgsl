// IQ1_M decoder: { u8 qs[32]; u8 qh[16]; u8 scales[8] }, 56 bytes, 256 elements. The f16
// super-scale d is the top nibbles of the four u16 of `scales` (lowest first); each 16 elements
// have a 3-bit scale n (bits 6(ib % 2) + 3h of the u16 ib / 2, h the half of sub-block ib); group
// j's nibble of qh (nibble j % 2 of qh[j / 2]) gives 3 high index bits and the shift's sign (bit 3:
// -1/8, else +1/8) of the iq1s_grid point qs[j] | high << 8; value = d · (2n + 1) · (g ± 1/8).
// Glued after lattice.wgsl, before lattice_shifted.wgsl.

const W_BLOCK_BYTES: u32 = 56u;

fn iq1m_d(block_byte: u32) -> f32 {
    let s0 = lat_u16(block_byte + 48u);
    let s1 = lat_u16(block_byte + 50u);
    let s2 = lat_u16(block_byte + 52u);
    let s3 = lat_u16(block_byte + 54u);
    return unpack2x16float((s0 >> 12u) | ((s1 >> 8u) & 0xf0u) | ((s2 >> 4u) & 0xf00u) | (s3 & 0xf000u)).x;
}

fn lat_shifted8(block_byte: u32, j: u32) -> array<vec4<i32>, 2> {
    let nibble = (lat_byte(block_byte + 32u + (j >> 1u)) >> (4u * (j & 1u))) & 15u;
    let index = lat_byte(block_byte + j) | ((nibble & 7u) << 8u);
    let shift = select(1, -1, (nibble & 8u) != 0u);
    return array<vec4<i32>, 2>(lat_shifted4(code_book[2u * index], shift), lat_shifted4(code_book[2u * index + 1u], shift));
}

// (d · (2n + 1) / 8, 0): the scale of 8g ± 1.
fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    let ib = j >> 2u;
    let sc = lat_u16(block_byte + 48u + 2u * (ib >> 1u));
    let n = (sc >> (6u * (ib & 1u) + 3u * ((j >> 1u) & 1u))) & 7u;
    return vec2<f32>(iq1m_d(block_byte) * f32(2u * n + 1u) * 0.125, 0.0);
}
