//! Metadata values: the 13 GGUF value types, how they are read (checked) and written.

use super::MAX_ARRAY_DEPTH;
use super::read::{Reader, Short};

/// A metadata value, one variant per GGUF value type (ids 0–12, in that order).
#[derive(Clone, Debug, PartialEq)]
pub enum MetaValue {
    /// Type 0.
    U8(u8),
    /// Type 1.
    I8(i8),
    /// Type 2.
    U16(u16),
    /// Type 3.
    I16(i16),
    /// Type 4.
    U32(u32),
    /// Type 5.
    I32(i32),
    /// Type 6.
    F32(f32),
    /// Type 7 (stored as one byte, 0 or 1).
    Bool(bool),
    /// Type 8: UTF-8 with a u64 length.
    String(String),
    /// Type 9: one element type, a u64 count, the elements; arrays may nest. All elements have
    /// the same variant (the writer refuses mixed arrays).
    Array(Vec<MetaValue>),
    /// Type 10.
    U64(u64),
    /// Type 11.
    I64(i64),
    /// Type 12.
    F64(f64),
}

/// The GGUF type id of strings and arrays.
const STRING: u32 = 8;
const ARRAY: u32 = 9;

/// The GGUF name of a value type id (`"u32"`, `"string"`, `"array"`), if it is one.
pub(crate) fn type_name(id: u32) -> Option<&'static str> {
    const NAMES: [&str; 13] =
        ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"];
    NAMES.get(id as usize).copied()
}

/// The fewest bytes a value of type `id` takes in a file (for bounding array counts).
fn min_bytes(id: u32) -> usize {
    match id {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        STRING => 8,
        ARRAY => 12,
        _ => 8,
    }
}

impl MetaValue {
    /// The GGUF value type id (0 for u8 ... 12 for f64).
    pub fn type_id(&self) -> u32 {
        match self {
            MetaValue::U8(_) => 0,
            MetaValue::I8(_) => 1,
            MetaValue::U16(_) => 2,
            MetaValue::I16(_) => 3,
            MetaValue::U32(_) => 4,
            MetaValue::I32(_) => 5,
            MetaValue::F32(_) => 6,
            MetaValue::Bool(_) => 7,
            MetaValue::String(_) => STRING,
            MetaValue::Array(_) => ARRAY,
            MetaValue::U64(_) => 10,
            MetaValue::I64(_) => 11,
            MetaValue::F64(_) => 12,
        }
    }

    /// The GGUF name of the value's type (`"u32"`, `"string"`, `"array"`).
    pub fn type_name(&self) -> &'static str {
        type_name(self.type_id()).unwrap_or("?")
    }

    /// The value as an i128 when it is an integer of any width (exact for every one of them).
    pub fn as_integer(&self) -> Option<i128> {
        Some(match *self {
            MetaValue::U8(v) => v.into(),
            MetaValue::I8(v) => v.into(),
            MetaValue::U16(v) => v.into(),
            MetaValue::I16(v) => v.into(),
            MetaValue::U32(v) => v.into(),
            MetaValue::I32(v) => v.into(),
            MetaValue::U64(v) => v.into(),
            MetaValue::I64(v) => v.into(),
            _ => return None,
        })
    }

    /// The value as a u64 when it is an integer that fits (`I32(-1)` does not).
    pub fn as_u64(&self) -> Option<u64> {
        self.as_integer().and_then(|v| u64::try_from(v).ok())
    }

    /// The value as an f64 when it is an f32 or f64.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            MetaValue::F32(v) => Some(v.into()),
            MetaValue::F64(v) => Some(v),
            _ => None,
        }
    }

    /// The value when it is a bool.
    pub fn as_bool(&self) -> Option<bool> {
        if let MetaValue::Bool(b) = *self { Some(b) } else { None }
    }

    /// The value when it is a string.
    pub fn as_str(&self) -> Option<&str> {
        if let MetaValue::String(s) = self { Some(s) } else { None }
    }

    /// The elements when the value is an array.
    pub fn as_array(&self) -> Option<&[MetaValue]> {
        if let MetaValue::Array(a) = self { Some(a) } else { None }
    }

    /// Reads a value of type `id` (checked: bools 0/1, strings UTF-8, array counts bounded by the
    /// bytes left, nesting at most [`MAX_ARRAY_DEPTH`]).
    pub(crate) fn read(r: &mut Reader<'_>, id: u32, depth: usize) -> Result<MetaValue, Short> {
        Ok(match id {
            0 => MetaValue::U8(r.u8()?),
            1 => MetaValue::I8(r.i8()?),
            2 => MetaValue::U16(r.u16()?),
            3 => MetaValue::I16(r.i16()?),
            4 => MetaValue::U32(r.u32()?),
            5 => MetaValue::I32(r.i32()?),
            6 => MetaValue::F32(r.f32()?),
            7 => {
                let at = r.pos();
                match r.u8()? {
                    0 => MetaValue::Bool(false),
                    1 => MetaValue::Bool(true),
                    b => return Err(Short::new(at, format!("bool must be 0 or 1, found {b}"))),
                }
            }
            STRING => MetaValue::String(r.str()?.to_owned()),
            ARRAY => MetaValue::Array(Self::read_array(r, depth)?),
            10 => MetaValue::U64(r.u64()?),
            11 => MetaValue::I64(r.i64()?),
            12 => MetaValue::F64(r.f64()?),
            other => return Err(Short::new(r.pos(), format!("unknown value type {other} (GGUF has 0 to 12)"))),
        })
    }

    fn read_array(r: &mut Reader<'_>, depth: usize) -> Result<Vec<MetaValue>, Short> {
        let at = r.pos();
        if depth >= MAX_ARRAY_DEPTH {
            return Err(Short::new(at, format!("arrays nested deeper than {MAX_ARRAY_DEPTH}")));
        }
        let elem = r.u32()?;
        let Some(elem_name) = type_name(elem) else {
            return Err(Short::new(at, format!("unknown array element type {elem} (GGUF has 0 to 12)")));
        };
        let n = r.count(min_bytes(elem), &format!("{elem_name} elements"))?;
        // `count` checked that n elements fit in the bytes left, so the allocation is bounded by
        // the file's size (times the size of a MetaValue).
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            out.push(Self::read(r, elem, depth + 1).map_err(|mut e| {
                e.index.push(i as u64);
                e
            })?);
        }
        Ok(out)
    }

    /// Why this value cannot be written (an array whose elements have different types), if so.
    pub(crate) fn check_writable(&self) -> Result<(), String> {
        if let MetaValue::Array(a) = self {
            for (i, v) in a.iter().enumerate() {
                if v.type_id() != a[0].type_id() {
                    return Err(format!("array element {i} is {}, element 0 is {}", v.type_name(), a[0].type_name()));
                }
                v.check_writable().map_err(|e| format!("element {i}: {e}"))?;
            }
        }
        Ok(())
    }

    /// Appends the value's bytes (without its type id) to `out`. An empty array is written with
    /// element type u8.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        match self {
            MetaValue::U8(v) => out.push(*v),
            MetaValue::I8(v) => out.extend_from_slice(&v.to_le_bytes()),
            MetaValue::U16(v) => out.extend_from_slice(&v.to_le_bytes()),
            MetaValue::I16(v) => out.extend_from_slice(&v.to_le_bytes()),
            MetaValue::U32(v) => out.extend_from_slice(&v.to_le_bytes()),
            MetaValue::I32(v) => out.extend_from_slice(&v.to_le_bytes()),
            MetaValue::F32(v) => out.extend_from_slice(&v.to_le_bytes()),
            MetaValue::Bool(v) => out.push(u8::from(*v)),
            MetaValue::String(s) => write_str(out, s),
            MetaValue::Array(a) => {
                out.extend_from_slice(&a.first().map_or(0, MetaValue::type_id).to_le_bytes());
                out.extend_from_slice(&(a.len() as u64).to_le_bytes());
                for v in a {
                    v.write(out);
                }
            }
            MetaValue::U64(v) => out.extend_from_slice(&v.to_le_bytes()),
            MetaValue::I64(v) => out.extend_from_slice(&v.to_le_bytes()),
            MetaValue::F64(v) => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
}

/// Appends a GGUF string (u64 length, bytes).
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Generates `From<scalar>` for the variants.
macro_rules! from_scalar {
    ($($t:ty => $v:ident),* $(,)?) => {$(
        impl From<$t> for MetaValue {
            #[doc = concat!("A `", stringify!($v), "` value.")]
            fn from(v: $t) -> Self {
                MetaValue::$v(v)
            }
        }
    )*};
}

from_scalar!(u8 => U8, i8 => I8, u16 => U16, i16 => I16, u32 => U32, i32 => I32, f32 => F32, bool => Bool,
    String => String, u64 => U64, i64 => I64, f64 => F64);

impl From<&str> for MetaValue {
    /// A `String` value.
    fn from(v: &str) -> Self {
        MetaValue::String(v.to_owned())
    }
}

impl<T: Into<MetaValue>> From<Vec<T>> for MetaValue {
    /// An `Array` of the converted elements.
    fn from(v: Vec<T>) -> Self {
        MetaValue::Array(v.into_iter().map(Into::into).collect())
    }
}
