// Q4_0 decoder: { f16 d; u8 qs[16] }, 18 bytes, 32 elements. Element e < 16 is the low nibble of
// qs[e], element e + 16 its high nibble; value = (q - 8) * d. Blocks start at even bytes only.

const W_BLOCK: u32 = 32u;
const W_BLOCK_BYTES: u32 = 18u;

// The 4 bytes of `w` from byte `byte` on (the second word is read only when they straddle two).
fn q4_0_bytes(byte: u32) -> u32 {
    let i = byte >> 2u;
    let s = 8u * (byte & 3u);
    if (s == 0u) {
        return w[i];
    }
    return (w[i] >> s) | (w[i + 1u] << (32u - s));
}

// Nibbles at bit `s` (0 or 4) of the 4 bytes in `q`, as floats.
fn q4_0_nibbles(q: u32, s: u32) -> vec4<f32> {
    return vec4<f32>((vec4<u32>(q) >> vec4<u32>(s, s + 8u, s + 16u, s + 24u)) & vec4<u32>(15u));
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let d = f16_of(w[block_byte >> 2u], (block_byte >> 1u) & 1u);
    let s = 4u * (j >> 1u);
    let at = block_byte + 2u + 8u * (j & 1u);
    let lo = (q4_0_nibbles(q4_0_bytes(at), s) - 8.0) * d;
    let hi = (q4_0_nibbles(q4_0_bytes(at + 4u), s) - 8.0) * d;
    return array<vec4<f32>, 2>(lo, hi);
}
