//! Writer → reader round trips, typed getters, unsupported types, release of mapped pages.

use super::super::{GgufFile, GgufWriter, MetaValue};
use super::{all_metadata, all_tensors, sample_writer};
use crate::{DType, Error, Tensor};

#[test]
fn gguf_round_trip_every_value_type_and_dtype() {
    for (version, alignment) in [(3, None), (2, Some(64)), (3, Some(1)), (3, Some(4096))] {
        let mut w = sample_writer();
        w.version(version);
        if let Some(a) = alignment {
            w.with_alignment(a);
        }
        let f = GgufFile::from_bytes(w.to_bytes()).unwrap();
        assert_eq!(f.version(), version);
        let a = u64::from(alignment.unwrap_or(32));
        assert_eq!(f.alignment(), a);
        assert_eq!(f.data_offset() % a, 0);
        let mut meta = all_metadata();
        if let Some(al) = alignment {
            meta.push(("general.alignment".into(), MetaValue::U32(al)));
        }
        assert_eq!(f.metadata(), meta.as_slice());
        for (k, v) in &meta {
            assert_eq!(f.get(k), Some(v), "{k}");
        }
        let tensors = all_tensors();
        assert_eq!(f.tensors().len(), tensors.len());
        for ((name, t), info) in tensors.iter().zip(f.tensors()) {
            assert_eq!(&info.name, name);
            assert_eq!(info.shape(), t.shape(), "{name}");
            assert_eq!(info.dims, t.shape().iter().rev().map(|&d| d as u64).collect::<Vec<_>>());
            assert_eq!(info.dtype, Some(t.dtype()));
            assert_eq!(info.ggml_type, t.dtype().ggml_type_id());
            assert_eq!(info.byte_len as usize, t.bytes().len());
            assert_eq!(info.offset % a, 0, "{name}");
            let back = f.tensor(name).unwrap();
            assert_eq!(&back, t, "{name}");
            assert_eq!(back.is_shared(), a >= 4, "{name} (copied only when misaligned)");
            assert_eq!(f.tensor_bytes(name).unwrap(), t.bytes());
        }
    }
}

#[test]
fn gguf_typed_getters() {
    let f = GgufFile::from_bytes(sample_writer().to_bytes()).unwrap();
    assert_eq!(f.get_u64("t.u8").unwrap(), Some(200));
    assert_eq!(f.get_u64("t.u64").unwrap(), Some(u64::MAX));
    assert_eq!(f.get_u64("t.absent").unwrap(), None);
    assert_eq!(f.get_f32("t.f32").unwrap(), Some(1.5e-5));
    assert_eq!(f.get_f32("t.f64").unwrap(), Some(f32::NEG_INFINITY));
    assert_eq!(f.get_str("t.string").unwrap(), Some("héllo ✓"));
    assert_eq!(f.get_bool("t.bool").unwrap(), Some(true));
    assert_eq!(f.get_str_array("t.arr.str").unwrap(), Some(vec!["a", "", "ü"]));
    assert_eq!(f.get_i32_array("t.arr.u32").unwrap(), Some(vec![9, 3]));
    assert_eq!(f.get_i32_array("t.arr.i32").unwrap(), Some(vec![-1, 7]));
    assert_eq!(f.get_u64_array("t.arr.u64").unwrap(), Some(vec![1 << 40]));
    assert_eq!(f.get_f32_array("t.arr.f32").unwrap(), Some(vec![0.25, -2.0]));
    assert_eq!(f.get_f32_array("t.arr.empty").unwrap(), Some(vec![]));

    let wrong = |r: crate::Result<()>, key: &str, why: &str| match r {
        Err(Error::Gguf { field, offset, why: w, .. }) => {
            assert_eq!(field, format!("metadata `{key}`"));
            assert_eq!(Some(offset), f.value_offset(key));
            assert!(w.contains(why), "{w}");
        }
        other => panic!("{key}: {other:?}"),
    };
    wrong(f.get_u64("t.i8").map(drop), "t.i8", "does not fit");
    wrong(f.get_u64("t.string").map(drop), "t.string", "found string");
    wrong(f.get_f32("t.u32").map(drop), "t.u32", "expected an f32, found u32");
    wrong(f.get_str("t.u32").map(drop), "t.u32", "found u32");
    wrong(f.get_bool("t.u8").map(drop), "t.u8", "found u8");
    wrong(f.get_str_array("t.string").map(drop), "t.string", "expected an array of string");
    wrong(f.get_str_array("t.arr.u8").map(drop), "t.arr.u8", "element 0");
    wrong(f.get_u64_array("t.arr.i32").map(drop), "t.arr.i32", "element 0: i32 -1 does not fit");
    wrong(f.get_i32_array("t.arr.u64").map(drop), "t.arr.u64", "does not fit in i32");
}

#[test]
fn gguf_unsupported_type_opens_and_refuses_the_tensor() {
    let mut w = GgufWriter::new();
    // Q8_K (ggml's activation format, never a weight format edgehal computes with).
    w.add_raw_tensor("blk.0.ffn_down.weight", &[256, 2], 15, vec![7u8; 584]).unwrap();
    w.add_tensor("ok", &Tensor::from_f32([2], &[1.0, 2.0]).unwrap()).unwrap();
    let f = GgufFile::from_bytes(w.to_bytes()).unwrap();
    let info = f.tensor_info("blk.0.ffn_down.weight").unwrap();
    assert_eq!((info.ggml_type, info.dtype, info.byte_len), (15, None, 584));
    assert_eq!(info.type_name(), "Q8_K");
    assert_eq!(f.type_histogram(), vec![("F32".to_string(), 1), ("Q8_K".to_string(), 1)]);
    assert_eq!(f.tensor_bytes("blk.0.ffn_down.weight").unwrap(), &[7u8; 584][..]);
    match f.tensor("blk.0.ffn_down.weight") {
        Err(Error::Gguf { field, why, .. }) => {
            assert!(field.contains("blk.0.ffn_down.weight") && why.contains("15") && why.contains("Q8_K"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    match f.tensor("nope") {
        Err(e @ Error::Unknown { .. }) => assert!(e.to_string().contains("blk.0.ffn_down.weight"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(f.tensor("ok").unwrap().as_f32(), Some(&[1.0, 2.0][..]));
}

#[test]
fn gguf_writer_refuses_mixed_arrays_and_duplicate_names() {
    let mut w = GgufWriter::new();
    assert!(w.set("a", MetaValue::Array(vec![MetaValue::U8(1), MetaValue::I8(1)])).is_err());
    w.set("a", 1u32).unwrap().set("b", 2u32).unwrap().set("a", "again").unwrap();
    let t = Tensor::from_f32([1], &[0.0]).unwrap();
    w.add_tensor("x", &t).unwrap();
    assert!(w.add_tensor("x", &t).is_err());
    assert!(w.add_raw_tensor("x", &[1], 0, vec![0; 4]).is_err());
    let f = GgufFile::from_bytes(w.to_bytes()).unwrap();
    assert_eq!(f.metadata()[0], ("a".to_string(), MetaValue::from("again")), "replaced in place");
    assert_eq!(f.metadata().len(), 2);
}

#[test]
fn gguf_open_maps_the_file_and_releases_pages() {
    let dir = std::env::temp_dir().join(format!("edgehal-gguf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("map.gguf");
    let values: Vec<f32> = (0..256 * 1024).map(|i| i as f32).collect(); // 1 MiB: many whole pages
    let big = Tensor::from_f32([256, 1024], &values).unwrap();
    let mut w = GgufWriter::new();
    w.set("general.name", "map test").unwrap();
    w.add_tensor("small", &Tensor::from_f32([3], &[1.0, 2.0, 3.0]).unwrap()).unwrap();
    w.add_tensor("big", &big).unwrap();
    w.add_tensor("q", &Tensor::from_f32_as(DType::Q4_1, [4, 64], &values[..256]).unwrap()).unwrap();
    w.write(&path).unwrap();

    let f = GgufFile::open(&path).unwrap();
    assert_eq!(f.path(), path.display().to_string());
    assert_eq!(f.file_len(), std::fs::metadata(&path).unwrap().len());
    let t = f.tensor("big").unwrap();
    assert!(t.is_shared());
    assert_eq!(t, big);
    let before = mapped_rss_kib(&path);
    t.release_source_pages();
    if let (Some(before), Some(after)) = (before, mapped_rss_kib(&path)) {
        // The tensor's 1 MiB was resident (just compared); its whole pages are gone now.
        assert!(before >= 1024 && after + 1000 <= before, "RSS of the map: {before} KiB -> {after} KiB");
    }
    assert_eq!(t, big, "released pages are read again from the file");
    let small = f.tensor("small").unwrap();
    small.release_source_pages(); // no whole page inside: nothing happens
    assert_eq!(small.as_f32(), Some(&[1.0, 2.0, 3.0][..]));
    drop(f); // tensors keep the map alive
    assert_eq!(t.as_f32().unwrap()[1000], 1000.0);

    let missing = dir.join("missing.gguf");
    assert!(matches!(GgufFile::open(&missing), Err(Error::Io { .. })));
    std::fs::write(&missing, b"").unwrap();
    match GgufFile::open(&missing) {
        Err(e @ Error::Gguf { .. }) => {
            assert!(e.to_string().contains("missing.gguf") && e.to_string().contains("magic"))
        }
        other => panic!("{other:?}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn gguf_file_is_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<GgufFile>();
    check::<GgufWriter>();
}

/// The resident KiB of the mapping of `path`, from `/proc/self/smaps` (Linux only).
fn mapped_rss_kib(path: &std::path::Path) -> Option<u64> {
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let name = path.to_str()?;
    let mut lines = smaps.lines().skip_while(|l| !l.ends_with(name));
    lines.next()?;
    let rss = lines.find(|l| l.starts_with("Rss:"))?;
    rss.split_whitespace().nth(1)?.parse().ok()
}
