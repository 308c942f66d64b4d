//! Encoders for server → client packets (the parts mysql_common does not serialise correctly
//! or at all from the server side) and small decoding helpers.

use crate::result::ColumnDef;
use mysql_common::constants::StatusFlags;

pub fn put_lenenc_int(buf: &mut Vec<u8>, v: u64) {
    if v < 251 {
        buf.push(v as u8);
    } else if v < 1 << 16 {
        buf.push(0xfc);
        buf.extend_from_slice(&(v as u16).to_le_bytes());
    } else if v < 1 << 24 {
        buf.push(0xfd);
        buf.extend_from_slice(&(v as u32).to_le_bytes()[..3]);
    } else {
        buf.push(0xfe);
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

pub fn put_lenenc_str(buf: &mut Vec<u8>, s: &[u8]) {
    put_lenenc_int(buf, s.len() as u64);
    buf.extend_from_slice(s);
}

/// Read a length-encoded integer. `Ok(None)` is the NULL marker (0xfb).
pub fn get_lenenc_int(buf: &mut &[u8]) -> Option<Option<u64>> {
    let (&first, rest) = buf.split_first()?;
    *buf = rest;
    let n = match first {
        0xfb => return Some(None),
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        0xff => return None,
        v => return Some(Some(v as u64)),
    };
    if buf.len() < n {
        return None;
    }
    let mut b = [0u8; 8];
    b[..n].copy_from_slice(&buf[..n]);
    *buf = &buf[n..];
    Some(Some(u64::from_le_bytes(b)))
}

pub fn get_lenenc_str<'a>(buf: &mut &'a [u8]) -> Option<&'a [u8]> {
    let n = get_lenenc_int(buf)??;
    let n = usize::try_from(n).ok()?;
    if buf.len() < n {
        return None;
    }
    let (s, rest) = buf.split_at(n);
    *buf = rest;
    Some(s)
}

/// OK packet (also used, with header 0xfe, as the end-of-result packet under DEPRECATE_EOF).
pub fn ok_packet(
    buf: &mut Vec<u8>,
    header: u8,
    affected: u64,
    last_id: u64,
    status: StatusFlags,
    warnings: u16,
    info: &str,
) {
    buf.push(header);
    put_lenenc_int(buf, affected);
    put_lenenc_int(buf, last_id);
    buf.extend_from_slice(&status.bits().to_le_bytes());
    buf.extend_from_slice(&warnings.to_le_bytes());
    if !info.is_empty() {
        // Servers write the info string length-encoded (net_store_data), and clients parse it so.
        put_lenenc_str(buf, info.as_bytes());
    }
}

pub fn eof_packet(buf: &mut Vec<u8>, status: StatusFlags, warnings: u16) {
    buf.push(0xfe);
    buf.extend_from_slice(&warnings.to_le_bytes());
    buf.extend_from_slice(&status.bits().to_le_bytes());
}

pub fn err_packet(buf: &mut Vec<u8>, code: u16, state: &[u8; 5], msg: &str) {
    buf.push(0xff);
    buf.extend_from_slice(&code.to_le_bytes());
    buf.push(b'#');
    buf.extend_from_slice(state);
    buf.extend_from_slice(msg.as_bytes());
}

/// Column definition 41. Written by hand: mysql_common's serializer swaps the order of
/// `character_set` and `column_length`.
pub fn column_definition(buf: &mut Vec<u8>, c: &ColumnDef) {
    put_lenenc_str(buf, b"def");
    put_lenenc_str(buf, &c.schema);
    put_lenenc_str(buf, &c.table);
    put_lenenc_str(buf, &c.org_table);
    put_lenenc_str(buf, &c.name);
    put_lenenc_str(buf, &c.org_name);
    buf.push(0x0c);
    buf.extend_from_slice(&c.charset.to_le_bytes());
    buf.extend_from_slice(&c.column_length.to_le_bytes());
    buf.push(c.column_type as u8);
    buf.extend_from_slice(&c.flags.bits().to_le_bytes());
    buf.push(c.decimals);
    buf.extend_from_slice(&[0, 0]);
}

/// A text-protocol row.
pub fn text_row(buf: &mut Vec<u8>, cells: &[Option<bytes::Bytes>]) {
    for c in cells {
        match c {
            None => buf.push(0xfb),
            Some(v) => put_lenenc_str(buf, v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenenc_roundtrip() {
        for v in [
            0u64,
            250,
            251,
            65535,
            65536,
            (1 << 24) - 1,
            1 << 24,
            u64::MAX,
        ] {
            let mut b = Vec::new();
            put_lenenc_int(&mut b, v);
            let mut s = &b[..];
            assert_eq!(get_lenenc_int(&mut s), Some(Some(v)));
            assert!(s.is_empty());
        }
        let mut s: &[u8] = &[0xfb];
        assert_eq!(get_lenenc_int(&mut s), Some(None));
    }

    #[test]
    fn column_definition_field_order() {
        let mut c = ColumnDef::text("x");
        c.charset = 63;
        c.column_length = 0x01020304;
        let mut b = Vec::new();
        column_definition(&mut b, &c);
        let tail = &b[b.len() - 13..];
        assert_eq!(tail[0], 0x0c);
        assert_eq!(&tail[1..3], &63u16.to_le_bytes());
        assert_eq!(&tail[3..7], &0x01020304u32.to_le_bytes());
    }
}
