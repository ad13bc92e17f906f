// IQ1_S decoder: { f16 d; u8 qs[32]; u16 qh[8] }, 50 bytes, 256 elements. Group j (l = j % 4 of
// sub-block ib) is the iq1s_grid point qs[j] | (bits 3l..3l+3 of qh[ib]) << 8; qh[ib] also holds
// the sub-block's 3-bit scale n (bits 12..15) and the shift's sign (bit 15: -1/8, else +1/8);
// value = d · (2n + 1) · (g ± 1/8). Glued after lattice.wgsl, before
// lattice_shifted.wgsl.

const W_BLOCK_BYTES: u32 = 50u;

fn iq1s_qh(block_byte: u32, j: u32) -> u32 {
    return lat_u16(block_byte + 34u + 2u * (j >> 2u));
}

fn lat_shifted8(block_byte: u32, j: u32) -> array<vec4<i32>, 2> {
    let qh = iq1s_qh(block_byte, j);
    let index = lat_byte(block_byte + 2u + j) | (((qh >> (3u * (j & 3u))) & 7u) << 8u);
    let shift = select(1, -1, (qh & 0x8000u) != 0u);
    return array<vec4<i32>, 2>(lat_shifted4(code_book[2u * index], shift), lat_shifted4(code_book[2u * index + 1u], shift));
}

// (d · (2n + 1) / 8, 0): the scale of 8g ± 1.
fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    let n = (iq1s_qh(block_byte, j) >> 12u) & 7u;
    return vec2<f32>(lat_f16(block_byte) * f32(2u * n + 1u) * 0.125, 0.0);
}
