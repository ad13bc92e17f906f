// ggml Q2_K decoder: `{ u8 scales[16]; u8 qs[64]; f16 d; f16 dmin }`, 256 elements in 16 sub-blocks of
// 16. scales[i]: sub-block i's 4-bit scale (low nibble) and 4-bit min (high nibble). Element 32k + r of
// each 128-element half is bits 2k..2k+2 of byte r of the half's 32 bytes of qs.
// Value = d * scale * q - dmin * min.

const W_BLOCK: u32 = 256u;
const W_BLOCK_BYTES: u32 = 84u;

// The 4 bytes at byte `byte` of `w`. Q2_K blocks are 84 bytes, so they start on a word wherever the
// tensor does: the second word is read only otherwise.
fn q2k_word(byte: u32) -> u32 {
    let i = byte >> 2u;
    let lo = w[i];
    if ((byte & 3u) == 0u) {
        return lo;
    }
    return unaligned_word(lo, w[i + 1u], byte);
}

// Four bytes of `q` as f32 levels, times `scale`, minus `offset`.
fn q2k_scaled(q: u32, scale: f32, offset: f32) -> vec4<f32> {
    return bytes_minus(q, 0.0) * scale - offset;
}

// (scale, min) of elements 8j .. 8j+7 (sub-block j / 2): d * scale and dmin * min.
fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    let sb = block_byte + (j >> 1u); // the sub-block's scale byte
    let sm = byte_of(w[sb >> 2u], sb & 3u);
    let dm = unpack2x16float(q2k_word(block_byte + 80u));
    return dm * vec2<f32>(f32(sm & 15u), f32(sm >> 4u));
}

// Integer decoder (dot4 kernels): the levels 0..3; value = scale * q - min (w_scale8).
const W_I8_MIN: bool = true;

fn w_decode8_i8(block_byte: u32, j: u32) -> vec2<u32> {
    let q = block_byte + 16u + 32u * (j >> 4u) + 8u * (j & 3u);
    let shift = 2u * ((j >> 2u) & 3u);
    return (vec2<u32>(q2k_word(q), q2k_word(q + 4u)) >> vec2<u32>(shift)) & vec2<u32>(0x03030303u);
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let sm = w_scale8(block_byte, j);
    let q = w_decode8_i8(block_byte, j);
    return array<vec4<f32>, 2>(q2k_scaled(q.x, sm.x, sm.y), q2k_scaled(q.y, sm.x, sm.y));
}
