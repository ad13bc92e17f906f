// The part TQ1_0 and TQ2_0 share, glued before each one's decoder: both hold 256 levels q in
// 0..2 (TQ2_0's 3 is never written) and the f16 scale d in their last two bytes; value =
// (q - 1) * d. Each format defines `ternary_levels(block_byte, j)`: the levels of elements
// 8j .. 8j+7, one per byte.

// d: the block's last two bytes, an f16 at an even byte (blocks start at even bytes and both
// block sizes are even), so inside one word.
fn ternary_d(block_byte: u32) -> f32 {
    let db = block_byte + W_BLOCK_BYTES - 2u;
    return f16_of(w[db >> 2u], (db >> 1u) & 1u);
}

// Four levels of `q` as f32, minus 1, times `d`.
fn ternary_scaled(q: u32, d: f32) -> vec4<f32> {
    return bytes_minus(q, 1.0) * d;
}

fn w_decode8(block_byte: u32, j: u32) -> array<vec4<f32>, 2> {
    let d = ternary_d(block_byte);
    let q = ternary_levels(block_byte, j);
    return array<vec4<f32>, 2>(ternary_scaled(q.x, d), ternary_scaled(q.y, d));
}

// Integer decoder (dot4 kernels): q - 1 per byte; (b + 0x7f) ^ 0x80 maps 0..3 to -1..2 without
// borrows between bytes.
const W_I8_MIN: bool = false;

fn w_decode8_i8(block_byte: u32, j: u32) -> vec2<u32> {
    return (ternary_levels(block_byte, j) + vec2<u32>(0x7f7f7f7fu)) ^ vec2<u32>(0x80808080u);
}

fn w_scale8(block_byte: u32, j: u32) -> vec2<f32> {
    return vec2<f32>(ternary_d(block_byte), 0.0);
}
