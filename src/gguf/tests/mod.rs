//! Tests of the GGUF reader and writer: round trips, mutated files, the real SmolLM2 file.

mod fuzz;
mod roundtrip;
mod smollm2;

use super::{GgufWriter, MetaValue};
use crate::{DType, Tensor};

/// Metadata of every value type, including empty and nested arrays.
fn all_metadata() -> Vec<(String, MetaValue)> {
    use MetaValue::*;
    let nested = Array(vec![
        Array(vec![U32(1), U32(2)]),
        Array(vec![String("x".into())]),
        Array(vec![]),
        Array(vec![Array(vec![F64(0.5)])]),
    ]);
    [
        ("t.u8", U8(200)),
        ("t.i8", I8(-100)),
        ("t.u16", U16(60000)),
        ("t.i16", I16(-30000)),
        ("t.u32", U32(4_000_000_000)),
        ("t.i32", I32(-2_000_000_000)),
        ("t.f32", F32(1.5e-5)),
        ("t.bool", Bool(true)),
        ("t.string", String("héllo ✓".into())),
        ("t.empty_string", String(std::string::String::new())),
        ("t.u64", U64(u64::MAX)),
        ("t.i64", I64(i64::MIN)),
        ("t.f64", F64(-1e300)),
        ("t.arr.u8", Array(vec![U8(1), U8(2), U8(3)])),
        ("t.arr.i32", Array(vec![I32(-1), I32(7)])),
        ("t.arr.u32", Array(vec![U32(9), U32(3)])),
        ("t.arr.f32", Array(vec![F32(0.25), F32(-2.0)])),
        ("t.arr.bool", Array(vec![Bool(false), Bool(true)])),
        ("t.arr.str", Array(vec![String("a".into()), String("".into()), String("ü".into())])),
        ("t.arr.u64", Array(vec![U64(1 << 40)])),
        ("t.arr.i64", Array(vec![I64(-5)])),
        ("t.arr.f64", Array(vec![F64(2.5)])),
        ("t.arr.i8", Array(vec![I8(-1)])),
        ("t.arr.u16", Array(vec![U16(5)])),
        ("t.arr.i16", Array(vec![I16(-5)])),
        ("t.arr.empty", Array(vec![])),
        ("t.arr.nested", nested),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// One tensor per supported dtype (two rows of two blocks), plus scalar, 3-D, 4-D and empty ones.
fn all_tensors() -> Vec<(String, Tensor)> {
    let mut out = Vec::new();
    for d in DType::ALL {
        let k = d.block_len() * 2;
        let values: Vec<f32> = (0..2 * k).map(|i| ((i * 7 % 23) as f32 - 11.0) / 4.0).collect();
        let tensor = if edgehal_kernels::quant::can_quantize(d) {
            Tensor::from_f32_as(d, [2, k], &values).unwrap()
        } else {
            // No quantizer (the lattice formats): a byte pattern (scales decode as finite f16).
            let bytes: Vec<u8> = (0..d.bytes_for(2 * k).unwrap()).map(|i| (i * 37 % 251) as u8 & 0x3F).collect();
            Tensor::from_bytes(d, [2, k], &bytes).unwrap()
        };
        out.push((format!("w.{}", d.name()), tensor));
    }
    out.push(("scalar".into(), Tensor::from_f32([], &[3.0]).unwrap()));
    out.push(("cube".into(), Tensor::from_f32([2, 3, 4], &[1.0; 24]).unwrap()));
    out.push(("hyper".into(), Tensor::from_f32([1, 2, 1, 3], &[2.0; 6]).unwrap()));
    out.push(("empty".into(), Tensor::from_f32([0, 5], &[]).unwrap()));
    out
}

/// A writer holding [`all_metadata`] and [`all_tensors`].
fn sample_writer() -> GgufWriter {
    let mut w = GgufWriter::new();
    for (k, v) in all_metadata() {
        w.set(k, v).unwrap();
    }
    for (name, t) in all_tensors() {
        w.add_tensor(name, &t).unwrap();
    }
    w
}
