// Q8_0 decoder: { f16 d; i8 qs[32] }, 34 bytes, 32 elements; value = q * d. Blocks start at even
// bytes only.

const W_BLOCK: u32 = 32u;
const W_BLOCK_BYTES: u32 = 34u;

fn q8_0_bytes(byte: u32) -> u32 {
    let i = byte >> 2u;
    let s = 8u * (byte & 3u);
    if (s == 0u) {
        return w[i];
    }
    return (w[i] >> s) | (w[i + 1u] << (32u - s));
}

// The 4 signed bytes of `q` as floats.
fn q8_0_four(q: u32) -> vec4<f32> {
    return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(q) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let d = f16_of(w[block_byte >> 2u], (block_byte >> 1u) & 1u);
    let at = block_byte + 2u + 8u * j;
    return array<vec4<f32>, 2>(q8_0_four(q8_0_bytes(at)) * d, q8_0_four(q8_0_bytes(at + 4u)) * d);
}
