//! Mutations of a valid file: truncation at every length, byte flips and huge counts at every
//! position. Every result must be `Ok` or an `Error::Gguf`, never a panic or a huge allocation.

use super::super::{GgufFile, GgufWriter, MetaValue};
use crate::{DType, Error, Tensor};

/// A small valid file: a few metadata types (with a nested array) and three tensors.
fn small_file() -> Vec<u8> {
    let mut w = GgufWriter::new();
    w.set("general.architecture", "llama").unwrap();
    w.set("llama.block_count", 2u32).unwrap();
    w.set("f", 0.5f32).unwrap();
    w.set("b", true).unwrap();
    w.set("toks", vec!["<s>", "a", "bc"]).unwrap();
    w.set("nested", MetaValue::Array(vec![MetaValue::from(vec![1i64, 2]), MetaValue::from(vec![3i64])])).unwrap();
    w.set("big", u64::MAX).unwrap();
    let v: Vec<f32> = (0..64).map(|i| i as f32 / 8.0).collect();
    w.add_tensor("a", &Tensor::from_f32([2, 4], &v[..8]).unwrap()).unwrap();
    w.add_tensor("q", &Tensor::from_f32_as(DType::Q8_0, [2, 32], &v).unwrap()).unwrap();
    w.add_tensor("h", &Tensor::from_f32_as(DType::F16, [4], &v[..4]).unwrap()).unwrap();
    w.to_bytes()
}

/// Parses `bytes` and, if that works, reads everything the file offers.
fn exercise(bytes: Vec<u8>) -> bool {
    match GgufFile::from_bytes(bytes) {
        Ok(f) => {
            for (k, _) in f.metadata() {
                let _ = (f.get_u64(k), f.get_f32(k), f.get_str(k), f.get_bool(k));
                let _ = (f.get_str_array(k), f.get_i32_array(k), f.get_f32_array(k), f.get_u64_array(k));
            }
            for t in f.tensors() {
                let _ = t.shape();
                if let Ok(t) = f.tensor(&t.name) {
                    let _ = t.to_f32_vec();
                }
            }
            let _ = f.type_histogram();
            true
        }
        Err(Error::Gguf { .. }) => false,
        Err(e) => panic!("not a GGUF error: {e}"),
    }
}

/// The files mutated: the small one and the one with every value type and dtype.
fn files() -> [Vec<u8>; 2] {
    [small_file(), super::sample_writer().to_bytes()]
}

#[test]
fn gguf_fuzz_truncate_at_every_length() {
    for good in files() {
        truncate_everywhere(good);
    }
}

fn truncate_everywhere(good: Vec<u8>) {
    assert!(exercise(good.clone()));
    let end_of_data = {
        let f = GgufFile::from_bytes(good.clone()).unwrap();
        f.tensors().iter().map(|t| t.offset + t.byte_len).max().unwrap() as usize
    };
    for n in 0..good.len() {
        let ok = exercise(good[..n].to_vec());
        assert_eq!(ok, n >= end_of_data, "truncated to {n} of {} bytes", good.len());
    }
}

#[test]
fn gguf_fuzz_flip_bytes_and_write_huge_counts() {
    let [small, all] = files();
    let header_end = GgufFile::from_bytes(all.clone()).unwrap().data_offset() as usize;
    mutate(small.clone(), small.len());
    // In the big file only the header matters: mutated tensor bytes change no parsing.
    mutate(all, header_end + 8);
}

/// Mutates every position below `limit`.
fn mutate(good: Vec<u8>, limit: usize) {
    let start = std::time::Instant::now();
    let mut oks = 0;
    for i in 0..limit.min(good.len()) {
        for mask in [0xFF, 0x01, 0x80, 0x3C] {
            let mut b = good.clone();
            b[i] ^= mask;
            oks += exercise(b) as usize;
        }
        for word in [u64::MAX, 1 << 63, u64::from(u32::MAX), 1 << 32] {
            if i + 8 <= good.len() {
                let mut b = good.clone();
                b[i..i + 8].copy_from_slice(&word.to_le_bytes());
                oks += exercise(b) as usize;
            }
            if i + 4 <= good.len() {
                let mut b = good.clone();
                b[i..i + 4].copy_from_slice(&(word as u32 | 0x8000_0000).to_le_bytes());
                oks += exercise(b) as usize;
            }
        }
    }
    eprintln!("{} bytes, {oks} mutations still valid, {:?}", good.len(), start.elapsed());
    assert!(start.elapsed().as_secs() < 20, "mutations must be fast");
}
