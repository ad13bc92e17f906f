//! Fuzzes the GGUF reader: parses the bytes as a file (`GgufFile::from_bytes`, the in-memory
//! twin of `GgufFile::open`) and, when that succeeds, reads every metadata value with every typed
//! getter and every tensor as bytes, as a `Tensor` and as f32. Every result must be `Ok` or an
//! `Error::Gguf`; anything else, a panic, or an allocation over the malloc limit is a bug.

#![no_main]

use edgehal::Error;
use edgehal::gguf::GgufFile;
use libfuzzer_sys::fuzz_target;

/// Tensors with more elements are not decoded to f32 (bounds the time of one case).
const MAX_DECODED: usize = 1 << 16;

fuzz_target!(|data: &[u8]| {
    let file = match GgufFile::from_bytes(data.to_vec()) {
        Ok(f) => f,
        Err(Error::Gguf { .. }) => return,
        Err(e) => panic!("open: not an Error::Gguf: {e}"),
    };
    for (key, _) in file.metadata() {
        let _ = (file.get_u64(key), file.get_f32(key), file.get_str(key), file.get_bool(key));
        let _ = (file.get_str_array(key), file.get_i32_array(key), file.get_f32_array(key));
        let _ = (file.get_u64_array(key), file.value_offset(key));
    }
    for info in file.tensors() {
        let _ = (info.shape(), file.tensor_info(&info.name), file.tensor_bytes(&info.name));
        if let Ok(t) = file.tensor(&info.name)
            && t.desc().elems() <= MAX_DECODED
        {
            let _ = t.to_f32_vec();
        }
    }
    let _ = (file.type_histogram(), format!("{file:?}"));
});
