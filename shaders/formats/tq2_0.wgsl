// ggml TQ2_0 decoder: `{ u8 qs[64]; f16 d }`, 66 bytes (blocks start at any even byte), 256 ternary
// elements. Element 128h + 32l + m is bits 2l..2l+2 of qs[32h + m], a level q in 0..3 (3 is never
// written); value = (q - 1) * d.

const W_BLOCK: u32 = 256u;
const W_BLOCK_BYTES: u32 = 66u;

// The 8 bytes at byte `byte` of `w`: three loads, no branch. Every 8-byte read of this decoder
// starts at or before byte 56 of the block, so its third word starts at or before byte 64: it
// holds a byte of the block, so it never lies past the buffer.
fn tq2_words2(byte: u32) -> vec2<u32> {
    let i = byte >> 2u;
    let a = w[i];
    let b = w[i + 1u];
    let c = w[i + 2u];
    return vec2<u32>(unaligned_word(a, b, byte), unaligned_word(b, c, byte));
}

// Levels 0..3 of elements 8j .. 8j+7, one per byte.
fn tq2_levels(block_byte: u32, j: u32) -> vec2<u32> {
    let q = tq2_words2(block_byte + 32u * (j >> 4u) + 8u * (j & 3u));
    return (q >> vec2<u32>(2u * ((j >> 2u) & 3u))) & vec2<u32>(0x03030303u);
}

// d: an f16 at an even byte, so inside one word.
fn tq2_d(block_byte: u32) -> f32 {
    let db = block_byte + 64u;
    return f16_of(w[db >> 2u], (db >> 1u) & 1u);
}

// Four levels of `q` as f32, minus 1, times `d`.
fn tq2_scaled(q: u32, d: f32) -> vec4<f32> {
    let b = (vec4<u32>(q) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
    // 2^23 + b as f32 (the byte in the mantissa), minus 2^23 + 1: exact.
    return (bitcast<vec4<f32>>(b | vec4<u32>(0x4b000000u)) - 8388609.0) * d;
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let d = tq2_d(block_byte);
    let q = tq2_levels(block_byte, j);
    return array<vec4<f32>, 2>(tq2_scaled(q.x, d), tq2_scaled(q.y, d));
}

// Integer decoder (dot4 kernels): q - 1 per byte; (b + 0x7f) ^ 0x80 maps 0..3 to -1..2 without
// borrows between bytes.
const W_I8_MIN: bool = false;

fn w_decode8_i8(block_byte: u32, j: u32) -> vec2<u32> {
    return (tq2_levels(block_byte, j) + vec2<u32>(0x7f7f7f7fu)) ^ vec2<u32>(0x80808080u);
}

fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    return vec2<f32>(tq2_d(block_byte), 0.0);
}
