//! The real SmolLM2-135M-Instruct Q4_1 file, when `EDGEHAL_SMOLLM2_GGUF` points at it.

use super::super::GgufFile;
use crate::DType;

#[test]
fn gguf_reads_smollm2_q4_1() {
    let Some(path) = std::env::var_os("EDGEHAL_SMOLLM2_GGUF") else {
        eprintln!("skipped: set EDGEHAL_SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf to read the real file");
        return;
    };
    let start = std::time::Instant::now();
    let f = GgufFile::open(&path).unwrap();
    let load = start.elapsed();
    eprintln!("opened {} ({} bytes) in {load:?}", path.display(), f.file_len());
    assert_eq!(f.version(), 3);
    assert_eq!(f.tensors().len(), 272);
    let hist = f.type_histogram();
    let expected = [("Q4_1", 210), ("F32", 61), ("Q8_0", 1)];
    assert_eq!(hist, expected.map(|(n, c)| (n.to_string(), c)).to_vec());
    let embd = f.tensor_info("token_embd.weight").unwrap();
    assert_eq!(embd.dims, [576, 49152]);
    assert_eq!(embd.shape(), [49152, 576]);
    assert_eq!(embd.dtype, Some(DType::Q8_0));
    assert_eq!(f.get_u64("llama.block_count").unwrap(), Some(30));
    assert_eq!(f.get_str("general.architecture").unwrap(), Some("llama"));
    assert_eq!(f.get_str_array("tokenizer.ggml.tokens").unwrap().map(|t| t.len()), Some(49152));
    let t = f.tensor("token_embd.weight").unwrap();
    assert!(t.is_shared());
    assert_eq!(t.shape(), [49152, 576]);
    for info in f.tensors() {
        let t = f.tensor(&info.name).unwrap();
        assert_eq!(t.bytes().len() as u64, info.byte_len);
    }
    assert!(load.as_millis() < 500, "opening took {load:?}");
}
