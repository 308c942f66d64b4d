//! A bare MySQL-protocol client for tests that need to send what drivers never send:
//! arbitrary command packets, half-sent packets, sockets closed mid-transaction.

use mysql_common::constants::CapabilityFlags;
use mysql_common::io::ParseBuf;
use mysql_common::packets::{AuthPlugin, HandshakePacket, HandshakeResponse};
use mysql_common::proto::MySerialize;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Raw {
    pub stream: TcpStream,
    seq: u8,
    /// A read waited 10 s without an answer (the server neither replied nor closed).
    pub timed_out: bool,
}

/// What the server answered a command with, roughly.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    Ok,
    Err(u16),
    /// A result set (column count, then everything up to the end).
    Rows,
    Other(u8),
    /// The connection was closed.
    Closed,
}

impl Raw {
    /// Connect without logging in (to send pre-login garbage).
    pub async fn connect_only(addr: SocketAddr) -> Raw {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).ok();
        Raw {
            stream,
            seq: 0,
            timed_out: false,
        }
    }

    /// Connect and log in with mysql_native_password.
    pub async fn login(addr: SocketAddr, user: &str, password: &str, db: Option<&str>) -> Raw {
        let mut r = Raw::connect_only(addr).await;
        let hs = r.read().await.expect("handshake");
        let hs: HandshakePacket = ParseBuf(&hs).parse(()).expect("parse handshake");
        let nonce = hs.nonce();
        let plugin = AuthPlugin::MysqlNativePassword;
        let mut scramble = Vec::new();
        if let Some(d) = plugin.gen_data(Some(password), &nonce) {
            d.serialize(&mut scramble);
        }
        let caps = CapabilityFlags::CLIENT_PROTOCOL_41
            | CapabilityFlags::CLIENT_SECURE_CONNECTION
            | CapabilityFlags::CLIENT_PLUGIN_AUTH
            | CapabilityFlags::CLIENT_LONG_PASSWORD
            | CapabilityFlags::CLIENT_TRANSACTIONS
            | CapabilityFlags::CLIENT_DEPRECATE_EOF;
        let resp = HandshakeResponse::new(
            Some(scramble),
            (10, 11, 0),
            Some(user.as_bytes().to_vec()),
            db.map(|d| d.as_bytes().to_vec()),
            Some(plugin),
            caps,
            None,
            1 << 30,
        );
        let mut buf = Vec::new();
        resp.serialize(&mut buf);
        r.send(&buf).await;
        let ok = r.read().await.expect("login reply");
        assert_eq!(ok.first(), Some(&0), "login failed: {ok:?}");
        r
    }

    /// Send one packet with the current sequence id.
    pub async fn send(&mut self, payload: &[u8]) {
        let len = (payload.len() as u32).to_le_bytes();
        let mut frame = vec![len[0], len[1], len[2], self.seq];
        frame.extend_from_slice(payload);
        self.seq = self.seq.wrapping_add(1);
        let _ = self.stream.write_all(&frame).await;
    }

    /// Send a command (sequence id 0).
    pub async fn command(&mut self, cmd: u8, body: &[u8]) {
        self.seq = 0;
        let mut p = vec![cmd];
        p.extend_from_slice(body);
        self.send(&p).await;
    }

    /// Send raw bytes as they are (headers included).
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes).await;
    }

    /// Read one packet (None: closed or nothing within 10 s).
    pub async fn read(&mut self) -> Option<Vec<u8>> {
        let mut head = [0u8; 4];
        let r = tokio::time::timeout(Duration::from_secs(10), self.stream.read_exact(&mut head));
        match r.await {
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return None,
            Err(_) => {
                self.timed_out = true;
                return None;
            }
        }
        let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
        self.seq = head[3].wrapping_add(1);
        let mut p = vec![0u8; len];
        match tokio::time::timeout(Duration::from_secs(10), self.stream.read_exact(&mut p)).await {
            Ok(Ok(_)) => Some(p),
            Ok(Err(_)) => None,
            Err(_) => {
                self.timed_out = true;
                None
            }
        }
    }

    /// Read a whole reply to a command.
    pub async fn reply(&mut self) -> Reply {
        let Some(p) = self.read().await else {
            return Reply::Closed;
        };
        match p.first() {
            Some(0x00) => Reply::Ok,
            Some(0xff) => Reply::Err(u16::from_le_bytes([p[1], p[2]])),
            Some(&b) if (1..=250).contains(&b) => {
                // A result set: read up to its terminator (EOF/OK with 0xfe, or an error).
                loop {
                    match self.read().await {
                        None => return Reply::Closed,
                        Some(q) if q.first() == Some(&0xfe) && q.len() < 0xffffff => {
                            return Reply::Rows
                        }
                        Some(q) if q.first() == Some(&0xff) => {
                            return Reply::Err(u16::from_le_bytes([q[1], q[2]]))
                        }
                        Some(_) => {}
                    }
                }
            }
            Some(&b) => Reply::Other(b),
            None => Reply::Other(0),
        }
    }

    /// The reply to COM_STMT_PREPARE: the statement id, with its parameter and column
    /// definitions read (the login asked for CLIENT_DEPRECATE_EOF: no EOF packets).
    pub async fn prepare_reply(&mut self) -> Result<[u8; 4], Reply> {
        let Some(p) = self.read().await else {
            return Err(Reply::Closed);
        };
        match p.first() {
            Some(0x00) if p.len() >= 9 => {
                let cols = u16::from_le_bytes([p[5], p[6]]) as usize;
                let params = u16::from_le_bytes([p[7], p[8]]) as usize;
                for _ in 0..cols + params {
                    if self.read().await.is_none() {
                        return Err(Reply::Closed);
                    }
                }
                Ok([p[1], p[2], p[3], p[4]])
            }
            Some(0xff) => Err(Reply::Err(u16::from_le_bytes([p[1], p[2]]))),
            Some(&b) => Err(Reply::Other(b)),
            None => Err(Reply::Other(0)),
        }
    }

    /// COM_QUERY and its reply.
    pub async fn query(&mut self, sql: &str) -> Reply {
        self.command(0x03, sql.as_bytes()).await;
        self.reply().await
    }
}
