// NVFP4 decoder: { u8 d[4]; u8 qs[32] }, 36 bytes (so blocks start on a word wherever the tensor
// does), 64 elements in four sub-blocks of 16. Sub-block s: element 16s + e (e < 8) is the low
// nibble of qs[8s + e], element 16s + 8 + e its high nibble; value = kvalues_mxfp4[q] *
// ue4m3(d[s]) / 2 (ggml's doubled E2M1 table). Glued after codebook4.wgsl.

const W_BLOCK: u32 = 64u;
const W_BLOCK_BYTES: u32 = 36u;

// kvalues_mxfp4 {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12}.
const E2M1_TABLE: vec4<u32> = vec4<u32>(0x03020100u, 0x0c080604u, 0xfdfeff00u, 0xf4f8fafcu);

// Half the UE4M3 value of sub-block s's scale byte (ggml_ue4m3_to_fp32): 4 exponent bits (bias 7)
// and 3 mantissa bits, bit 7 ignored, subnormals man * 2^-9; 0x7F gives 0 (and 0 does anyway).
fn nvfp4_scale(block_byte: u32, s: u32) -> f32 {
    let b = byte_of(w[block_byte >> 2u], s);
    let e = (b >> 3u) & 15u;
    // Normal: the exponent and mantissa bits moved into an f32's, rebiased by 127 - 7 - 1.
    let normal = bitcast<f32>(((b & 0x7fu) << 20u) + (119u << 23u));
    let v = select(normal, f32(b & 7u) * 0.0009765625, e == 0u);
    return select(v, 0.0, b == 0x7fu);
}

// Elements 8j .. 8j+7 are the low (j even) or high (j odd) nibbles of the 8 quant bytes of
// sub-block j / 2: in codebook4.wgsl's terms, elements 0..7 or 16..23 of a 32-element sub-block
// whose quant bytes start there.
fn nvfp4_qs(block_byte: u32, j: u32) -> u32 {
    return block_byte + 4u + 8u * (j >> 1u);
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    return codebook_decode8(nvfp4_qs(block_byte, j), 2u * (j & 1u), E2M1_TABLE, nvfp4_scale(block_byte, j >> 1u));
}

// Integer decoder (dot4 kernels): the table values as signed bytes.
const W_I8_MIN: bool = false;

fn w_decode8_i8(block_byte: u32, j: u32) -> vec2<u32> {
    return codebook_decode8_i8(nvfp4_qs(block_byte, j), 2u * (j & 1u), E2M1_TABLE);
}

fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    return vec2<f32>(nvfp4_scale(block_byte, j >> 1u), 0.0);
}
