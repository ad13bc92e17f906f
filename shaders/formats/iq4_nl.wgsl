// IQ4_NL decoder: { f16 d; u8 qs[16] }, 18 bytes, 32 elements, nibble order as Q4_0; each nibble
// indexes the non-linear table kvalues_iq4nl; value = table[q] * d. Glued after codebook4.wgsl.

const W_BLOCK: u32 = 32u;
const W_BLOCK_BYTES: u32 = 18u;

// The table value of each of 4 nibbles (0..15) (also used by the encoder).
fn iq4_nl_values(q: vec4<u32>) -> vec4<f32> {
    return codebook_values(q, IQ4NL_TABLE);
}

fn iq4_nl_scale(block_byte: u32) -> f32 {
    return f16_of(w[block_byte >> 2u], (block_byte >> 1u) & 1u);
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    return codebook_decode8(block_byte + 2u, j, IQ4NL_TABLE, iq4_nl_scale(block_byte));
}

// Integer decoder (dot4 kernels): the table values as signed bytes.
const W_I8_MIN: bool = false;

fn w_decode8_i8(block_byte: u32, j: u32) -> vec2<u32> {
    return codebook_decode8_i8(block_byte + 2u, j, IQ4NL_TABLE);
}

fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    return vec2<f32>(iq4_nl_scale(block_byte), 0.0);
}
