//! One client connection: handshake, authentication, then the command loop.

use super::auth::{self, NATIVE};
use super::handshake;
use super::packet::PacketIo;
use super::stream::ClientStream;
use super::wire;
use super::writer::{ClientIo, ResultWriter};
use crate::error::SqlError;
use crate::server::Shared;
use crate::session::Session;
use std::sync::Arc;
use tokio::net::TcpStream;

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
pub async fn refuse(stream: TcpStream, e: &SqlError) -> std::io::Result<()> {
    let mut io: ClientIo = PacketIo::new(ClientStream::Plain(stream));
    io.write_with(|b| wire::err_packet(b, e.code, &e.state, &e.message));
    io.flush().await
}

/// Serve one client until it quits or the connection breaks.
pub async fn serve(stream: TcpStream, shared: Arc<Shared>, conn_id: u32) -> std::io::Result<()> {
    // A second handle on the socket: the session watches it for the client hanging up
    // while a statement runs (the main handle is busy writing the answer).
    let std_stream = stream.into_std()?;
    let watch = std_stream.try_clone().ok();
    let stream = TcpStream::from_std(std_stream)?;
    let watch = watch.and_then(|d| TcpStream::from_std(d).ok());
    let host = match stream.peer_addr() {
        Ok(a) if a.ip().is_loopback() => "localhost".to_string(),
        Ok(a) => a.ip().to_string(),
        Err(_) => "%".to_string(),
    };
    // A client that does not finish logging in within connect_timeout is dropped, so idle
    // or half-open connections cannot hold connection slots.
    let limit = std::time::Duration::from_secs(u64::from(shared.config.server.connect_timeout));
    let connected = tokio::time::timeout(
        limit,
        handshake::connect(
            stream,
            &shared.security,
            &shared.server_version,
            conn_id,
            |user| shared.password_of(user),
        ),
    )
    .await;
    let Ok(connected) = connected else {
        tracing::debug!("connection {conn_id}: no login within {limit:?}, closed");
        return Ok(());
    };
    let Some((mut io, login)) = connected? else {
        return Ok(());
    };
    let mut session = Session::new(shared.clone(), conn_id, login.user);
    session.set_client_watch(watch);
    session.set_client_host(host);
    session.set_charset(crate::charset::Charset::from_collation_id(u16::from(
        login.collation,
    )));
    if let Some(db) = login.db {
        if let Err(e) = session.use_db(&db) {
            io.write_with(|b| wire::err_packet(b, e.code, &e.state, &e.message));
            return io.flush().await;
        }
    }
    let status = session.status();
    io.write_with(|b| wire::ok_packet(b, 0, 0, 0, status, 0, ""));
    io.flush().await?;
    io.set_max_packet(shared.max_allowed_packet);

    let result = command_loop(&mut io, &mut session, login.deprecate_eof, &login.scramble).await;
    if let Err(e) = &result {
        if super::packet::is_too_large(e) {
            // As MariaDB: the error, then the connection is closed (the rest of the packet
            // is never read).
            let e = SqlError::new(
                1153,
                "08S01",
                "Got a packet bigger than 'max_allowed_packet' bytes",
            );
            io.write_with(|b| wire::err_packet(b, e.code, &e.state, &e.message));
            let _ = io.flush().await;
        }
    }
    session.close().await;
    result
}

async fn command_loop(
    io: &mut ClientIo,
    session: &mut Session,
    deprecate_eof: bool,
    scramble: &[u8; 20],
) -> std::io::Result<()> {
    let mut killed = session.killed();
    loop {
        io.reset_seq();
        if *killed.borrow() {
            return Ok(());
        }
        // A killed session closes even while it waits for its next command.
        let read = tokio::select! {
            r = io.read_packet() => r?,
            _ = killed.wait_for(|k| *k) => return Ok(()),
        };
        let Some(pkt) = read else {
            return Ok(());
        };
        let Some((&cmd, body)) = pkt.split_first() else {
            // An empty packet is no command: MariaDB answers "packets out of order" and
            // closes the connection.
            let e = SqlError::new(1156, "08S01", "Got packets out of order");
            io.write_with(|b| wire::err_packet(b, e.code, &e.state, &e.message));
            io.flush().await?;
            return Ok(());
        };
        let status = session.status();
        let binary = cmd == CMD_STMT_EXECUTE;
        let mut w = ResultWriter::new(io, deprecate_eof, binary, status);
        w.transcode = session.results_transcode();
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
                let sql = session.decode_text(body);
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
