//! The tokenizer built from a GGUF vocabulary: SmolLM2's ids against llama.cpp's own tokenizer
//! (expected ids from `llama_cpp.Llama(model, vocab_only=True).tokenize(text, add_bos=False,
//! special=True)`, llama-cpp-python 0.3.36), round trips, streaming, and typed errors on a tiny
//! hand-made vocabulary that needs no download.

use edgehal::Error;
use edgehal::gguf::{GgufFile, GgufWriter, MetaValue};
use edgehal::tokenizer::Tokenizer;
use std::path::PathBuf;

fn smollm2() -> Option<Tokenizer> {
    let path = std::env::var_os("EDGEHAL_SMOLLM2_GGUF").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        let cache =
            std::env::var_os("EDGEHAL_MODEL_CACHE").map(PathBuf::from).unwrap_or(home.join(".cache/edgehal/models"));
        cache.join("SmolLM2-135M-Instruct.Q4_1.gguf")
    });
    if !path.exists() {
        assert!(std::env::var_os("EDGEHAL_REQUIRE_MODELS").is_none(), "{path:?} missing: run scripts/smollm2.sh");
        eprintln!("skipped: {path:?} missing (run scripts/smollm2.sh)");
        return None;
    }
    let start = std::time::Instant::now();
    let t = Tokenizer::from_gguf(&GgufFile::open(&path).unwrap()).unwrap();
    eprintln!("SmolLM2 tokenizer built in {:?}", start.elapsed());
    Some(t)
}

#[test]
fn smollm2_ids_match_llama_cpp() {
    let Some(t) = smollm2() else { return };
    let cases: [(&str, &[u32]); 5] = [
        ("The capital of France is", &[504, 3575, 282, 4649, 314]),
        (
            "In 2024, 1234 apples cost $5.99!",
            &[788, 216, 34, 32, 34, 36, 28, 216, 33, 34, 35, 36, 13855, 1708, 1885, 37, 30, 41, 41, 17],
        ),
        ("<|im_start|>user\nHi<|im_end|>\n", &[1, 4093, 198, 26843, 2, 198]),
        ("héllo wörld 🙂 日本語", &[88, 2756, 31394, 267, 29989, 400, 47526, 17097, 241, 115, 40993, 179, 120, 248]),
        ("  two  spaces\n\ttab", &[216, 827, 216, 5600, 198, 197, 15999]),
    ];
    for (text, ids) in cases {
        assert_eq!(t.encode(text, false).unwrap(), ids, "{text:?}");
        assert_eq!(t.decode(ids).unwrap(), text, "{text:?}");
    }
    assert_eq!(t.encode("Hi", true).unwrap()[0], 1, "BOS first when asked");
    assert!(!t.add_bos_default());
    assert!(t.is_end(2) && !t.is_end(504));
    assert_eq!(t.vocab_size(), 49152);
}

#[test]
fn smollm2_stream_holds_back_split_characters() {
    let Some(t) = smollm2() else { return };
    let text = "emoji 🙂 and 日本語 done";
    let ids = t.encode(text, false).unwrap();
    let mut stream = t.stream();
    let mut pieces = Vec::new();
    for &id in &ids {
        pieces.push(stream.push(id).unwrap());
    }
    pieces.push(stream.finish());
    assert!(pieces.iter().all(|p| !p.contains('\u{FFFD}')), "{pieces:?}");
    assert!(pieces.iter().any(String::is_empty), "a multi-token character must be held back: {pieces:?}");
    assert_eq!(pieces.concat(), text);
    let err = t.decode(&[5, 49152]).unwrap_err();
    assert!(err.to_string().contains("49152") && err.to_string().contains("outside"), "{err}");
}

/// A byte-level vocabulary of single characters plus merges "a b" and "ab c", and a control token.
fn tiny(tokens: Vec<&str>, types: Option<Vec<i32>>) -> edgehal::Result<Tokenizer> {
    let mut w = GgufWriter::new();
    w.set("tokenizer.ggml.model", "gpt2")?;
    w.set("tokenizer.ggml.pre", "gpt2")?;
    w.set("tokenizer.ggml.tokens", MetaValue::from(tokens.into_iter().map(String::from).collect::<Vec<_>>()))?;
    if let Some(types) = types {
        w.set("tokenizer.ggml.token_type", types)?;
    }
    w.set("tokenizer.ggml.merges", vec!["a b".to_string(), "ab c".to_string()])?;
    w.set("tokenizer.ggml.eos_token_id", 0u32)?;
    Tokenizer::from_gguf(&GgufFile::from_bytes(w.to_bytes())?)
}

#[test]
fn tiny_vocabulary_merges_and_special_tokens() {
    let tokens = vec!["<|end|>", "a", "b", "c", "Ġ", "ab", "abc"];
    let t = tiny(tokens.clone(), Some(vec![3, 1, 1, 1, 1, 1, 1])).unwrap();
    assert_eq!(t.encode("abc", false).unwrap(), [6]);
    assert_eq!(t.encode("ab<|end|>c", false).unwrap(), [5, 0, 3]);
    assert_eq!(t.decode(&[6, 0]).unwrap(), "abc<|end|>");
    assert!(t.is_end(0));
}

#[test]
fn tiny_vocabulary_errors_name_the_key() {
    let missing = {
        let mut w = GgufWriter::new();
        w.set("tokenizer.ggml.model", "gpt2").unwrap();
        Tokenizer::from_gguf(&GgufFile::from_bytes(w.to_bytes()).unwrap()).unwrap_err()
    };
    assert!(matches!(&missing, Error::Model { item, .. } if item == "tokenizer.ggml.tokens"), "{missing}");
    let mismatch = tiny(vec!["a", "b", "c"], Some(vec![1, 1])).unwrap_err();
    assert!(
        matches!(&mismatch, Error::Model { item, why, .. } if item == "tokenizer.ggml.token_type" && why.contains("2 entries for 3")),
        "{mismatch}"
    );
}
