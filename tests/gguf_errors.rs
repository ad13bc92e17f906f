//! Bad GGUF files: each is refused with an `Error::Gguf` that names the field (and the message
//! says so), or, where the format allows it, read.

use edgehal::gguf::{GgufFile, GgufWriter, MetaValue};
use edgehal::{DType, Error, Tensor};

/// A valid file: two metadata entries and two f32 tensors.
fn writer() -> GgufWriter {
    let mut w = GgufWriter::new();
    w.set("general.architecture", "llama").unwrap();
    w.set("general.name", "tiny").unwrap();
    w.add_tensor("first", &Tensor::from_f32([2, 8], &[1.0; 16]).unwrap()).unwrap();
    w.add_tensor("second", &Tensor::from_f32([8], &[2.0; 8]).unwrap()).unwrap();
    w
}

/// The offset of the first occurrence of `needle`.
fn find(bytes: &[u8], needle: &[u8]) -> usize {
    bytes.windows(needle.len()).position(|w| w == needle).unwrap_or_else(|| panic!("{needle:?} not in file"))
}

/// The offset of tensor `name`'s n_dims field (right after its name).
fn info_at(bytes: &[u8], name: &str) -> usize {
    let mut needle = (name.len() as u64).to_le_bytes().to_vec();
    needle.extend_from_slice(name.as_bytes());
    find(bytes, &needle) + needle.len()
}

fn put_u64(bytes: &mut [u8], at: usize, v: u64) {
    bytes[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(bytes: &mut [u8], at: usize, v: u32) {
    bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Asserts that `bytes` are refused with an `Error::Gguf` whose field contains `field`, whose
/// reason contains `why`, at `offset` if given; the message must name the field.
fn refused(bytes: Vec<u8>, field: &str, why: &str, offset: Option<u64>) {
    match GgufFile::from_bytes(bytes) {
        Err(e @ Error::Gguf { .. }) => {
            let msg = e.to_string();
            let Error::Gguf { field: f, why: w, offset: o, path } = e else { unreachable!() };
            assert!(f.contains(field), "field `{f}` lacks `{field}`: {msg}");
            assert!(w.contains(why), "reason `{w}` lacks `{why}`");
            assert!(msg.contains(&f) && msg.contains(&format!("byte {o}")), "{msg}");
            assert_eq!(path, "<memory>");
            if let Some(offset) = offset {
                assert_eq!(o, offset, "{msg}");
            }
        }
        Err(other) => panic!("expected Error::Gguf for {field}, got {other}"),
        Ok(_) => panic!("expected Error::Gguf for {field}, the file was accepted"),
    }
}

#[test]
fn gguf_truncated_header() {
    let good = writer().to_bytes();
    refused(good[..3].to_vec(), "magic", "truncated", Some(0));
    refused(good[..6].to_vec(), "version", "truncated", Some(4));
    refused(good[..10].to_vec(), "tensor_count", "truncated", Some(8));
    // Counts are checked against the bytes left before anything is read.
    refused(good[..20].to_vec(), "tensor_count", "2 tensor infos of at least 24 bytes each cannot fit", Some(8));
    let mut w = GgufWriter::new();
    w.set("general.name", "no tensors").unwrap();
    let meta_only = w.to_bytes();
    refused(meta_only[..20].to_vec(), "metadata_kv_count", "truncated", Some(16));
    refused(meta_only[..40].to_vec(), "metadata[0].key", "string length 12 is more than the 8 bytes left", Some(24));
    refused(meta_only[..50].to_vec(), "metadata `general.name`", "truncated", Some(48));
    let name = info_at(&good, "second");
    refused(good[..name + 2].to_vec(), "tensor `second` n_dims", "truncated", Some(name as u64));
}

#[test]
fn gguf_truncated_data_is_past_eof() {
    let good = writer().to_bytes();
    let f = GgufFile::from_bytes(good.clone()).unwrap();
    let second = f.tensor_info("second").unwrap();
    let cut = (second.offset + second.byte_len - 1) as usize;
    refused(good[..cut].to_vec(), "tensor `second` offset", "past the end of the file", None);
    refused(good[..f.data_offset() as usize - 1].to_vec(), "data section", "truncated", None);
}

#[test]
fn gguf_wrong_magic_and_versions() {
    let mut b = writer().to_bytes();
    b[..4].copy_from_slice(b"GGML");
    refused(b, "magic", "not a GGUF file", Some(0));
    for (v, why) in [(1, "v1"), (0x0300_0000, "big-endian"), (4, "unsupported version 4"), (0, "unsupported")] {
        let mut b = writer().to_bytes();
        put_u32(&mut b, 4, v);
        refused(b, "version", why, Some(4));
    }
    let mut w = writer();
    w.version(2);
    assert_eq!(GgufFile::from_bytes(w.to_bytes()).unwrap().version(), 2);
}

#[test]
fn gguf_absurd_counts_and_lengths() {
    let good = writer().to_bytes();
    for huge in [1u64 << 63, u64::MAX, 1 << 40] {
        let mut b = good.clone();
        put_u64(&mut b, 8, huge);
        refused(b, "tensor_count", "cannot fit", Some(8));
        let mut b = good.clone();
        put_u64(&mut b, 16, huge);
        refused(b, "metadata_kv_count", "cannot fit", Some(16));
        let mut b = good.clone();
        put_u64(&mut b, 24, huge); // the first key's length
        refused(b, "metadata[0].key", "string length", Some(24));
        let mut b = good.clone();
        let value = find(&b, b"llama") - 8; // the first value's length
        put_u64(&mut b, value, huge);
        refused(b, "metadata `general.architecture`", "string length", Some(value as u64));
    }
    let mut w = writer();
    w.set("tokenizer.ggml.tokens", vec!["a", "b", "c"]).unwrap();
    let mut b = w.to_bytes();
    let count = find(&b, b"tokenizer.ggml.tokens") + 21 + 4 + 4; // key, type, element type
    put_u64(&mut b, count, 1 << 63);
    refused(b, "metadata `tokenizer.ggml.tokens`", "cannot fit", Some(count as u64));
}

#[test]
fn gguf_bad_dims() {
    let good = writer().to_bytes();
    let at = info_at(&good, "first");
    let mut b = good.clone();
    put_u32(&mut b, at, 5);
    refused(b, "tensor `first` n_dims", "at most 4", Some(at as u64));
    let mut b = good.clone();
    put_u64(&mut b, at + 4, 1 << 62);
    put_u64(&mut b, at + 12, 1 << 62);
    refused(b, "tensor `first` dims", "overflows", Some(at as u64));
    let mut b = good.clone();
    put_u64(&mut b, at + 4 + 8, u64::MAX);
    refused(b, "tensor `first` ne[1]", "int64", Some((at + 12) as u64));

    // A zero dimension is an empty tensor, accepted.
    let mut w = GgufWriter::new();
    w.add_raw_tensor("none", &[8, 0], 0, vec![]).unwrap();
    let f = GgufFile::from_bytes(w.to_bytes()).unwrap();
    assert_eq!(f.tensor("none").unwrap().shape(), [0, 8]);
}

#[test]
fn gguf_bad_offsets() {
    let good = writer().to_bytes();
    let at = info_at(&good, "second") + 4 + 8 + 4; // n_dims, one dim, type
    let mut b = good.clone();
    put_u64(&mut b, at, 68);
    refused(b, "tensor `second` offset", "not a multiple of the alignment 32", Some(at as u64));
    let mut b = good.clone();
    put_u64(&mut b, at, 32); // inside `first`'s 64 bytes
    refused(b, "tensor `second` offset", "overlap tensor `first`", Some(at as u64));
    let mut b = good.clone();
    put_u64(&mut b, at, u64::MAX - 31);
    refused(b, "tensor `second`", "overflows", None);
    let mut b = good;
    put_u64(&mut b, at, 1 << 40);
    refused(b, "tensor `second` offset", "past the end", Some(at as u64));
}

#[test]
fn gguf_duplicates() {
    let mut w = GgufWriter::new();
    w.set("a.key", 1u32).unwrap().set("b.key", 2u32).unwrap();
    let mut b = w.to_bytes();
    let second = find(&b, b"b.key");
    b[second] = b'a';
    refused(b, "metadata `a.key`", "duplicate key", Some(second as u64 - 8));

    let mut w = GgufWriter::new();
    let t = Tensor::from_f32([1], &[0.0]).unwrap();
    w.add_tensor("w.0", &t).unwrap().add_tensor("w.1", &t).unwrap();
    let mut b = w.to_bytes();
    let second = find(&b, b"w.1");
    b[second + 2] = b'0';
    refused(b, "tensor[1].name", "duplicate tensor name `w.0`", Some(second as u64 - 8));
}

#[test]
fn gguf_ggml_types() {
    let mut w = GgufWriter::new();
    w.add_raw_tensor("mystery", &[32], 99, vec![0; 32]).unwrap();
    let b = w.to_bytes();
    let type_at = info_at(&b, "mystery") + 4 + 8;
    refused(b, "tensor `mystery` type", "unknown ggml type id 99", Some(type_at as u64));

    // A ggml type edgehal does not support yet: the file opens, the tensor is refused.
    let mut w = GgufWriter::new();
    w.add_raw_tensor("q8k", &[256], 15, vec![0; 292]).unwrap();
    let f = GgufFile::from_bytes(w.to_bytes()).unwrap();
    assert_eq!(f.tensors()[0].ggml_type, 15);
    let e = f.tensor("q8k").unwrap_err();
    assert!(matches!(&e, Error::Gguf { field, .. } if field == "tensor `q8k` type"), "{e}");
    assert!(e.to_string().contains("Q8_K"), "{e}");

    // A row that is not a whole number of blocks.
    let mut w = GgufWriter::new();
    w.add_raw_tensor("q", &[48, 2], DType::Q4_0.ggml_type_id(), vec![0; 54]).unwrap();
    let b = w.to_bytes();
    let ne0 = info_at(&b, "q") + 4;
    refused(b, "tensor `q` ne[0]", "not a multiple of Q4_0's block of 32", Some(ne0 as u64));
}

#[test]
fn gguf_bad_values() {
    let mut w = GgufWriter::new();
    w.set("flag", true).unwrap();
    let mut b = w.to_bytes();
    let at = find(&b, b"flag") + 4 + 4;
    b[at] = 2;
    refused(b, "metadata `flag`", "bool must be 0 or 1, found 2", Some(at as u64));

    let mut w = GgufWriter::new();
    w.set("text", "abcd").unwrap();
    let mut b = w.to_bytes();
    let at = find(&b, b"abcd") + 1;
    b[at] = 0xFF;
    refused(b, "metadata `text`", "not valid UTF-8", Some(at as u64));

    let mut w = GgufWriter::new();
    w.set("list", vec!["ok", "xy"]).unwrap();
    let mut b = w.to_bytes();
    let at = find(&b, b"xy");
    b[at] = 0xC3;
    refused(b, "metadata `list`[1]", "not valid UTF-8", Some(at as u64));

    let mut w = GgufWriter::new();
    w.set("v", 1u32).unwrap();
    let mut b = w.to_bytes();
    let type_at = find(&b, b"v") + 1;
    put_u32(&mut b, type_at, 13);
    refused(b, "metadata `v` type", "unknown value type 13", Some(type_at as u64));

    let mut deep = MetaValue::U8(1);
    for _ in 0..20 {
        deep = MetaValue::Array(vec![deep]);
    }
    let mut w = GgufWriter::new();
    w.set("deep", deep).unwrap();
    refused(w.to_bytes(), "metadata `deep`[0][0]", "nested deeper than 16", None);
}

#[test]
fn gguf_bad_alignment() {
    for (a, why) in [(0, "not a power of two"), (48, "not a power of two"), (1 << 21, "more than")] {
        let mut w = writer();
        w.with_alignment(a);
        refused(w.to_bytes(), "metadata `general.alignment`", why, None);
    }
    let mut w = writer();
    w.set("general.alignment", 32u64).unwrap();
    refused(w.to_bytes(), "metadata `general.alignment`", "must be a u32, found u64", None);
    let mut w = writer();
    w.with_alignment(256);
    let f = GgufFile::from_bytes(w.to_bytes()).unwrap();
    assert_eq!((f.alignment(), f.data_offset() % 256), (256, 0));
}

#[test]
fn gguf_errors_from_files_name_the_path() {
    let dir = std::env::temp_dir().join(format!("edgehal-gguf-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.gguf");
    std::fs::write(&path, b"GGUF\x01\x00\x00\x00").unwrap();
    let e = GgufFile::open(&path).unwrap_err();
    assert!(matches!(e, Error::Gguf { ref field, .. } if field == "version"), "{e}");
    assert!(e.to_string().contains("bad.gguf"), "{e}");
    assert!(matches!(GgufFile::open(dir.join("absent.gguf")), Err(Error::Io { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}
