// Q4_1 decoder: { f16 d; f16 m; u8 qs[16] }, 20 bytes (word aligned), 32 elements, nibble order as
// Q4_0; value = q * d + m.

const W_BLOCK: u32 = 32u;
const W_BLOCK_BYTES: u32 = 20u;

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let i = block_byte >> 2u;
    let dm = unpack2x16float(w[i]);
    let s = 4u * (j >> 1u);
    let sh = vec4<u32>(s, s + 8u, s + 16u, s + 24u);
    let at = i + 1u + 2u * (j & 1u);
    let lo = vec4<f32>((vec4<u32>(w[at]) >> sh) & vec4<u32>(15u));
    let hi = vec4<f32>((vec4<u32>(w[at + 1u]) >> sh) & vec4<u32>(15u));
    return array<vec4<f32>, 2>(lo * dm.x + dm.y, hi * dm.x + dm.y);
}
