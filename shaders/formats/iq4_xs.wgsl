// IQ4_XS decoder: { f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128] }, 136 bytes (so blocks start
// on a word wherever the tensor does), 256 elements in 8 sub-blocks of 32. Sub-block ib has the
// 6-bit scale ls = nibble ib of scales_l | (bits 2ib..2ib+2 of scales_h) << 4 and quant bytes
// qs[16ib .. 16ib+16] in IQ4_NL's nibble order; value = d * (ls - 32) * kvalues_iq4nl[q].
// Glued after codebook4.wgsl.

const W_BLOCK: u32 = 256u;
const W_BLOCK_BYTES: u32 = 136u;

// d * (ls - 32) of sub-block `ib`.
fn iq4_xs_scale(block_byte: u32, ib: u32) -> f32 {
    let head = w[block_byte >> 2u];
    let low = (w[(block_byte >> 2u) + 1u] >> (4u * ib)) & 15u;
    let high = (head >> (16u + 2u * ib)) & 3u;
    return unpack2x16float(head).x * f32(i32(low | (high << 4u)) - 32);
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let ib = j >> 2u;
    return codebook_decode8(block_byte + 8u + 16u * ib, j & 3u, IQ4NL_TABLE, iq4_xs_scale(block_byte, ib));
}

// Integer decoder (dot4 kernels): the table values as signed bytes.
const W_I8_MIN: bool = false;

fn w_decode8_i8(block_byte: u32, j: u32) -> vec2<u32> {
    return codebook_decode8_i8(block_byte + 8u + 16u * (j >> 2u), j & 3u, IQ4NL_TABLE);
}

fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    return vec2<f32>(iq4_xs_scale(block_byte, j >> 2u), 0.0);
}
