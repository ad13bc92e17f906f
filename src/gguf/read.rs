//! A little-endian cursor over the file's bytes whose every read is bounds-checked.
//!
//! Reads fail with a [`Short`]: the offset and what is wrong, without the field's name, which the
//! caller adds (only on failure, so the hot path formats nothing).

use crate::error::Error;

/// A failed read: where and why; `index` is the path of array indices down to the failing element
/// (innermost last after [`Short::field`] reverses it), filled in as the error bubbles up.
#[derive(Debug)]
pub(crate) struct Short {
    /// Byte offset in the file.
    pub offset: u64,
    /// What is wrong.
    pub why: String,
    /// Array indices from the innermost array outwards.
    pub index: Vec<u64>,
}

impl Short {
    /// A failure at `offset`.
    pub fn new(offset: usize, why: impl Into<String>) -> Self {
        Short { offset: offset as u64, why: why.into(), index: Vec::new() }
    }

    /// The error, with `field` (plus the array indices, if any) as the field's name.
    pub fn field(self, path: &str, field: impl Into<String>) -> Error {
        let mut field = field.into();
        for i in self.index.iter().rev() {
            field.push_str(&format!("[{i}]"));
        }
        gguf_error(path, field, self.offset, self.why)
    }
}

/// An [`Error::Gguf`].
pub(crate) fn gguf_error(path: &str, field: impl Into<String>, offset: u64, why: impl Into<String>) -> Error {
    Error::Gguf { path: path.to_string(), field: field.into(), offset, why: why.into() }
}

/// Bounds-checked little-endian reads from a byte slice.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Generates the fixed-size little-endian readers.
macro_rules! read_le {
    ($($name:ident: $t:ty),* $(,)?) => {$(
        #[doc = concat!("Reads a little-endian `", stringify!($t), "`.")]
        pub fn $name(&mut self) -> Result<$t, Short> {
            let b = self.take(size_of::<$t>())?;
            let mut a = [0u8; size_of::<$t>()];
            a.copy_from_slice(b);
            Ok(<$t>::from_le_bytes(a))
        }
    )*};
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// The current offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left after the current offset.
    pub fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Short> {
        if n > self.left() {
            return Err(Short::new(
                self.pos,
                format!(
                    "truncated: needs {n} bytes, the file ends {} bytes later (at {})",
                    self.left(),
                    self.buf.len()
                ),
            ));
        }
        let b = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    read_le!(u8: u8, i8: i8, u16: u16, i16: i16, u32: u32, i32: i32, u64: u64, i64: i64, f32: f32, f64: f64);

    /// Reads a u64 count of items that take at least `min_bytes` each, refusing counts that the
    /// bytes left could not hold (so a count can safely size an allocation).
    pub fn count(&mut self, min_bytes: usize, what: &str) -> Result<usize, Short> {
        let at = self.pos;
        let n = self.u64()?;
        let fits = usize::try_from(n).ok().and_then(|n| n.checked_mul(min_bytes)).is_some_and(|b| b <= self.left());
        if !fits {
            return Err(Short::new(
                at,
                format!("{n} {what} of at least {min_bytes} bytes each cannot fit in the {} bytes left", self.left()),
            ));
        }
        Ok(n as usize)
    }

    /// Reads a GGUF string: a u64 length and that many bytes of UTF-8.
    pub fn str(&mut self) -> Result<&'a str, Short> {
        let at = self.pos;
        let len = self.u64()?;
        let Some(len) = usize::try_from(len).ok().filter(|&l| l <= self.left()) else {
            return Err(Short::new(
                at,
                format!("string length {len} is more than the {} bytes left in the file", self.left()),
            ));
        };
        let start = self.pos;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes).map_err(|e| {
            Short::new(
                start + e.valid_up_to(),
                format!("string is not valid UTF-8 (at byte {} of it)", e.valid_up_to()),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gguf_reader_checks_bounds() {
        let mut r = Reader::new(&[1, 0, 0, 0, 5]);
        assert_eq!(r.u32().unwrap(), 1);
        let e = r.u32().unwrap_err();
        assert_eq!(e.offset, 4);
        assert!(e.why.contains("truncated"), "{}", e.why);
        assert_eq!(r.pos(), 4, "a failed read consumes nothing");
        assert_eq!(r.u8().unwrap(), 5);

        let mut huge = u64::MAX.to_le_bytes().to_vec();
        huge.extend_from_slice(b"abc");
        assert!(Reader::new(&huge).str().unwrap_err().why.contains("string length"));
        assert!(Reader::new(&huge).count(1, "things").unwrap_err().why.contains("cannot fit"));
        let mut bad = 2u64.to_le_bytes().to_vec();
        bad.extend_from_slice(&[0xC3, 0x28]);
        let e = Reader::new(&bad).str().unwrap_err();
        assert!(e.why.contains("UTF-8") && e.offset == 8, "{e:?}");
    }
}
