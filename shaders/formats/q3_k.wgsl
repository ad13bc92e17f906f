// ggml Q3_K decoder: `{ u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d }`, 256 elements in 16 sub-blocks
// of 16. Low two bits of each quant packed as Q2_K; the third bit of element e is bit e / 32 of
// hmask[e % 32] (clear: minus 4, so q is in -4..4). Six-bit scales (offset by 32): low nibbles of
// scales 0..8 in the low nibbles of bytes 0..8, of scales 8..16 in their high nibbles; the top two
// bits of scale i in bits 2 (i / 4) of byte 8 + i % 4. Value = d * (scale - 32) * q.

const W_BLOCK: u32 = 256u;
const W_BLOCK_BYTES: u32 = 110u;

// The 8 bytes at byte `byte` of `w` (blocks of 110 bytes start at any even byte): three loads, no branch.
// Every 8-byte read of this decoder ends at least 4 bytes before the block does, so the third word
// never lies past the buffer.
fn q3k_words2(byte: u32) -> vec2<u32> {
    let i = byte >> 2u;
    let a = w[i];
    let b = w[i + 1u];
    let c = w[i + 2u];
    return vec2<u32>(unaligned_word(a, b, byte), unaligned_word(b, c, byte));
}

// The byte at `byte` of `w`.
fn q3k_byte(byte: u32) -> u32 {
    return byte_of(w[byte >> 2u], byte & 3u);
}

// Four bytes of `q` as f32 levels 0..8, minus 4, times `scale`.
fn q3k_scaled(q: u32, scale: f32) -> vec4<f32> {
    return bytes_minus(q, 4.0) * scale;
}

// Levels 0..8 (q + 4) of elements 8j .. 8j+7, one per byte.
fn q3k_levels(block_byte: u32, j: u32) -> vec2<u32> {
    let half = j >> 4u; // 128-element half
    let k = (j >> 2u) & 3u; // 2-bit plane inside the half
    let l0 = 8u * (j & 3u); // first byte inside the half's 32
    let hm = q3k_words2(block_byte + l0);
    let qs = q3k_words2(block_byte + 32u + 32u * half + l0);
    let hb = 4u * half + k;
    let low = (qs >> vec2<u32>(2u * k)) & vec2<u32>(0x03030303u);
    return low | (((hm >> vec2<u32>(hb)) & vec2<u32>(0x01010101u)) << vec2<u32>(2u));
}

// (scale, 0) of elements 8j .. 8j+7 (sub-block j / 2): d * (scale - 32).
fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    let sub = j >> 1u; // sub-block of 16
    let low = (q3k_byte(block_byte + 96u + (sub & 7u)) >> (4u * (sub >> 3u))) & 15u;
    let high = (q3k_byte(block_byte + 104u + (sub & 3u)) >> (2u * (sub >> 2u))) & 3u;
    // d: an f16 at an even byte, so inside one word.
    let db = block_byte + 108u;
    let d = unpack2x16float(w[db >> 2u] >> (8u * (db & 3u))).x;
    return vec2<f32>(d * f32(i32(low | (high << 4u)) - 32), 0.0);
}

// Integer decoder (dot4 kernels): q in -4..3 per byte; (b + 0x7c) ^ 0x80 subtracts 4 without borrows.
const W_I8_MIN: bool = false;

fn w_decode8_i8(block_byte: u32, j: u32) -> vec2<u32> {
    return (q3k_levels(block_byte, j) + vec2<u32>(0x7c7c7c7cu)) ^ vec2<u32>(0x80808080u);
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let scale = w_scale8(block_byte, j).x;
    let q = q3k_levels(block_byte, j);
    return array<vec4<f32>, 2>(q3k_scaled(q.x, scale), q3k_scaled(q.y, scale));
}
