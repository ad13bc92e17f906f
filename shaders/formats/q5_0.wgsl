// Q5_0 decoder: { f16 d; u8 qh[4]; u8 qs[16] }, 22 bytes, 32 elements. Low four bits as Q4_0's
// nibbles; bit e of the little-endian u32 qh is the fifth bit of element e; value = (q - 16) * d.

const W_BLOCK: u32 = 32u;
const W_BLOCK_BYTES: u32 = 22u;

fn q5_0_bytes(byte: u32) -> u32 {
    let i = byte >> 2u;
    let s = 8u * (byte & 3u);
    if (s == 0u) {
        return w[i];
    }
    return (w[i] >> s) | (w[i + 1u] << (32u - s));
}

// Elements 8j+4h .. 8j+4h+3: nibbles at bit `s` of `q`, fifth bits from `qh`.
fn q5_0_four(q: u32, s: u32, qh: u32, e: u32) -> vec4<f32> {
    let lo = (vec4<u32>(q) >> vec4<u32>(s, s + 8u, s + 16u, s + 24u)) & vec4<u32>(15u);
    let hi = ((vec4<u32>(qh) >> vec4<u32>(e, e + 1u, e + 2u, e + 3u)) & vec4<u32>(1u)) << vec4<u32>(4u);
    return vec4<f32>(lo | hi) - 16.0;
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let d = f16_of(w[block_byte >> 2u], (block_byte >> 1u) & 1u);
    let qh = q5_0_bytes(block_byte + 2u);
    let s = 4u * (j >> 1u);
    let at = block_byte + 6u + 8u * (j & 1u);
    let lo = q5_0_four(q5_0_bytes(at), s, qh, 8u * j);
    let hi = q5_0_four(q5_0_bytes(at + 4u), s, qh, 8u * j + 4u);
    return array<vec4<f32>, 2>(lo * d, hi * d);
}
