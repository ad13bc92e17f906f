//! Decoding ids one at a time into text that is safe to print as it comes.

use super::Tokenizer;
use crate::error::Result;

/// Decodes a growing id sequence, returning only text that is complete: bytes of a character
/// split across tokens are held back until the character is whole.
pub struct TokenStream<'a> {
    tokenizer: &'a Tokenizer,
    ids: Vec<u32>,
    /// Bytes of the decoded `ids` already returned.
    printed: usize,
}

impl<'a> TokenStream<'a> {
    pub(super) fn new(tokenizer: &'a Tokenizer) -> Self {
        TokenStream { tokenizer, ids: Vec::new(), printed: 0 }
    }

    /// Adds `id`; returns the text that became complete (possibly empty).
    pub fn push(&mut self, id: u32) -> Result<String> {
        self.tokenizer.check_ids(&[id])?;
        self.ids.push(id);
        let text = self.tokenizer.decode(&self.ids)?;
        // An incomplete UTF-8 sequence decodes to U+FFFD at the end: wait for the next token.
        if text.ends_with('\u{FFFD}') {
            return Ok(String::new());
        }
        let new = text.get(self.printed..).unwrap_or_default().to_string();
        self.printed = text.len();
        // Restart from here, so decoding stays linear in the tokens of one character.
        self.ids.clear();
        self.printed = 0;
        Ok(new)
    }

    /// What is left (an incomplete character, written as U+FFFD).
    pub fn finish(&mut self) -> String {
        let text = self.tokenizer.decode(&self.ids).unwrap_or_default();
        self.ids.clear();
        text.get(self.printed..).unwrap_or_default().to_string()
    }
}
