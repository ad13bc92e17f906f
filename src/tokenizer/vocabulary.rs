//! The vocabulary a GGUF file carries (`tokenizer.ggml.*`), read and checked.

use crate::error::{Error, Result};
use crate::gguf::GgufFile;

/// `tokenizer.ggml.token_type` values.
pub mod token_type {
    /// An ordinary token.
    pub const NORMAL: i32 = 1;
    /// The unknown token.
    pub const UNKNOWN: i32 = 2;
    /// A control token (`<|im_start|>`, `</s>`): matched as one unit in text, never split.
    pub const CONTROL: i32 = 3;
    /// A user-defined token, also matched as one unit.
    pub const USER_DEFINED: i32 = 4;
    /// An unused slot.
    pub const UNUSED: i32 = 5;
    /// A byte token (`<0x0A>`, SentencePiece byte fallback).
    pub const BYTE: i32 = 6;
}

/// The tokenizer description of a GGUF file.
#[derive(Clone, Debug, PartialEq)]
pub struct Vocabulary {
    /// `tokenizer.ggml.model`: `gpt2` (byte-level BPE) or `llama` (SentencePiece).
    pub model: String,
    /// `tokenizer.ggml.pre`: the pre-tokenizer (`smollm`, `llama-bpe`, `qwen2`, `gpt2`, ...).
    pub pre: String,
    /// Token texts; the id is the index.
    pub tokens: Vec<String>,
    /// One [`token_type`] per token (all normal when the file has none).
    pub token_types: Vec<i32>,
    /// SentencePiece scores (empty when absent).
    pub scores: Vec<f32>,
    /// BPE merges, `(left, right)` in priority order.
    pub merges: Vec<(String, String)>,
    /// Beginning-of-text token.
    pub bos: Option<u32>,
    /// End-of-text token.
    pub eos: Option<u32>,
    /// End-of-turn token (`tokenizer.ggml.eot_token_id`).
    pub eot: Option<u32>,
    /// Unknown token.
    pub unknown: Option<u32>,
    /// Padding token.
    pub padding: Option<u32>,
    /// Whether a prompt starts with BOS (`tokenizer.ggml.add_bos_token`, default true for
    /// SentencePiece and false for byte-level BPE, as llama.cpp does).
    pub add_bos: bool,
    /// Whether SentencePiece text gets a leading space (`tokenizer.ggml.add_space_prefix`).
    pub add_space_prefix: bool,
}

impl Vocabulary {
    /// Reads the vocabulary, with an [`Error::Model`] naming the key that is missing or
    /// inconsistent (lengths that disagree, special ids past the vocabulary, malformed merges).
    pub fn from_gguf(file: &GgufFile) -> Result<Vocabulary> {
        let bad = |item: &str, why: String| Error::Model { model: file.path().into(), item: item.into(), why };
        let model =
            file.get_str("tokenizer.ggml.model")?.ok_or_else(|| bad("tokenizer.ggml.model", "missing".into()))?;
        let tokens: Vec<String> = file
            .get_str_array("tokenizer.ggml.tokens")?
            .ok_or_else(|| bad("tokenizer.ggml.tokens", "missing".into()))?
            .into_iter()
            .map(str::to_owned)
            .collect();
        if tokens.is_empty() || tokens.len() > u32::MAX as usize {
            return Err(bad("tokenizer.ggml.tokens", format!("{} tokens", tokens.len())));
        }
        let token_types = file.get_i32_array("tokenizer.ggml.token_type")?.unwrap_or_else(|| vec![1; tokens.len()]);
        if token_types.len() != tokens.len() {
            return Err(bad(
                "tokenizer.ggml.token_type",
                format!("{} entries for {} tokens", token_types.len(), tokens.len()),
            ));
        }
        let scores = file.get_f32_array("tokenizer.ggml.scores")?.unwrap_or_default();
        if !scores.is_empty() && scores.len() != tokens.len() {
            return Err(bad("tokenizer.ggml.scores", format!("{} entries for {} tokens", scores.len(), tokens.len())));
        }
        let merges = file
            .get_str_array("tokenizer.ggml.merges")?
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                m.split_once(' ')
                    .map(|(l, r)| (l.to_owned(), r.to_owned()))
                    .ok_or_else(|| bad("tokenizer.ggml.merges", format!("entry {i} `{m}` is not `left right`")))
            })
            .collect::<Result<Vec<_>>>()?;
        let id = |key: &str| -> Result<Option<u32>> {
            match file.get_u64(key)? {
                None => Ok(None),
                Some(v) if (v as usize) < tokens.len() => Ok(Some(v as u32)),
                Some(v) => Err(bad(key, format!("id {v} is past the {} tokens", tokens.len()))),
            }
        };
        let sentencepiece = model == "llama";
        Ok(Vocabulary {
            model: model.to_owned(),
            pre: file.get_str("tokenizer.ggml.pre")?.unwrap_or("default").to_owned(),
            bos: id("tokenizer.ggml.bos_token_id")?,
            eos: id("tokenizer.ggml.eos_token_id")?,
            eot: id("tokenizer.ggml.eot_token_id")?,
            unknown: id("tokenizer.ggml.unknown_token_id")?,
            padding: id("tokenizer.ggml.padding_token_id")?,
            add_bos: file.get_bool("tokenizer.ggml.add_bos_token")?.unwrap_or(sentencepiece),
            add_space_prefix: file.get_bool("tokenizer.ggml.add_space_prefix")?.unwrap_or(sentencepiece),
            tokens,
            token_types,
            scores,
            merges,
        })
    }
}
