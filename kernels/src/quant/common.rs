//! Small pieces shared by the block formats: f16 fields, ggml's rounding and the 6-bit
//! scale/min packing of Q4_K and Q5_K.

use half::f16;

/// Below this magnitude ggml treats a group as all zeros.
pub(super) const GROUP_MAX_EPS: f32 = 1e-15;

/// Reads the little-endian f16 at `at` as an f32.
#[inline(always)]
pub(super) fn read_f16(bytes: &[u8], at: usize) -> f32 {
    f16::from_bits(u16::from_le_bytes([bytes[at], bytes[at + 1]])).to_f32()
}

/// Writes `value` rounded to f16 (round to nearest even, as ggml) at `at`, little-endian.
#[inline(always)]
pub(super) fn write_f16(bytes: &mut [u8], at: usize, value: f32) {
    bytes[at..at + 2].copy_from_slice(&f16::from_f32(value).to_bits().to_le_bytes());
}

/// `value` rounded to f16 and back: the scale a decoder will see.
#[inline(always)]
pub(super) fn round_to_f16(value: f32) -> f32 {
    f16::from_f32(value).to_f32()
}

/// ggml's `nearest_int`: round half to even. Uses ggml's trick (adding 1.5 * 2^23 leaves the
/// rounded integer in the low mantissa bits), which is exact for |x| < 2^22 and needs no
/// SSE4.1; larger or NaN inputs, which ggml does not allow, saturate instead.
#[inline(always)]
pub(super) fn nearest_int(x: f32) -> i32 {
    if x.abs() <= 4_194_303.0 {
        let shifted = x + 12_582_912.0;
        (shifted.to_bits() & 0x007f_ffff) as i32 - 0x0040_0000
    } else {
        x.round_ties_even() as i32
    }
}

/// The 6-bit scale and min of sub-block `j` (0..8) from Q4_K/Q5_K's 12 packed bytes
/// (ggml's `get_scale_min_k4`): bytes 0..4 hold scales 0..4 in their low 6 bits, bytes 4..8 the
/// mins 0..4; scales/mins 4..8 keep their low nibbles in bytes 8..12 and their top two bits in
/// the spare high bits of bytes 0..4 (scales) and 4..8 (mins).
#[inline(always)]
pub(super) fn scale_min_k4(j: usize, packed: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (packed[j] & 63, packed[j + 4] & 63)
    } else {
        let scale = (packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4);
        let min = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
        (scale, min)
    }
}

/// Packs eight 6-bit scales and mins (each < 64) into the 12-byte layout read by
/// [`scale_min_k4`].
pub(super) fn pack_scale_min_k4(scales: &[u8; 8], mins: &[u8; 8]) -> [u8; 12] {
    let mut packed = [0u8; 12];
    for j in 0..8 {
        let (ls, lm) = (scales[j] & 63, mins[j] & 63);
        if j < 4 {
            packed[j] |= ls;
            packed[j + 4] |= lm;
        } else {
            packed[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4);
            packed[j - 4] |= (ls >> 4) << 6;
            packed[j] |= (lm >> 4) << 6;
        }
    }
    packed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_int_rounds_half_to_even() {
        assert_eq!(nearest_int(0.5), 0);
        assert_eq!(nearest_int(1.5), 2);
        assert_eq!(nearest_int(2.5), 2);
        assert_eq!(nearest_int(-0.5), 0);
        assert_eq!(nearest_int(-1.5), -2);
        assert_eq!(nearest_int(-2.7), -3);
        assert_eq!(nearest_int(3.49), 3);
        assert_eq!(nearest_int(4_194_302.5), 4_194_302);
        assert_eq!(nearest_int(-4_194_303.0), -4_194_303);
        assert_eq!(nearest_int(1e9), 1_000_000_000);
        assert_eq!(nearest_int(-1e12), i32::MIN);
        assert_eq!(nearest_int(f32::NAN), 0);
        for i in -2000..2000 {
            let x = i as f32 * 0.37;
            assert_eq!(nearest_int(x), x.round_ties_even() as i32, "{x}");
        }
    }

    #[test]
    fn scale_min_k4_round_trips_every_6_bit_pattern() {
        for seed in 0u32..64 {
            let scales: [u8; 8] = std::array::from_fn(|j| ((seed * 7 + j as u32 * 13) % 64) as u8);
            let mins: [u8; 8] = std::array::from_fn(|j| ((seed * 11 + j as u32 * 29 + 5) % 64) as u8);
            let packed = pack_scale_min_k4(&scales, &mins);
            for j in 0..8 {
                assert_eq!(scale_min_k4(j, &packed), (scales[j], mins[j]), "seed {seed} j {j}");
            }
        }
    }

    #[test]
    fn scale_min_k4_reads_ggml_bit_positions() {
        // Sub-block 5: scale low nibble in byte 9 bits 0..4, high bits in byte 1 bits 6..8;
        // min low nibble in byte 9 bits 4..8, high bits in byte 5 bits 6..8.
        let mut packed = [0u8; 12];
        packed[9] = 0xA7; // scale low 7, min low 10
        packed[1] = 0b10 << 6; // scale high 2
        packed[5] = 0b01 << 6; // min high 1
        assert_eq!(scale_min_k4(5, &packed), (7 | (2 << 4), 10 | (1 << 4)));
        // Sub-blocks 1 keep their 6 bits in bytes 1 and 5, untouched by the high bits above.
        assert_eq!(scale_min_k4(1, &packed), (0, 0));
    }
}
