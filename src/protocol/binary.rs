//! The binary (prepared statement) protocol: parameter decoding for COM_STMT_EXECUTE and
//! encoding text-protocol cells as binary result rows by column type.

use super::wire::put_lenenc_str;
use crate::result::ColumnDef;
use bytes::Bytes;
use mysql_common::constants::{ColumnFlags, ColumnType};
use mysql_common::io::ParseBuf;
use mysql_common::proto::MyDeserialize;
use mysql_common::value::{BinValue, Value, ValueDeserializer};

/// Decoded COM_STMT_EXECUTE parameters.
#[derive(Debug)]
pub struct ExecuteParams {
    pub stmt_id: u32,
    /// Parameter types the client bound (when it sent new ones).
    pub types: Option<Vec<(ColumnType, bool)>>,
    pub values: Vec<Value>,
}

/// Parse COM_STMT_EXECUTE (after the command byte). `known_types` are the types bound at an
/// earlier execute of the same statement (clients send types only when they change);
/// `long_data` holds parameters sent with COM_STMT_SEND_LONG_DATA.
/// Types a client may declare for a parameter (mysql_common's binary decoder handles these;
/// any other would make it panic).
fn parameter_type(t: ColumnType) -> bool {
    use ColumnType::*;
    matches!(
        t,
        MYSQL_TYPE_STRING
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_SET
            | MYSQL_TYPE_ENUM
            | MYSQL_TYPE_DECIMAL
            | MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_BIT
            | MYSQL_TYPE_NEWDECIMAL
            | MYSQL_TYPE_GEOMETRY
            | MYSQL_TYPE_JSON
            | MYSQL_TYPE_TINY
            | MYSQL_TYPE_SHORT
            | MYSQL_TYPE_YEAR
            | MYSQL_TYPE_LONG
            | MYSQL_TYPE_INT24
            | MYSQL_TYPE_LONGLONG
            | MYSQL_TYPE_FLOAT
            | MYSQL_TYPE_DOUBLE
            | MYSQL_TYPE_TIMESTAMP
            | MYSQL_TYPE_DATE
            | MYSQL_TYPE_NEWDATE
            | MYSQL_TYPE_DATETIME
            | MYSQL_TYPE_TIME
            | MYSQL_TYPE_NULL
    )
}

pub fn parse_execute(
    payload: &[u8],
    num_params: usize,
    known_types: Option<&[(ColumnType, bool)]>,
    long_data: &[Option<Vec<u8>>],
) -> Result<ExecuteParams, String> {
    let bad = |what: &str| format!("malformed COM_STMT_EXECUTE: {what}");
    if payload.len() < 9 {
        return Err(bad("too short"));
    }
    let stmt_id = u32::from_le_bytes([payload[0], payload[1], payload[2], payload[3]]);
    let mut rest = &payload[9..];
    if num_params == 0 {
        return Ok(ExecuteParams {
            stmt_id,
            types: None,
            values: Vec::new(),
        });
    }
    let nb = num_params.div_ceil(8);
    if rest.len() < nb + 1 {
        return Err(bad("missing NULL bitmap"));
    }
    let bitmap = rest[..nb].to_vec();
    let bound = rest[nb];
    rest = &rest[nb + 1..];
    let mut types = None;
    if bound == 1 {
        if rest.len() < num_params * 2 {
            return Err(bad("missing parameter types"));
        }
        let t: Vec<(ColumnType, bool)> = rest[..num_params * 2]
            .chunks(2)
            .map(|c| {
                (
                    ColumnType::try_from(c[0]).unwrap_or(ColumnType::MYSQL_TYPE_VAR_STRING),
                    c[1] & 0x80 != 0,
                )
            })
            .collect();
        rest = &rest[num_params * 2..];
        types = Some(t);
    }
    let tys: Vec<(ColumnType, bool)> = match (&types, known_types) {
        (Some(t), _) => t.clone(),
        (None, Some(k)) if k.len() == num_params => k.to_vec(),
        _ => vec![(ColumnType::MYSQL_TYPE_VAR_STRING, false); num_params],
    };
    let mut buf = ParseBuf(rest);
    let mut values = Vec::with_capacity(num_params);
    for (i, (ty, unsigned)) in tys.iter().enumerate() {
        if bitmap[i / 8] & (1 << (i % 8)) != 0 {
            values.push(Value::NULL);
            continue;
        }
        if let Some(Some(data)) = long_data.get(i) {
            values.push(Value::Bytes(data.clone()));
            continue;
        }
        let flags = if *unsigned {
            ColumnFlags::UNSIGNED_FLAG
        } else {
            ColumnFlags::empty()
        };
        if !parameter_type(*ty) {
            return Err(bad(&format!("parameter {}: type {:?}", i + 1, ty)));
        }
        let v = ValueDeserializer::<BinValue>::deserialize((*ty, flags), &mut buf)
            .map_err(|e| bad(&format!("parameter {}: {e}", i + 1)))?
            .0;
        values.push(v);
    }
    Ok(ExecuteParams {
        stmt_id,
        types,
        values,
    })
}

/// Encode one row of text cells as a binary-protocol result row.
pub fn binary_row(buf: &mut Vec<u8>, columns: &[ColumnDef], cells: &[Option<Bytes>]) {
    buf.push(0x00);
    let nb = (columns.len() + 7 + 2) / 8;
    let bitmap_at = buf.len();
    buf.resize(bitmap_at + nb, 0);
    for (i, (c, cell)) in columns.iter().zip(cells).enumerate() {
        let Some(v) = cell else {
            let bit = i + 2;
            buf[bitmap_at + bit / 8] |= 1 << (bit % 8);
            continue;
        };
        encode_cell(buf, c, v);
    }
}

fn parse_int(v: &[u8]) -> i128 {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.trim().parse::<i128>().ok())
        .unwrap_or(0)
}

fn encode_cell(buf: &mut Vec<u8>, c: &ColumnDef, v: &[u8]) {
    use ColumnType::*;
    match c.column_type {
        MYSQL_TYPE_TINY => buf.push(parse_int(v) as u8),
        MYSQL_TYPE_SHORT | MYSQL_TYPE_YEAR => {
            buf.extend_from_slice(&(parse_int(v) as u16).to_le_bytes())
        }
        MYSQL_TYPE_LONG | MYSQL_TYPE_INT24 => {
            buf.extend_from_slice(&(parse_int(v) as u32).to_le_bytes())
        }
        MYSQL_TYPE_LONGLONG => buf.extend_from_slice(&(parse_int(v) as u64).to_le_bytes()),
        MYSQL_TYPE_FLOAT => {
            let f: f32 = std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0);
            buf.extend_from_slice(&f.to_le_bytes());
        }
        MYSQL_TYPE_DOUBLE => {
            let f: f64 = std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.0);
            buf.extend_from_slice(&f.to_le_bytes());
        }
        MYSQL_TYPE_DATE | MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_NEWDATE => {
            encode_datetime(buf, v)
        }
        MYSQL_TYPE_TIME => encode_time(buf, v),
        _ => put_lenenc_str(buf, v),
    }
}

/// Split "2026-01-02 03:04:05.000007" into numbers.
fn numbers(s: &str) -> Vec<u64> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

fn micros(s: &str) -> u32 {
    match s.split_once('.') {
        Some((_, frac)) => {
            let digits: String = frac
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .chain(std::iter::repeat('0'))
                .take(6)
                .collect();
            digits.parse().unwrap_or(0)
        }
        None => 0,
    }
}

fn encode_datetime(buf: &mut Vec<u8>, v: &[u8]) {
    let s = std::str::from_utf8(v).unwrap_or("");
    let (date_part, time_part) = s.split_once(' ').unwrap_or((s, ""));
    let d = numbers(date_part);
    let t = numbers(time_part.split('.').next().unwrap_or(""));
    let us = micros(time_part);
    let (y, mo, da) = (
        d.first().copied().unwrap_or(0),
        d.get(1).copied().unwrap_or(0),
        d.get(2).copied().unwrap_or(0),
    );
    let (h, mi, se) = (
        t.first().copied().unwrap_or(0),
        t.get(1).copied().unwrap_or(0),
        t.get(2).copied().unwrap_or(0),
    );
    let len: u8 = if us != 0 {
        11
    } else if h != 0 || mi != 0 || se != 0 {
        7
    } else if y != 0 || mo != 0 || da != 0 {
        4
    } else {
        0
    };
    buf.push(len);
    if len == 0 {
        return;
    }
    buf.extend_from_slice(&(y as u16).to_le_bytes());
    buf.push(mo as u8);
    buf.push(da as u8);
    if len >= 7 {
        buf.push(h as u8);
        buf.push(mi as u8);
        buf.push(se as u8);
    }
    if len == 11 {
        buf.extend_from_slice(&us.to_le_bytes());
    }
}

fn encode_time(buf: &mut Vec<u8>, v: &[u8]) {
    let s = std::str::from_utf8(v).unwrap_or("");
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let t = numbers(body.split('.').next().unwrap_or(""));
    let us = micros(body);
    let (hours, mi, se) = (
        t.first().copied().unwrap_or(0),
        t.get(1).copied().unwrap_or(0),
        t.get(2).copied().unwrap_or(0),
    );
    if hours == 0 && mi == 0 && se == 0 && us == 0 {
        buf.push(0);
        return;
    }
    buf.push(if us != 0 { 12 } else { 8 });
    buf.push(neg as u8);
    buf.extend_from_slice(&((hours / 24) as u32).to_le_bytes());
    buf.push((hours % 24) as u8);
    buf.push(mi as u8);
    buf.push(se as u8);
    if us != 0 {
        buf.extend_from_slice(&us.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(t: ColumnType) -> ColumnDef {
        ColumnDef {
            column_type: t,
            ..ColumnDef::text("c")
        }
    }

    #[test]
    fn encodes_by_column_type() {
        use ColumnType::*;
        let cases: Vec<(ColumnType, &str, Vec<u8>)> = vec![
            (MYSQL_TYPE_TINY, "-1", vec![0xff]),
            (MYSQL_TYPE_SHORT, "258", vec![2, 1]),
            (MYSQL_TYPE_LONG, "1", vec![1, 0, 0, 0]),
            (MYSQL_TYPE_LONGLONG, "18446744073709551615", vec![0xff; 8]),
            (MYSQL_TYPE_DOUBLE, "1.5", 1.5f64.to_le_bytes().to_vec()),
            (MYSQL_TYPE_FLOAT, "1.5", 1.5f32.to_le_bytes().to_vec()),
            (MYSQL_TYPE_NEWDECIMAL, "12.50", b"\x0512.50".to_vec()),
            (MYSQL_TYPE_DATE, "2026-01-02", vec![4, 0xea, 0x07, 1, 2]),
            (MYSQL_TYPE_DATE, "0000-00-00", vec![0]),
            (
                MYSQL_TYPE_DATETIME,
                "2026-01-02 03:04:05",
                vec![7, 0xea, 0x07, 1, 2, 3, 4, 5],
            ),
            (
                MYSQL_TYPE_DATETIME,
                "2026-01-02 03:04:05.5",
                vec![11, 0xea, 0x07, 1, 2, 3, 4, 5, 0x20, 0xa1, 0x07, 0],
            ),
            (
                MYSQL_TYPE_TIME,
                "-26:03:04",
                vec![8, 1, 1, 0, 0, 0, 2, 3, 4],
            ),
            (MYSQL_TYPE_TIME, "00:00:00", vec![0]),
        ];
        for (t, text, want) in cases {
            let mut b = Vec::new();
            encode_cell(&mut b, &col(t), text.as_bytes());
            assert_eq!(b, want, "{t:?} {text}");
        }
    }

    #[test]
    fn null_bitmap_offset_two() {
        let cols = vec![
            col(ColumnType::MYSQL_TYPE_LONG),
            col(ColumnType::MYSQL_TYPE_VAR_STRING),
        ];
        let mut b = Vec::new();
        binary_row(&mut b, &cols, &[None, Some(Bytes::from_static(b"x"))]);
        assert_eq!(b, vec![0x00, 0b100, 1, b'x']);
    }

    #[test]
    fn every_declared_parameter_type_is_answered_without_panicking() {
        for t in 0..=255u8 {
            for flag in [0u8, 0x80] {
                let mut p = vec![1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, t, flag];
                p.extend_from_slice(&[0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
                let _ = parse_execute(&p, 1, None, &[]);
                let _ = parse_execute(&p[..p.len() - 6], 1, None, &[]);
            }
        }
    }

    #[test]
    fn parses_execute_params() {
        // stmt 7, flags 0, iteration 1, 3 params: NULL, LONGLONG 5, VAR_STRING "hi"
        let mut p = vec![7, 0, 0, 0, 0, 1, 0, 0, 0, 0b001, 1];
        p.extend_from_slice(&[6, 0, 8, 0, 253, 0]);
        p.extend_from_slice(&5i64.to_le_bytes());
        p.extend_from_slice(&[2, b'h', b'i']);
        let e = parse_execute(&p, 3, None, &[]).unwrap();
        assert_eq!(e.stmt_id, 7);
        assert_eq!(
            e.values,
            vec![Value::NULL, Value::Int(5), Value::Bytes(b"hi".to_vec())]
        );
        assert!(parse_execute(&p[..12], 3, None, &[]).is_err());
    }
}
