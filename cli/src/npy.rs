//! Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
//!
//! Reads little-endian float32, float16, int32 and int64 (narrowed to int32 with a range check)
//! arrays in C order; anything else is refused with a message naming the file and what to do.
//! Writes version 1.0 files with the header padded to 64 bytes, as NumPy does.

use crate::error::{CliError, Result};
use edgehal::{DType, Tensor};
use std::path::Path;

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The element types this reader accepts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Descr {
    F32,
    F16,
    I32,
    I64,
}

impl Descr {
    fn parse(s: &str) -> std::result::Result<Self, String> {
        match s {
            "<f4" => Ok(Descr::F32),
            "<f2" => Ok(Descr::F16),
            "<i4" => Ok(Descr::I32),
            "<i8" => Ok(Descr::I64),
            _ if s.starts_with('>') => Err(format!("big-endian dtype '{s}' is not supported; save little-endian data")),
            "<f8" => Err("dtype float64 ('<f8') is not supported; convert with .astype(np.float32)".into()),
            _ => Err(format!("dtype '{s}' is not supported; use float32, float16, int32 or int64")),
        }
    }

    fn size(self) -> usize {
        match self {
            Descr::F16 => 2,
            Descr::F32 | Descr::I32 => 4,
            Descr::I64 => 8,
        }
    }
}

/// The fields of a `.npy` header.
#[derive(Debug, PartialEq)]
struct Header {
    descr: Descr,
    shape: Vec<usize>,
}

/// Reads `path` as a tensor: f32, f16, or i32 (from int32 or range-checked int64).
pub fn read(path: &Path) -> Result<Tensor> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| CliError::io(&name, e))?;
    parse(&bytes).map_err(|why| CliError::Npy { path: name, why })
}

/// Parses the bytes of a `.npy` file.
pub fn parse(bytes: &[u8]) -> std::result::Result<Tensor, String> {
    let (header, data) = split_header(bytes)?;
    let elems = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("shape {:?} is too large", header.shape))?;
    let expected =
        elems.checked_mul(header.descr.size()).ok_or_else(|| format!("shape {:?} is too large", header.shape))?;
    if data.len() < expected {
        return Err(format!(
            "truncated: shape {:?} needs {expected} data bytes, the file has {}",
            header.shape,
            data.len()
        ));
    }
    if data.len() > expected {
        return Err(format!(
            "{} bytes of data after the {expected} that shape {:?} needs (corrupt file?)",
            data.len() - expected,
            header.shape
        ));
    }
    let shape = header.shape.clone();
    let tensor = match header.descr {
        Descr::F32 => Tensor::from_bytes(DType::F32, shape, data),
        Descr::F16 => Tensor::from_bytes(DType::F16, shape, data),
        Descr::I32 => Tensor::from_bytes(DType::I32, shape, data),
        Descr::I64 => {
            let mut narrowed = Vec::with_capacity(elems);
            for (i, chunk) in data.chunks_exact(8).enumerate() {
                let v = i64::from_le_bytes(chunk.try_into().expect("chunks of 8"));
                let v =
                    i32::try_from(v).map_err(|_| format!("int64 value {v} at flat index {i} does not fit in int32"))?;
                narrowed.push(v);
            }
            Tensor::from_i32(shape, &narrowed)
        }
    };
    tensor.map_err(|e| e.to_string())
}

/// Splits a file into its parsed header and the data bytes after it.
fn split_header(bytes: &[u8]) -> std::result::Result<(Header, &[u8]), String> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a .npy file (it does not start with \\x93NUMPY)".into());
    }
    let (major, minor) = match bytes.get(6..8) {
        Some(v) => (v[0], v[1]),
        None => return Err("truncated: the file ends inside the .npy preamble".into()),
    };
    let (len_bytes, start): (usize, usize) = match major {
        1 => (2, 10),
        2 | 3 => (4, 12),
        _ => return Err(format!(".npy format version {major}.{minor} is not supported (1.0, 2.0 and 3.0 are)")),
    };
    let len_field = bytes.get(8..8 + len_bytes).ok_or("truncated: the file ends inside the .npy preamble")?;
    let header_len = len_field.iter().rev().fold(0usize, |acc, &b| (acc << 8) | b as usize);
    let header = bytes
        .get(start..start.saturating_add(header_len))
        .ok_or_else(|| format!("truncated: the header should be {header_len} bytes, the file ends before"))?;
    let text = std::str::from_utf8(header).map_err(|_| "the header is not valid text".to_string())?;
    Ok((parse_header_dict(text)?, &bytes[start + header_len..]))
}

/// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
fn parse_header_dict(text: &str) -> std::result::Result<Header, String> {
    let mut p = DictParser { s: text.trim_end().as_bytes(), i: 0 };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    p.expect(b'{')?;
    loop {
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        p.skip_ws();
        p.expect(b':')?;
        p.skip_ws();
        match key.as_str() {
            "descr" => descr = Some(p.string()?),
            "fortran_order" => fortran = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            other => return Err(format!("unexpected header key '{other}'")),
        }
        p.skip_ws();
        if !p.eat(b',') {
            p.skip_ws();
            p.expect(b'}')?;
            break;
        }
    }
    p.skip_ws();
    if p.i != p.s.len() {
        return Err("malformed header: text after the closing brace".into());
    }
    let descr = descr.ok_or("malformed header: no 'descr'")?;
    let shape = shape.ok_or("malformed header: no 'shape'")?;
    if fortran.ok_or("malformed header: no 'fortran_order'")? {
        return Err("Fortran-order arrays are not supported; save with np.ascontiguousarray(a)".into());
    }
    Ok(Header { descr: Descr::parse(&descr)?, shape })
}

/// A cursor over the header's Python-literal dict.
struct DictParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl DictParser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.s.get(self.i) == Some(&c);
        self.i += hit as usize;
        hit
    }

    fn expect(&mut self, c: u8) -> std::result::Result<(), String> {
        if self.eat(c) { Ok(()) } else { Err(format!("malformed header: expected '{}' at byte {}", c as char, self.i)) }
    }

    fn string(&mut self) -> std::result::Result<String, String> {
        let quote = match self.s.get(self.i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("malformed header: expected a quoted string at byte {}", self.i)),
        };
        let start = self.i + 1;
        let len = self.s[start..].iter().position(|&c| c == quote).ok_or("malformed header: unterminated string")?;
        self.i = start + len + 1;
        Ok(String::from_utf8_lossy(&self.s[start..start + len]).into_owned())
    }

    fn boolean(&mut self) -> std::result::Result<bool, String> {
        for (word, value) in [(&b"True"[..], true), (&b"False"[..], false)] {
            if self.s[self.i..].starts_with(word) {
                self.i += word.len();
                return Ok(value);
            }
        }
        Err(format!("malformed header: expected True or False at byte {}", self.i))
    }

    fn tuple(&mut self) -> std::result::Result<Vec<usize>, String> {
        self.expect(b'(')?;
        let mut dims = Vec::new();
        loop {
            self.skip_ws();
            if self.eat(b')') {
                return Ok(dims);
            }
            let start = self.i;
            while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                self.i += 1;
            }
            let digits = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
            let dim =
                digits.parse().map_err(|_| format!("malformed header: bad dimension in shape at byte {start}"))?;
            dims.push(dim);
            self.skip_ws();
            if !self.eat(b',') {
                self.skip_ws();
                self.expect(b')')?;
                return Ok(dims);
            }
        }
    }
}

/// Writes `tensor` to `path`: f32, f16 and i32 as themselves, every other dtype converted to f32.
pub fn write(path: &Path, tensor: &Tensor) -> Result<()> {
    let bytes = encode(tensor)?;
    crate::error::write_file(path, bytes)
}

/// The bytes of a `.npy` file holding `tensor` (see [`write`]).
pub fn encode(tensor: &Tensor) -> Result<Vec<u8>> {
    let (descr, data): (&str, Vec<u8>) = match tensor.dtype() {
        DType::F32 => ("<f4", tensor.bytes().to_vec()),
        DType::F16 => ("<f2", tensor.bytes().to_vec()),
        DType::I32 => ("<i4", tensor.bytes().to_vec()),
        _ => ("<f4", tensor.to_f32_vec()?.iter().flat_map(|v| v.to_le_bytes()).collect()),
    };
    let dims: Vec<String> = tensor.shape().iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad with spaces so that the data starts on a 64-byte boundary; the header ends in '\n'.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let header_len = u16::try_from(header.len()).map_err(|_| CliError::Usage("npy header too long".into()))?;
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&header_len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&data);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

    fn round_trip(t: &Tensor) -> Tensor {
        parse(&encode(t).unwrap()).unwrap()
    }

    #[test]
    fn round_trips_every_written_dtype() {
        let f = Tensor::from_f32([2, 3], &[1.5, -2.0, 3.25, 0.1, 7.0, -0.5]).unwrap();
        assert_eq!(round_trip(&f), f);
        let h = Tensor::from_f16([3], &[f16::from_f32(0.5), f16::from_f32(-1.0), f16::from_f32(3.0)]).unwrap();
        assert_eq!(round_trip(&h), h);
        let i = Tensor::from_i32([2, 1, 2], &[1, -7, 300, 4]).unwrap();
        assert_eq!(round_trip(&i), i);
        let scalar = Tensor::from_f32(Vec::<usize>::new(), &[4.0]).unwrap();
        assert_eq!(round_trip(&scalar), scalar);
    }

    #[test]
    fn header_is_padded_to_64_bytes() {
        let bytes = encode(&Tensor::from_f32([5], &[1.0; 5]).unwrap()).unwrap();
        assert_eq!((bytes.len() - 20) % 64, 0);
        assert_eq!(bytes[bytes.len() - 21], b'\n');
    }

    #[test]
    fn parses_numpy_written_headers() {
        let h = parse_header_dict("{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }     ").unwrap();
        assert_eq!(h, Header { descr: Descr::I64, shape: vec![4] });
        let h = parse_header_dict("{\"shape\": (), \"fortran_order\": False, \"descr\": \"<f2\"}").unwrap();
        assert_eq!(h, Header { descr: Descr::F16, shape: vec![] });
    }

    #[test]
    fn rejects_bad_headers() {
        let err = |s: &str| parse_header_dict(s).unwrap_err();
        assert!(err("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }").contains("Fortran"));
        assert!(err("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }").contains("float64"));
        assert!(err("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }").contains("big-endian"));
        assert!(err("{'descr': '<f4', 'shape': (2,), }").contains("fortran_order"));
        assert!(err("{'descr': '<f4', 'fortran_order': False, 'shape': (2,x), }").contains("malformed"));
        assert!(err("{'descr': '<f4'").contains("malformed"));
    }

    #[test]
    fn int64_is_narrowed_with_a_range_check() {
        let mut bytes = encode(&Tensor::from_i32([2], &[0, 0]).unwrap()).unwrap();
        let at = bytes.windows(3).position(|w| w == b"<i4").unwrap();
        bytes[at + 2] = b'8';
        bytes.extend_from_slice(&[0; 8]);
        let n = bytes.len();
        bytes[n - 16..n - 8].copy_from_slice(&(-5i64).to_le_bytes());
        bytes[n - 8..].copy_from_slice(&9i64.to_le_bytes());
        assert_eq!(parse(&bytes).unwrap().as_i32().unwrap(), &[-5, 9]);
        bytes[n - 8..].copy_from_slice(&(1i64 << 40).to_le_bytes());
        assert!(parse(&bytes).unwrap_err().contains("does not fit in int32"));
    }

    #[test]
    fn truncated_and_overlong_data_are_refused() {
        let bytes = encode(&Tensor::from_f32([4], &[1.0; 4]).unwrap()).unwrap();
        assert!(parse(&bytes[..bytes.len() - 1]).unwrap_err().contains("truncated"));
        assert!(parse(&bytes[..9]).unwrap_err().contains("truncated"));
        assert!(parse(&bytes[..30]).unwrap_err().contains("truncated"));
        let mut long = bytes.clone();
        long.push(0);
        assert!(parse(&long).unwrap_err().contains("after"));
        assert!(parse(b"PK\x03\x04 not npy").unwrap_err().contains("not a .npy"));
    }
}
