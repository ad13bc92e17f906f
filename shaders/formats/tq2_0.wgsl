// ggml TQ2_0 decoder: `{ u8 qs[64]; f16 d }`, 66 bytes (blocks start at any even byte), 256 ternary
// elements. Element 128h + 32l + m is bits 2l..2l+2 of qs[32h + m], a level q in 0..3 (3 is never
// written); value = (q - 1) * d. Glued after ternary.wgsl.

const W_BLOCK: u32 = 256u;
const W_BLOCK_BYTES: u32 = 66u;

// The 8 bytes at byte `byte` of `w`: three loads, no branch. Every 8-byte read of this decoder
// starts at or before byte 56 of the block, so its third word starts at or before byte 64: it
// holds a byte of the block, so it never lies past the buffer.
fn tq2_words2(byte: u32) -> vec2<u32> {
    let i = byte >> 2u;
    let a = w[i];
    let b = w[i + 1u];
    let c = w[i + 2u];
    return vec2<u32>(unaligned_word(a, b, byte), unaligned_word(b, c, byte));
}

// Levels 0..3 of elements 8j .. 8j+7, one per byte.
fn ternary_levels(block_byte: u32, j: u32) -> vec2<u32> {
    let q = tq2_words2(block_byte + 32u * (j >> 4u) + 8u * (j & 3u));
    return (q >> vec2<u32>(2u * ((j >> 2u) & 3u))) & vec2<u32>(0x03030303u);
}
