// ggml Q6_K decoder: `{ u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d }`, 256 elements in 16 sub-blocks of
// 16. Element 32k + l (k in 0..4) of each 128-element half takes its low nibble from
// ql[l + 32 (k % 2)] of the half's 64 (low nibble for k < 2, high for k >= 2) and its top two bits
// from bits 2k..2k+2 of qh[l] of the half's 32. Value = d * scale * (q - 32).

const W_BLOCK: u32 = 256u;
const W_BLOCK_BYTES: u32 = 210u;

// The 8 bytes at byte `byte` of `w` (blocks of 210 bytes start at any even byte): three loads, no branch.
// Every 8-byte read of this decoder ends at least 4 bytes before the block does, so the third word
// never lies past the buffer.
fn q6k_words2(byte: u32) -> vec2<u32> {
    let i = byte >> 2u;
    let a = w[i];
    let b = w[i + 1u];
    let c = w[i + 2u];
    return vec2<u32>(unaligned_word(a, b, byte), unaligned_word(b, c, byte));
}

// Four bytes of `q` as f32 levels 0..64, minus 32, times `scale`.
fn q6k_scaled(q: u32, scale: f32) -> vec4<f32> {
    return bytes_minus(q, 32.0) * scale;
}

// Levels 0..64 (q + 32) of elements 8j .. 8j+7, one per byte.
fn q6k_levels(block_byte: u32, j: u32) -> vec2<u32> {
    let half = j >> 4u; // 128-element half
    let k = (j >> 2u) & 3u; // 32-element quarter of the half
    let l0 = 8u * (j & 3u);
    let ql = q6k_words2(block_byte + 64u * half + 32u * (k & 1u) + l0);
    let qh = q6k_words2(block_byte + 128u + 32u * half + l0);
    let lo = (ql >> vec2<u32>(4u * (k >> 1u))) & vec2<u32>(0x0f0f0f0fu);
    return lo | (((qh >> vec2<u32>(2u * k)) & vec2<u32>(0x03030303u)) << vec2<u32>(4u));
}

// (scale, 0) of elements 8j .. 8j+7 (sub-block j / 2): d * scale.
fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    let sb = block_byte + 192u + (j >> 1u); // the sub-block's i8 scale
    let sc = sext8(byte_of(w[sb >> 2u], sb & 3u));
    // d: an f16 at an even byte, so inside one word.
    let db = block_byte + 208u;
    let d = unpack2x16float(w[db >> 2u] >> (8u * (db & 3u))).x;
    return vec2<f32>(d * f32(sc), 0.0);
}

// Integer decoder (dot4 kernels): q in -32..31 per byte; (b + 0x60) ^ 0x80 subtracts 32 without
// borrows.
const W_I8_MIN: bool = false;

fn w_decode8_i8(block_byte: u32, j: u32) -> vec2<u32> {
    return (q6k_levels(block_byte, j) + vec2<u32>(0x60606060u)) ^ vec2<u32>(0x80808080u);
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let scale = w_scale8(block_byte, j).x;
    let q = q6k_levels(block_byte, j);
    return array<vec4<f32>, 2>(q6k_scaled(q.x, scale), q6k_scaled(q.y, scale));
}
