//! A tokenizer built from a GGUF file's own vocabulary, on Hugging Face's `tokenizers` crate.
//!
//! Supported: `tokenizer.ggml.model = "gpt2"` (byte-level BPE with merges), with the
//! pre-tokenizer that `tokenizer.ggml.pre` names: `smollm` (every digit alone, then the GPT-2
//! split), `llama-bpe`/`llama3`, `qwen2`, and `gpt2`/`default` (and any other name) as the GPT-2
//! split. Control and user-defined tokens in the text (`<|im_start|>`) are matched whole.
//! SentencePiece vocabularies (`llama`) are refused with a typed error: rebuilding their merges
//! from scores is not done yet.

mod stream;
mod vocabulary;

pub use stream::TokenStream;
pub use vocabulary::{Vocabulary, token_type};

use crate::error::{Error, Result};
use crate::gguf::GgufFile;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, PreTokenizerWrapper, SplitDelimiterBehavior};

/// The Llama-3 split (contractions, letters, 1–3 digits, punctuation, spaces).
const LLAMA3_SPLIT: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen2's split (as Llama-3's, digits one at a time).
const QWEN2_SPLIT: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Control-token texts that end a generation besides EOS/EOT.
const END_TEXTS: [&str; 5] = ["<|im_end|>", "<|endoftext|>", "</s>", "<|eot_id|>", "<|end|>"];

/// Text to token ids and back.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    vocab: Vocabulary,
    ends: Vec<u32>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("model", &self.vocab.model)
            .field("pre", &self.vocab.pre)
            .field("tokens", &self.vocab.tokens.len())
            .finish()
    }
}

fn tok_error(why: impl std::fmt::Display) -> Error {
    Error::Model { model: "tokenizer".into(), item: "tokenizer".into(), why: why.to_string() }
}

impl Tokenizer {
    /// The tokenizer of `file` (see the module docs for what is supported).
    pub fn from_gguf(file: &GgufFile) -> Result<Tokenizer> {
        Tokenizer::new(Vocabulary::from_gguf(file)?)
    }

    /// Builds the tokenizer for `vocab`.
    pub fn new(vocab: Vocabulary) -> Result<Tokenizer> {
        if vocab.model != "gpt2" {
            return Err(Error::Model {
                model: "tokenizer".into(),
                item: "tokenizer.ggml.model".into(),
                why: format!("`{}` is not supported (byte-level BPE `gpt2` is)", vocab.model),
            });
        }
        let map: tokenizers::models::bpe::Vocab =
            vocab.tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let bpe = BPE::builder().vocab_and_merges(map, vocab.merges.clone()).build().map_err(tok_error)?;
        let mut inner = tokenizers::Tokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(pre_tokenizer(&vocab.pre)?));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        let special: Vec<AddedToken> = vocab
            .tokens
            .iter()
            .zip(&vocab.token_types)
            .filter(|(_, t)| matches!(**t, token_type::CONTROL | token_type::USER_DEFINED))
            .map(|(text, _)| AddedToken::from(text.clone(), true))
            .collect();
        inner.add_special_tokens(&special);
        let mut ends: Vec<u32> = vocab.eos.into_iter().chain(vocab.eot).collect();
        for (i, (text, t)) in vocab.tokens.iter().zip(&vocab.token_types).enumerate() {
            if *t == token_type::CONTROL && END_TEXTS.contains(&text.as_str()) {
                ends.push(i as u32);
            }
        }
        Ok(Tokenizer { inner, vocab, ends })
    }

    /// Token ids of `text`, with BOS first when `add_bos` (and the vocabulary has one).
    pub fn encode(&self, text: &str, add_bos: bool) -> Result<Vec<u32>> {
        let encoding = self.inner.encode(text, false).map_err(tok_error)?;
        let bos = self.vocab.bos.filter(|_| add_bos);
        Ok(bos.into_iter().chain(encoding.get_ids().iter().copied()).collect())
    }

    /// The text of `ids` (control tokens written out). A typed error for an id past the vocabulary.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.check_ids(ids)?;
        self.inner.decode(ids, false).map_err(tok_error)
    }

    fn check_ids(&self, ids: &[u32]) -> Result<()> {
        match ids.iter().find(|&&id| id as usize >= self.vocab.tokens.len()) {
            None => Ok(()),
            Some(id) => Err(Error::Input(format!(
                "token id {id} is outside the vocabulary of {} tokens",
                self.vocab.tokens.len()
            ))),
        }
    }

    /// A decoder for ids arriving one at a time.
    pub fn stream(&self) -> TokenStream<'_> {
        TokenStream::new(self)
    }

    /// Tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.vocab.tokens.len()
    }

    /// The vocabulary this was built from.
    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocab
    }

    /// Beginning-of-text id.
    pub fn bos(&self) -> Option<u32> {
        self.vocab.bos
    }

    /// End-of-text id.
    pub fn eos(&self) -> Option<u32> {
        self.vocab.eos
    }

    /// Whether the file asks for BOS at the start of a prompt.
    pub fn add_bos_default(&self) -> bool {
        self.vocab.add_bos
    }

    /// Whether `id` ends a generation: EOS, EOT, or a control token written `<|im_end|>`,
    /// `<|endoftext|>`, `</s>`, `<|eot_id|>` or `<|end|>`.
    pub fn is_end(&self, id: u32) -> bool {
        self.ends.contains(&id)
    }

    /// The stored text of token `id` (byte-level form), if it exists.
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.vocab.tokens.get(id as usize).map(String::as_str)
    }
}

/// The pre-tokenizer `tokenizer.ggml.pre` names.
fn pre_tokenizer(pre: &str) -> Result<PreTokenizerWrapper> {
    let split = |pattern: &str| -> Result<PreTokenizerWrapper> {
        let s = Split::new(SplitPattern::Regex(pattern.into()), SplitDelimiterBehavior::Isolated, false)
            .map_err(tok_error)?;
        Ok(Sequence::new(vec![s.into(), ByteLevel::new(false, true, false).into()]).into())
    };
    match pre {
        "smollm" => Ok(Sequence::new(vec![Digits::new(true).into(), ByteLevel::new(false, true, true).into()]).into()),
        "llama-bpe" | "llama3" => split(LLAMA3_SPLIT),
        "qwen2" => split(QWEN2_SPLIT),
        _ => Ok(ByteLevel::new(false, true, true).into()),
    }
}
