//! Decoding the server's packets on a backend connection: length-encoded values, column
//! definitions, text rows, OK / ERR packets (with session-state tracking).
//!
//! Column definitions and row cells are slices of the packet's `Bytes`: no copies.

use crate::error::SqlError;
use crate::result::{ColumnDef, Row};
use bytes::Bytes;
use mysql_common::constants::{ColumnFlags, ColumnType, StatusFlags};

/// A cursor over one packet.
pub(super) struct Cursor {
    buf: Bytes,
    pos: usize,
}

impl Cursor {
    pub fn new(buf: Bytes) -> Cursor {
        Cursor { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn u8(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    pub fn uint(&mut self, n: usize) -> Option<u64> {
        let s = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        let mut v = 0u64;
        for (i, b) in s.iter().enumerate() {
            v |= u64::from(*b) << (8 * i);
        }
        self.pos += n;
        Some(v)
    }

    /// A length-encoded integer; `Err(())`-like `None` on a truncated packet. The NULL marker
    /// (0xfb) reads as `Some(None)`.
    pub fn lenenc(&mut self) -> Option<Option<u64>> {
        match self.u8()? {
            0xfb => Some(None),
            0xfc => self.uint(2).map(Some),
            0xfd => self.uint(3).map(Some),
            0xfe => self.uint(8).map(Some),
            b => Some(Some(u64::from(b))),
        }
    }

    pub fn lenenc_int(&mut self) -> Option<u64> {
        self.lenenc()?
    }

    pub fn bytes(&mut self, n: usize) -> Option<Bytes> {
        let end = self.pos.checked_add(n)?;
        if end > self.buf.len() {
            return None;
        }
        let b = self.buf.slice(self.pos..end);
        self.pos = end;
        Some(b)
    }

    pub fn lenenc_bytes(&mut self) -> Option<Bytes> {
        let n = self.lenenc_int()?;
        self.bytes(usize::try_from(n).ok()?)
    }

    /// A length-encoded string, or NULL.
    pub fn cell(&mut self) -> Option<Option<Bytes>> {
        match self.lenenc()? {
            None => Some(None),
            Some(n) => self.bytes(usize::try_from(n).ok()?).map(Some),
        }
    }
}

/// A packet that does not have the shape the protocol says it must.
pub(super) fn malformed(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("malformed {what}"))
}

/// One column definition (protocol 4.1).
pub(super) fn column_def(pkt: Bytes) -> std::io::Result<ColumnDef> {
    let mut c = Cursor::new(pkt);
    let bad = || malformed("column definition");
    let _catalog = c.lenenc_bytes().ok_or_else(bad)?;
    let schema = c.lenenc_bytes().ok_or_else(bad)?;
    let table = c.lenenc_bytes().ok_or_else(bad)?;
    let org_table = c.lenenc_bytes().ok_or_else(bad)?;
    let name = c.lenenc_bytes().ok_or_else(bad)?;
    let org_name = c.lenenc_bytes().ok_or_else(bad)?;
    let _fixed = c.lenenc_int().ok_or_else(bad)?;
    let charset = c.uint(2).ok_or_else(bad)? as u16;
    let column_length = c.uint(4).ok_or_else(bad)? as u32;
    let ty = c.u8().ok_or_else(bad)?;
    let flags = c.uint(2).ok_or_else(bad)? as u16;
    let decimals = c.u8().ok_or_else(bad)?;
    Ok(ColumnDef {
        schema,
        table,
        org_table,
        name,
        org_name,
        charset,
        column_length,
        column_type: ColumnType::try_from(ty).unwrap_or(ColumnType::MYSQL_TYPE_STRING),
        flags: ColumnFlags::from_bits_truncate(flags),
        decimals,
    })
}

/// A text-protocol row: one length-encoded string (or NULL) per column.
pub(super) fn text_row(pkt: Bytes, columns: usize) -> std::io::Result<Row> {
    let mut c = Cursor::new(pkt);
    let mut row = Vec::with_capacity(columns);
    for _ in 0..columns {
        row.push(c.cell().ok_or_else(|| malformed("row"))?);
    }
    Ok(row)
}

/// What an OK packet (or an OK-style result terminator) says.
#[derive(Debug, Clone, Default)]
pub(super) struct Ok {
    pub affected_rows: u64,
    pub last_insert_id: u64,
    pub status: StatusFlags,
    pub warnings: u16,
    pub info: String,
    /// The server reported a change of session state (SERVER_SESSION_STATE_CHANGED).
    pub state_changed: bool,
    /// Session variables the server reported as changed, with their new values.
    pub changed_vars: Vec<(String, String)>,
    /// The transaction-state tracker reported transactional or non-transactional writes
    /// (`w` or `W` in its eight-character state).
    pub txn_wrote: bool,
}

/// Session-state information types (MySQL `enum_session_state_type`).
const TRACK_SYSTEM_VARIABLES: u8 = 0;
const TRACK_TRANSACTION_STATE: u8 = 5;

/// An OK packet (header 0x00), or an OK-style terminator (0xfe) after a result set.
pub(super) fn ok_packet(pkt: Bytes, session_track: bool) -> std::io::Result<Ok> {
    let mut c = Cursor::new(pkt);
    let bad = || malformed("OK packet");
    let _header = c.u8().ok_or_else(bad)?;
    let affected_rows = c.lenenc_int().ok_or_else(bad)?;
    let last_insert_id = c.lenenc_int().ok_or_else(bad)?;
    let status = StatusFlags::from_bits_truncate(c.uint(2).ok_or_else(bad)? as u16);
    let warnings = c.uint(2).ok_or_else(bad)? as u16;
    let mut ok = Ok {
        affected_rows,
        last_insert_id,
        status,
        warnings,
        state_changed: status.contains(StatusFlags::SERVER_SESSION_STATE_CHANGED),
        ..Default::default()
    };
    if c.remaining() == 0 {
        return Ok(ok);
    }
    if session_track {
        let info = c.lenenc_bytes().unwrap_or_default();
        ok.info = String::from_utf8_lossy(&info).into_owned();
        if ok.state_changed {
            if let Some(track) = c.lenenc_bytes() {
                (ok.changed_vars, ok.txn_wrote) = tracked_state(track);
            }
        }
    } else {
        let info = c.lenenc_bytes().unwrap_or_default();
        ok.info = String::from_utf8_lossy(&info).into_owned();
    }
    Ok(ok)
}

/// The system variables in a session-state block, and whether its transaction state shows
/// writes (other entry types are skipped). The state is eight characters, one per attribute:
/// `T`/`I` (explicit/implicit transaction), `r`, `R`, `w` (transactional writes), `W`
/// (non-transactional writes), `s`, `S`, `L`. MariaDB 10.11 reports InnoDB reads as `R` and
/// writes, locking reads (`FOR UPDATE`) included, as `W`.
fn tracked_state(block: Bytes) -> (Vec<(String, String)>, bool) {
    let mut out = Vec::new();
    let mut wrote = false;
    let mut c = Cursor::new(block);
    while c.remaining() > 0 {
        let Some(ty) = c.u8() else { break };
        let Some(entry) = c.lenenc_bytes() else { break };
        if ty == TRACK_TRANSACTION_STATE {
            let mut e = Cursor::new(entry);
            if let Some(state) = e.lenenc_bytes() {
                wrote |= state.get(3) == Some(&b'w') || state.get(4) == Some(&b'W');
            }
        } else if ty == TRACK_SYSTEM_VARIABLES {
            let mut e = Cursor::new(entry);
            if let (Some(name), Some(value)) = (e.lenenc_bytes(), e.lenenc_bytes()) {
                out.push((
                    String::from_utf8_lossy(&name).to_ascii_lowercase(),
                    String::from_utf8_lossy(&value).into_owned(),
                ));
            }
        }
    }
    (out, wrote)
}

/// An ERR packet (header 0xff) as the server's own error.
pub(super) fn err_packet(pkt: &[u8]) -> SqlError {
    let code = pkt
        .get(1..3)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .unwrap_or(1105);
    let (state, msg) = match pkt.get(3) {
        Some(b'#') if pkt.len() >= 9 => (
            std::str::from_utf8(&pkt[4..9]).unwrap_or("HY000"),
            &pkt[9..],
        ),
        _ => ("HY000", pkt.get(3..).unwrap_or_default()),
    };
    SqlError::new(code, state, String::from_utf8_lossy(msg).into_owned())
}

/// The old EOF packet (`0xfe`, warnings, status) when CLIENT_DEPRECATE_EOF is off.
pub(super) fn is_eof(pkt: &[u8]) -> bool {
    pkt.first() == Some(&0xfe) && pkt.len() < 0xFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_nulls_slice_the_packet() {
        let pkt = Bytes::from_static(b"\x03abc\xfb\x00");
        let row = text_row(pkt, 3).unwrap();
        assert_eq!(
            row,
            vec![Some(Bytes::from_static(b"abc")), None, Some(Bytes::new())]
        );
        assert!(text_row(Bytes::from_static(b"\x05ab"), 1).is_err());
    }

    #[test]
    fn ok_packet_with_tracked_variables() {
        // OK, 1 row, id 0, status SESSION_STATE_CHANGED|AUTOCOMMIT, 0 warnings, info "",
        // tracking block: system variable autocommit=OFF.
        let var = b"\x0aautocommit\x03OFF";
        let mut entry = vec![0u8, var.len() as u8];
        entry.extend_from_slice(var);
        let mut p = vec![0x00, 0x01, 0x00];
        p.extend_from_slice(&(0x4002u16).to_le_bytes());
        p.extend_from_slice(&[0, 0, 0]);
        p.push(entry.len() as u8);
        p.extend_from_slice(&entry);
        let ok = ok_packet(Bytes::from(p), true).unwrap();
        assert_eq!(ok.affected_rows, 1);
        assert!(ok.state_changed);
        assert_eq!(ok.changed_vars, vec![("autocommit".into(), "OFF".into())]);
        assert!(!ok.txn_wrote);
    }

    #[test]
    fn transaction_state_reports_writes() {
        for (state, wrote) in [
            (b"T_r_____", false),
            (b"T_rw____", true),
            (b"T___W___", true),
            (b"________", false),
        ] {
            let mut entry = vec![5u8, 9, 8];
            entry.extend_from_slice(state);
            let mut p = vec![0x00, 0x00, 0x00];
            p.extend_from_slice(&(0x4001u16).to_le_bytes());
            p.extend_from_slice(&[0, 0, 0]);
            p.push(entry.len() as u8);
            p.extend_from_slice(&entry);
            let ok = ok_packet(Bytes::from(p), true).unwrap();
            assert_eq!(ok.txn_wrote, wrote, "{}", String::from_utf8_lossy(state));
        }
    }

    #[test]
    fn err_packet_keeps_code_and_state() {
        let e = err_packet(b"\xff\x7a\x04#42S02Table 'x' doesn't exist");
        assert_eq!(e.code, 1146);
        assert_eq!(&e.state, b"42S02");
        assert_eq!(e.message, "Table 'x' doesn't exist");
    }
}
