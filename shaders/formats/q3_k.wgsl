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
    let b = (vec4<u32>(q) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(0xffu);
    // 2^23 + b as f32 (the byte in the mantissa), minus 2^23 + 4: exact, and cheaper than an int-to-float
    // conversion on GPUs where those run at a quarter rate.
    return (bitcast<vec4<f32>>(b | vec4<u32>(0x4b000000u)) - 8388612.0) * scale;
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let sub = j >> 1u; // sub-block of 16
    let half = j >> 4u; // 128-element half
    let k = (j >> 2u) & 3u; // 2-bit plane inside the half
    let l0 = 8u * (j & 3u); // first byte inside the half's 32
    let hm = q3k_words2(block_byte + l0);
    let qs = q3k_words2(block_byte + 32u + 32u * half + l0);
    let low = (q3k_byte(block_byte + 96u + (sub & 7u)) >> (4u * (sub >> 3u))) & 15u;
    let high = (q3k_byte(block_byte + 104u + (sub & 3u)) >> (2u * (sub >> 2u))) & 3u;
    // d: an f16 at an even byte, so inside one word.
    let db = block_byte + 108u;
    let d = unpack2x16float(w[db >> 2u] >> (8u * (db & 3u))).x;
    let scale = d * f32(i32(low | (high << 4u)) - 32);
    let hb = 4u * half + k;
    let q0 = ((qs.x >> (2u * k)) & 0x03030303u) | (((hm.x >> hb) & 0x01010101u) << 2u);
    let q1 = ((qs.y >> (2u * k)) & 0x03030303u) | (((hm.y >> hb) & 0x01010101u) << 2u);
    return array<vec4<f32>, 2>(q3k_scaled(q0, scale), q3k_scaled(q1, scale));
}
