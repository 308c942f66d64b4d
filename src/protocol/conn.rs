//! One client connection: handshake, authentication, then the command loop.

use super::auth::{self, CACHING_SHA2, NATIVE};
use super::packet::PacketIo;
use super::wire;
use super::writer::{ClientIo, ClientStream, ResultWriter};
use crate::error::SqlError;
use crate::server::Shared;
use crate::session::Session;
use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::io::ParseBuf;
use mysql_common::packets::HandshakeResponse;
use mysql_common::proto::MyDeserialize;
use std::sync::Arc;

/// Capabilities this server implements (and so may advertise).
pub fn server_capabilities() -> CapabilityFlags {
    CapabilityFlags::CLIENT_LONG_PASSWORD
        | CapabilityFlags::CLIENT_LONG_FLAG
        | CapabilityFlags::CLIENT_CONNECT_WITH_DB
        | CapabilityFlags::CLIENT_PROTOCOL_41
        | CapabilityFlags::CLIENT_TRANSACTIONS
        | CapabilityFlags::CLIENT_SECURE_CONNECTION
        | CapabilityFlags::CLIENT_MULTI_RESULTS
        | CapabilityFlags::CLIENT_PS_MULTI_RESULTS
        | CapabilityFlags::CLIENT_PLUGIN_AUTH
        | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
        | CapabilityFlags::CLIENT_CONNECT_ATTRS
        | CapabilityFlags::CLIENT_DEPRECATE_EOF
        | CapabilityFlags::CLIENT_IGNORE_SPACE
        | CapabilityFlags::CLIENT_INTERACTIVE
}

const CMD_QUIT: u8 = 0x01;
const CMD_INIT_DB: u8 = 0x02;
const CMD_QUERY: u8 = 0x03;
const CMD_FIELD_LIST: u8 = 0x04;
const CMD_STATISTICS: u8 = 0x09;
const CMD_PING: u8 = 0x0e;
const CMD_CHANGE_USER: u8 = 0x11;
const CMD_STMT_PREPARE: u8 = 0x16;
const CMD_STMT_EXECUTE: u8 = 0x17;
const CMD_STMT_SEND_LONG_DATA: u8 = 0x18;
const CMD_STMT_CLOSE: u8 = 0x19;
const CMD_STMT_RESET: u8 = 0x1a;
const CMD_SET_OPTION: u8 = 0x1b;
const CMD_RESET_CONNECTION: u8 = 0x1f;

/// Refuse a client before the handshake (MySQL sends the error as the first packet).
pub async fn refuse(stream: Box<dyn ClientStream>, e: &SqlError) -> std::io::Result<()> {
    let mut io: ClientIo = PacketIo::new(stream);
    io.write_with(|b| wire::err_packet(b, e.code, &e.state, &e.message));
    io.flush().await
}

/// Serve one client until it quits or the connection breaks.
pub async fn serve(
    stream: Box<dyn ClientStream>,
    shared: Arc<Shared>,
    conn_id: u32,
) -> std::io::Result<()> {
    let mut io: ClientIo = PacketIo::new(stream);
    let scramble = auth::new_scramble();
    io.write_with(|b| handshake(b, &shared.server_version, conn_id, &scramble));
    io.flush().await?;
    let Some(pkt) = io.read_packet().await? else {
        return Ok(());
    };
    let resp = match HandshakeResponse::deserialize((), &mut ParseBuf(&pkt)) {
        Ok(r) => r,
        Err(_) => {
            let e = SqlError::new(1043, "08S01", "Bad handshake");
            io.write_with(|b| wire::err_packet(b, e.code, &e.state, &e.message));
            return io.flush().await;
        }
    };
    let caps = resp.capabilities() & server_capabilities();
    let user = String::from_utf8_lossy(resp.user()).into_owned();
    let db = resp
        .db_name()
        .map(|d| String::from_utf8_lossy(d).into_owned())
        .filter(|d| !d.is_empty());
    let plugin = resp
        .auth_plugin()
        .map(|p| String::from_utf8_lossy(p.as_bytes()).into_owned())
        .unwrap_or_else(|| NATIVE.to_string());
    let response = resp.scramble_buf().to_vec();
    let deprecate_eof = caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF);

    let password = shared.password_of(&user);
    let ok = match authenticate(&mut io, &scramble, &plugin, response, password.as_deref()).await? {
        Some(ok) => ok,
        None => return Ok(()),
    };
    if !ok {
        let e = SqlError::access_denied(&user, true);
        io.write_with(|b| wire::err_packet(b, e.code, &e.state, &e.message));
        return io.flush().await;
    }
    let mut session = Session::new(shared.clone(), conn_id, user);
    if let Some(db) = db {
        if let Err(e) = session.use_db(&db) {
            io.write_with(|b| wire::err_packet(b, e.code, &e.state, &e.message));
            return io.flush().await;
        }
    }
    let status = session.status();
    io.write_with(|b| wire::ok_packet(b, 0, 0, 0, status, 0, ""));
    io.flush().await?;

    let result = command_loop(&mut io, &mut session, deprecate_eof, &scramble).await;
    session.close().await;
    result
}

/// Run the auth exchange. `Ok(None)`: the client went away.
async fn authenticate(
    io: &mut ClientIo,
    scramble: &[u8; 20],
    plugin: &str,
    mut response: Vec<u8>,
    password: Option<&str>,
) -> std::io::Result<Option<bool>> {
    let mut plugin = plugin.to_string();
    if plugin != NATIVE && plugin != CACHING_SHA2 {
        // Ask the client to switch to mysql_native_password with the same scramble.
        io.write_with(|b| {
            b.push(0xfe);
            b.extend_from_slice(NATIVE.as_bytes());
            b.push(0);
            b.extend_from_slice(scramble);
            b.push(0);
        });
        io.flush().await?;
        match io.read_packet().await? {
            Some(p) => response = p,
            None => return Ok(None),
        }
        plugin = NATIVE.to_string();
    }
    let Some(password) = password else {
        return Ok(Some(false));
    };
    let ok = auth::verify(&plugin, scramble, password, &response);
    if ok && plugin == CACHING_SHA2 && !password.is_empty() {
        // Fast authentication succeeded (we know the password, so the "cache" always hits).
        io.write_with(|b| b.extend_from_slice(&[0x01, 0x03]));
    }
    Ok(Some(ok))
}

fn handshake(b: &mut Vec<u8>, version: &str, conn_id: u32, scramble: &[u8; 20]) {
    let caps = server_capabilities().bits();
    b.push(10);
    b.extend_from_slice(version.as_bytes());
    b.push(0);
    b.extend_from_slice(&conn_id.to_le_bytes());
    b.extend_from_slice(&scramble[..8]);
    b.push(0);
    b.extend_from_slice(&(caps as u16).to_le_bytes());
    b.push(45); // utf8mb4_general_ci
    b.extend_from_slice(&StatusFlags::SERVER_STATUS_AUTOCOMMIT.bits().to_le_bytes());
    b.extend_from_slice(&((caps >> 16) as u16).to_le_bytes());
    b.push(21);
    b.extend_from_slice(&[0; 10]);
    b.extend_from_slice(&scramble[8..]);
    b.push(0);
    b.extend_from_slice(NATIVE.as_bytes());
    b.push(0);
}

async fn command_loop(
    io: &mut ClientIo,
    session: &mut Session,
    deprecate_eof: bool,
    scramble: &[u8; 20],
) -> std::io::Result<()> {
    loop {
        io.reset_seq();
        let Some(pkt) = io.read_packet().await? else {
            return Ok(());
        };
        let Some((&cmd, body)) = pkt.split_first() else {
            continue;
        };
        let status = session.status();
        let binary = cmd == CMD_STMT_EXECUTE;
        let mut w = ResultWriter::new(io, deprecate_eof, binary, status);
        match cmd {
            CMD_QUIT => return Ok(()),
            CMD_QUERY => session.query_bytes(body, &mut w).await?,
            CMD_INIT_DB => {
                let db = String::from_utf8_lossy(body).into_owned();
                match session.use_db(&db) {
                    Ok(()) => w.ok(&Default::default()).await?,
                    Err(e) => w.error(&e).await?,
                }
            }
            CMD_PING => w.ok(&Default::default()).await?,
            CMD_FIELD_LIST => {
                let table = body.split(|b| *b == 0).next().unwrap_or_default();
                session
                    .field_list(&String::from_utf8_lossy(table), &mut w)
                    .await?;
            }
            CMD_STATISTICS => {
                let text = session.statistics();
                w.io().write_packet(text.as_bytes());
                w.io().flush().await?;
            }
            CMD_STMT_PREPARE => {
                let sql = String::from_utf8_lossy(body);
                session.prepare(&sql, &mut w).await?;
            }
            CMD_STMT_EXECUTE => session.execute(body, &mut w).await?,
            CMD_STMT_SEND_LONG_DATA => session.send_long_data(body),
            CMD_STMT_CLOSE => session.close_stmt(body),
            CMD_STMT_RESET => session.reset_stmt(body, &mut w).await?,
            CMD_SET_OPTION => {
                // 0 = multi-statements on (not supported), 1 = off.
                if body.first() == Some(&1) {
                    let st = session.status();
                    w.io().write_with(|b| wire::eof_packet(b, st, 0));
                    w.io().flush().await?;
                } else {
                    w.error(&SqlError::unsupported(
                        "multi-statements (CLIENT_MULTI_STATEMENTS)",
                    ))
                    .await?;
                }
            }
            CMD_RESET_CONNECTION => {
                session.reset().await;
                w.status = session.status();
                w.ok(&Default::default()).await?;
            }
            CMD_CHANGE_USER => {
                let Some((user, db)) = parse_change_user(body) else {
                    w.error(&SqlError::new(1043, "08S01", "Bad handshake"))
                        .await?;
                    continue;
                };
                // Always re-authenticate with a fresh scramble via an auth switch.
                let fresh = auth::new_scramble();
                let _ = scramble;
                w.io().write_with(|b| {
                    b.push(0xfe);
                    b.extend_from_slice(NATIVE.as_bytes());
                    b.push(0);
                    b.extend_from_slice(&fresh);
                    b.push(0);
                });
                w.io().flush().await?;
                let Some(resp) = w.io().read_packet().await? else {
                    return Ok(());
                };
                let pw = session.shared().password_of(&user);
                let ok = pw
                    .as_deref()
                    .is_some_and(|p| auth::verify(NATIVE, &fresh, p, &resp));
                if !ok {
                    w.error(&SqlError::access_denied(&user, !resp.is_empty()))
                        .await?;
                    return Ok(());
                }
                session.change_user(user).await;
                if !db.is_empty() {
                    if let Err(e) = session.use_db(&db) {
                        w.error(&e).await?;
                        continue;
                    }
                }
                w.status = session.status();
                w.ok(&Default::default()).await?;
            }
            other => w.error(&SqlError::unknown_command(other)).await?,
        }
    }
}

/// COM_CHANGE_USER body: user NUL, auth (1-byte length), database NUL, then optional fields.
fn parse_change_user(body: &[u8]) -> Option<(String, String)> {
    let nul = body.iter().position(|b| *b == 0)?;
    let user = String::from_utf8_lossy(&body[..nul]).into_owned();
    let rest = body.get(nul + 1..)?;
    let (&auth_len, rest) = rest.split_first()?;
    let rest = rest.get(auth_len as usize..)?;
    let db_end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
    let db = String::from_utf8_lossy(&rest[..db_end]).into_owned();
    Some((user, db))
}
