// IQ4_NL decoder: { f16 d; u8 qs[16] }, 18 bytes, 32 elements, nibble order as Q4_0; each nibble
// indexes the non-linear table kvalues_iq4nl; value = table[q] * d.

const W_BLOCK: u32 = 32u;
const W_BLOCK_BYTES: u32 = 18u;

// kvalues_iq4nl {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113} as
// signed bytes, four per word: selecting from registers avoids a dynamically indexed array.
const IQ4NL_T0: u32 = 0xbfad9881u;
const IQ4NL_T1: u32 = 0xf6eaddcfu;
const IQ4NL_T2: u32 = 0x26190d01u;
const IQ4NL_T3: u32 = 0x71594535u;

fn iq4_nl_bytes(byte: u32) -> u32 {
    let i = byte >> 2u;
    let s = 8u * (byte & 3u);
    if (s == 0u) {
        return w[i];
    }
    return (w[i] >> s) | (w[i + 1u] << (32u - s));
}

// The table value of each of 4 nibbles (0..15).
fn iq4_nl_values(q: vec4<u32>) -> vec4<f32> {
    let hi = q >> vec4<u32>(2u);
    let word = select(select(vec4<u32>(IQ4NL_T0), vec4<u32>(IQ4NL_T1), hi == vec4<u32>(1u)),
                      select(vec4<u32>(IQ4NL_T2), vec4<u32>(IQ4NL_T3), hi == vec4<u32>(3u)),
                      hi >= vec4<u32>(2u));
    let byte = word << (24u - 8u * (q & vec4<u32>(3u)));
    return vec4<f32>(bitcast<vec4<i32>>(byte) >> vec4<u32>(24u));
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let d = f16_of(w[block_byte >> 2u], (block_byte >> 1u) & 1u);
    let s = 4u * (j >> 1u);
    let at = block_byte + 2u + 8u * (j & 1u);
    let sh = vec4<u32>(s, s + 8u, s + 16u, s + 24u);
    let lo = (vec4<u32>(iq4_nl_bytes(at)) >> sh) & vec4<u32>(15u);
    let hi = (vec4<u32>(iq4_nl_bytes(at + 4u)) >> sh) & vec4<u32>(15u);
    return array<vec4<f32>, 2>(iq4_nl_values(lo) * d, iq4_nl_values(hi) * d);
}
