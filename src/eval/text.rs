//! String functions: CONCAT, LOWER/UPPER, LENGTH/CHAR_LENGTH.

use super::value::{Val, BINARY, DEFAULT_COLLATION};
use crate::collation::Collation;
use bytes::Bytes;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Charset {
    Utf8,
    Latin1,
    Binary,
}

fn charset(collation: u16) -> Charset {
    use Collation::*;
    match Collation::from_id_lossy(collation) {
        Binary => Charset::Binary,
        Latin1SwedishCi | Latin1SwedishNopadCi | Latin1Bin | Latin1NopadBin => Charset::Latin1,
        _ => Charset::Utf8,
    }
}

/// The string form of a value and its collation (numbers: the connection's).
fn text_of(v: &Val) -> Option<(Bytes, u16)> {
    match v {
        Val::Str(b, c) => Some((b.clone(), *c)),
        other => other.to_text().map(|b| (b, DEFAULT_COLLATION)),
    }
}

/// CONCAT: NULL if any argument is; binary if any argument is binary.
pub fn concat(args: &[Val]) -> Val {
    let mut out = Vec::new();
    let mut coll = None;
    for a in args {
        let Some((b, c)) = text_of(a) else {
            return Val::Null;
        };
        out.extend_from_slice(&b);
        if matches!(a, Val::Str(..)) {
            coll = match coll {
                Some(BINARY) => Some(BINARY),
                _ if c == BINARY => Some(BINARY),
                None => Some(c),
                keep => keep,
            };
        }
    }
    Val::Str(Bytes::from(out), coll.unwrap_or(DEFAULT_COLLATION))
}

/// One-to-one case mapping of a BMP character (MariaDB keeps 'ß' in UPPER).
fn map_char(c: char, upper: bool) -> char {
    let mut it: Box<dyn Iterator<Item = char>> = if upper {
        Box::new(c.to_uppercase())
    } else {
        Box::new(c.to_lowercase())
    };
    match (it.next(), it.next()) {
        (Some(m), None) if u32::from(c) <= 0xFFFF && u32::from(m) <= 0xFFFF => m,
        _ => c,
    }
}

/// LOWER / UPPER; binary strings are unchanged.
pub fn case(v: &Val, upper: bool) -> Val {
    let Some((b, c)) = text_of(v) else {
        return Val::Null;
    };
    let out: Vec<u8> = match charset(c) {
        Charset::Binary => b.to_vec(),
        Charset::Latin1 => b
            .iter()
            .map(|&x| {
                let m = map_char(char::from(x), upper);
                u8::try_from(u32::from(m)).unwrap_or(x)
            })
            .collect(),
        Charset::Utf8 => {
            let mut out = Vec::with_capacity(b.len());
            for chunk in b.utf8_chunks() {
                let mut buf = [0u8; 4];
                for ch in chunk.valid().chars() {
                    out.extend_from_slice(map_char(ch, upper).encode_utf8(&mut buf).as_bytes());
                }
                out.extend_from_slice(chunk.invalid());
            }
            out
        }
    };
    Val::Str(Bytes::from(out), c)
}

/// LENGTH (bytes) or CHAR_LENGTH (characters; an invalid byte counts as one).
pub fn length(v: &Val, chars: bool) -> Val {
    let Some((b, c)) = text_of(v) else {
        return Val::Null;
    };
    let n = if chars && charset(c) == Charset::Utf8 {
        b.utf8_chunks()
            .map(|ch| ch.valid().chars().count() + ch.invalid().len())
            .sum()
    } else {
        b.len()
    };
    Val::Int(i64::try_from(n).unwrap_or(i64::MAX))
}
