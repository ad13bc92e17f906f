// MXFP4 decoder: { u8 e; u8 qs[16] }, 17 bytes (blocks start at any byte), 32 elements, nibble
// order as Q4_0; value = kvalues_mxfp4[q] * 2^(e - 128) (ggml's doubled E2M1 table with
// GGML_E8M0_TO_FP32_HALF). Glued after codebook4.wgsl.

const W_BLOCK: u32 = 32u;
const W_BLOCK_BYTES: u32 = 17u;

// kvalues_mxfp4 {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12}.
const MXFP4_TABLE: vec4<u32> = vec4<u32>(0x03020100u, 0x0c080604u, 0xfdfeff00u, 0xf4f8fafcu);

// 2^(e - 128) from the block's E8M0 byte (subnormal for e < 2, as ggml; a GPU may flush those).
fn mxfp4_scale(block_byte: u32) -> f32 {
    let e = byte_of(w[block_byte >> 2u], block_byte & 3u);
    return bitcast<f32>(select((e - 1u) << 23u, 0x00200000u << e, e < 2u));
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    return codebook_decode8(block_byte + 1u, j, MXFP4_TABLE, mxfp4_scale(block_byte));
}

// Integer decoder (dot4 kernels): the table values as signed bytes.
const W_I8_MIN: bool = false;

fn w_decode8_i8(block_byte: u32, j: u32) -> vec2<u32> {
    return codebook_decode8_i8(block_byte + 1u, j, MXFP4_TABLE);
}

fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    return vec2<f32>(mxfp4_scale(block_byte), 0.0);
}
