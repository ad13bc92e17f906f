// Q5_1 decoder: { f16 d; f16 m; u8 qh[4]; u8 qs[16] }, 24 bytes (word aligned), 32 elements.
// Low four bits as Q4_0's nibbles; bit e of qh is the fifth bit of element e; value = q * d + m.

const W_BLOCK: u32 = 32u;
const W_BLOCK_BYTES: u32 = 24u;

fn q5_1_four(q: u32, s: u32, qh: u32, e: u32) -> vec4<f32> {
    let lo = (vec4<u32>(q) >> vec4<u32>(s, s + 8u, s + 16u, s + 24u)) & vec4<u32>(15u);
    let hi = ((vec4<u32>(qh) >> vec4<u32>(e, e + 1u, e + 2u, e + 3u)) & vec4<u32>(1u)) << vec4<u32>(4u);
    return vec4<f32>(lo | hi);
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let i = block_byte >> 2u;
    let dm = unpack2x16float(w[i]);
    let qh = w[i + 1u];
    let s = 4u * (j >> 1u);
    let at = i + 2u + 2u * (j & 1u);
    let lo = q5_1_four(w[at], s, qh, 8u * j);
    let hi = q5_1_four(w[at + 1u], s, qh, 8u * j + 4u);
    return array<vec4<f32>, 2>(lo * dm.x + dm.y, hi * dm.x + dm.y);
}
