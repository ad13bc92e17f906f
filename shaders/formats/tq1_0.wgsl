// ggml TQ1_0 decoder: `{ u8 qs[48]; u8 qh[4]; f16 d }`, 54 bytes (blocks start at any even byte),
// 256 ternary elements as base-3 digits, five per byte of qs and four per byte of qh, stored so
// that digit n of a byte is ((byte * 3^n) mod 256) * 3 >> 8, a level q in 0..2. Element 32n + m
// (m < 32) is digit n of qs[m]; 160 + 16n + m (m < 16) digit n of qs[32 + m]; 240 + 4n + m
// (m < 4) digit n of qh[m]. Value = (q - 1) * d. Glued after ternary.wgsl.

const W_BLOCK: u32 = 256u;
const W_BLOCK_BYTES: u32 = 54u;

// The 4 bytes at byte `byte` of `w`. Every read of this decoder starts at or before byte 48 of
// the block, so the second word starts at or before byte 52: it holds a byte of the block, so it
// never lies past the buffer.
fn tq1_word(byte: u32) -> u32 {
    let i = byte >> 2u;
    return unaligned_word(w[i], w[i + 1u], byte);
}

// 3^n for n in 0..4.
fn tq1_pow3(n: u32) -> u32 {
    return select(byte_of(0x1b090301u, n & 3u), 81u, n == 4u);
}

// Digit n of each of the 4 bytes of `q`, one per byte, with p = 3^n: the bytes two at a time in
// 16-bit lanes (byte * 81 fits a lane).
fn tq1_digits(q: u32, p: u32) -> u32 {
    let m = 0x00ff00ffu;
    let even = (((q & m) * p) & m) * 3u;
    let odd = ((((q >> 8u) & m) * p) & m) * 3u;
    return ((even >> 8u) & m) | (odd & 0xff00ff00u);
}

// Levels 0..2 of elements 8j .. 8j+7, one per byte.
fn ternary_levels(block_byte: u32, j: u32) -> vec2<u32> {
    if (j >= 30u) {
        // Elements 240 + 8(j - 30) ..: digits 2(j - 30) and 2(j - 30) + 1 of qh[0..4].
        let q = tq1_word(block_byte + 48u);
        let n = 2u * (j - 30u);
        return vec2<u32>(tq1_digits(q, tq1_pow3(n)), tq1_digits(q, tq1_pow3(n + 1u)));
    }
    // (first byte, digit): in qs[0..32] for j < 20, else in qs[32..48].
    let at = select(vec2<u32>(8u * (j & 3u), j >> 2u), vec2<u32>(32u + 8u * (j & 1u), (j - 20u) >> 1u), j >= 20u);
    let p = tq1_pow3(at.y);
    return vec2<u32>(tq1_digits(tq1_word(block_byte + at.x), p), tq1_digits(tq1_word(block_byte + at.x + 4u), p));
}
