//! The connection phase: greeting, the TLS upgrade when the client sends an SSLRequest, the
//! handshake response, authentication and `require_secure_transport`.

use super::auth::{self, Attempt, Outcome};
use super::packet::PacketIo;
use super::security::Security;
use super::stream::ClientStream;
use super::wire;
use crate::error::SqlError;
use mysql_common::constants::{CapabilityFlags, StatusFlags};
use mysql_common::io::ParseBuf;
use mysql_common::packets::HandshakeResponse;
use mysql_common::proto::MyDeserialize;
use tokio::io::{AsyncRead, AsyncWrite};

/// Largest packet read before the client has logged in.
const LOGIN_PACKET: usize = 64 * 1024;

/// Capabilities this server implements (and so may advertise); CLIENT_SSL is added when a
/// certificate is configured.
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

/// Largest handshake response accepted (user, database, plugin and connection attributes).
const MAX_HANDSHAKE: usize = 1 << 20;

/// An authenticated client, ready for the OK packet.
#[derive(Debug)]
pub struct Login {
    pub user: String,
    pub db: Option<String>,
    pub deprecate_eof: bool,
    pub scramble: [u8; 20],
    /// The collation the client asked for (its character set is the session's).
    pub collation: u8,
}

/// Run the connection phase over `stream`. `Ok(None)`: the client went away or was refused
/// (the error packet has been sent). On success, a pending fast-auth packet may be queued:
/// the caller's OK (or error) packet follows it.
pub async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    sec: &Security,
    version: &str,
    conn_id: u32,
    password_of: impl Fn(&str) -> Option<String>,
) -> std::io::Result<Option<(PacketIo<ClientStream<S>>, Login)>> {
    let mut io = PacketIo::new(ClientStream::Plain(stream));
    // Before login a client is anonymous: its packets are small (a handshake response with
    // connection attributes), and none may make the proxy buffer max_allowed_packet.
    io.set_max_packet(LOGIN_PACKET);
    let scramble = auth::new_scramble();
    let mut caps = server_capabilities();
    if sec.tls.is_some() {
        caps |= CapabilityFlags::CLIENT_SSL;
    }
    io.write_with(|b| greeting(b, version, conn_id, &scramble, caps, sec.default_plugin));
    io.flush().await?;
    // Read exactly one packet: after an SSLRequest the TLS handshake follows at once.
    let Some(mut pkt) = io.read_packet_exact(MAX_HANDSHAKE).await? else {
        return Ok(None);
    };
    if is_ssl_request(&pkt) {
        let (ClientStream::Plain(plain), seq) = io.into_parts() else {
            return Err(std::io::Error::other("TLS requested twice"));
        };
        let Some(acceptor) = &sec.tls else {
            // CLIENT_SSL was not advertised.
            let mut io = PacketIo::resume(ClientStream::Plain(plain), seq);
            return refuse(&mut io, &SqlError::new(1043, "08S01", "Bad handshake")).await;
        };
        let tls = acceptor.accept(plain).await?;
        io = PacketIo::resume(ClientStream::Tls(Box::new(tls)), seq);
        io.set_max_packet(LOGIN_PACKET);
        pkt = match io.read_packet().await? {
            Some(p) => p,
            None => return Ok(None),
        };
    }
    let resp = match HandshakeResponse::deserialize((), &mut ParseBuf(&pkt)) {
        Ok(r) => r,
        Err(_) => {
            return refuse(&mut io, &SqlError::new(1043, "08S01", "Bad handshake")).await;
        }
    };
    let client_caps = resp.capabilities() & caps;
    let user = String::from_utf8_lossy(resp.user()).into_owned();
    let db = resp
        .db_name()
        .map(|d| String::from_utf8_lossy(d).into_owned())
        .filter(|d| !d.is_empty());
    let plugin = resp
        .auth_plugin()
        .map(|p| String::from_utf8_lossy(p.as_bytes()).into_owned())
        .unwrap_or_else(|| auth::NATIVE.to_string());
    let response = resp.scramble_buf().to_vec();
    let using_password = !response.is_empty();
    let secure = io.get_ref().is_secure();
    let password = password_of(&user);
    let attempt = Attempt {
        scramble: &scramble,
        user: &user,
        plugin: &plugin,
        response,
        password: password.as_deref(),
        secure,
    };
    match auth::authenticate(&mut io, sec, attempt).await? {
        Outcome::Ok => {}
        Outcome::Gone => return Ok(None),
        Outcome::Denied => {
            return refuse(&mut io, &SqlError::access_denied(&user, using_password)).await;
        }
    }
    if sec.require_secure_transport && !secure {
        // As MySQL: checked once the account is authenticated.
        let e = SqlError::new(
            3159,
            "HY000",
            "Connections using insecure transport are prohibited while \
             --require_secure_transport=ON.",
        );
        return refuse(&mut io, &e).await;
    }
    let login = Login {
        user,
        db,
        deprecate_eof: client_caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF),
        scramble,
        collation: resp.collation(),
    };
    Ok(Some((io, login)))
}

/// Send `e` and end the connection phase.
async fn refuse<S: AsyncRead + AsyncWrite + Unpin, T>(
    io: &mut PacketIo<ClientStream<S>>,
    e: &SqlError,
) -> std::io::Result<Option<T>> {
    io.write_with(|b| wire::err_packet(b, e.code, &e.state, &e.message));
    io.flush().await?;
    Ok(None)
}

/// An SSLRequest is a handshake response cut after the 32 fixed bytes, with CLIENT_SSL set.
fn is_ssl_request(pkt: &[u8]) -> bool {
    pkt.len() == 32 && {
        let caps = u32::from_le_bytes([pkt[0], pkt[1], pkt[2], pkt[3]]);
        caps & CapabilityFlags::CLIENT_SSL.bits() != 0
    }
}

fn greeting(
    b: &mut Vec<u8>,
    version: &str,
    conn_id: u32,
    scramble: &[u8; 20],
    caps: CapabilityFlags,
    plugin: &str,
) {
    let caps = caps.bits();
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
    b.extend_from_slice(plugin.as_bytes());
    b.push(0);
}
