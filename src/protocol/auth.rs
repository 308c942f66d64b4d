//! Authentication: per-connection scramble, mysql_native_password and caching_sha2_password
//! (fast and full authentication, as MySQL 8) verified against the configured (plaintext)
//! passwords.

use super::packet::PacketIo;
use super::security::Security;
use mysql_common::scramble::{scramble_native, scramble_sha256};
use rand::Rng;
use tokio::io::{AsyncRead, AsyncWrite};

pub const NATIVE: &str = "mysql_native_password";
pub const CACHING_SHA2: &str = "caching_sha2_password";

/// 20 random printable bytes (no NUL, which would end the handshake's C string).
pub fn new_scramble() -> [u8; 20] {
    let mut rng = rand::thread_rng();
    let mut s = [0u8; 20];
    for b in s.iter_mut() {
        *b = rng.gen_range(0x21u8..0x7f);
    }
    s
}

/// Does `response` prove knowledge of `password` for the given plugin and scramble?
pub fn verify(plugin: &str, scramble: &[u8], password: &str, response: &[u8]) -> bool {
    if password.is_empty() {
        return response.is_empty();
    }
    match plugin {
        NATIVE => scramble_native(scramble, password.as_bytes())
            .is_some_and(|x| constant_eq(&x, response)),
        CACHING_SHA2 => scramble_sha256(scramble, password.as_bytes())
            .is_some_and(|x| constant_eq(&x, response)),
        _ => false,
    }
}

/// caching_sha2_password's "more data" replies (after the 0x01 marker).
const FAST_AUTH_SUCCESS: u8 = 0x03;
const PERFORM_FULL_AUTHENTICATION: u8 = 0x04;
/// The client asks for the server's RSA public key.
const REQUEST_PUBLIC_KEY: u8 = 0x02;

/// How an authentication exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Authenticated: the caller sends the OK packet (nothing else is pending but flushed).
    Ok,
    /// Wrong password or unknown account: the caller sends 1045.
    Denied,
    /// The client closed the connection.
    Gone,
}

/// One client's authentication, after the handshake response.
pub struct Attempt<'a> {
    pub scramble: &'a [u8; 20],
    pub user: &'a str,
    /// Plugin the client answered with.
    pub plugin: &'a str,
    /// Its auth response.
    pub response: Vec<u8>,
    /// The account's password; `None` for an unknown account (which still goes through the
    /// same exchange, so the answer does not tell whether the account exists).
    pub password: Option<&'a str>,
    /// TLS (MySQL's secure transport): caching_sha2_password's full authentication then takes
    /// the password in clear.
    pub secure: bool,
}

/// Run the authentication exchange (auth switch, caching_sha2_password's fast or full
/// authentication) as MySQL 8 does.
pub async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut PacketIo<S>,
    sec: &Security,
    a: Attempt<'_>,
) -> std::io::Result<Outcome> {
    let mut plugin = a.plugin;
    let mut response = a.response;
    // With caching_sha2_password as the default, every account uses it (as in MySQL 8);
    // otherwise both built-in plugins are accepted.
    let foreign = plugin != NATIVE && plugin != CACHING_SHA2;
    if foreign || (sec.default_plugin == CACHING_SHA2 && plugin != CACHING_SHA2) {
        // Ask the client to switch to the default plugin, with the same scramble.
        plugin = sec.default_plugin;
        io.write_with(|b| {
            b.push(0xfe);
            b.extend_from_slice(plugin.as_bytes());
            b.push(0);
            b.extend_from_slice(a.scramble);
            b.push(0);
        });
        io.flush().await?;
        match io.read_packet().await? {
            Some(p) => response = p,
            None => return Ok(Outcome::Gone),
        }
    }
    let verdict = |ok: bool| if ok { Outcome::Ok } else { Outcome::Denied };
    if plugin == NATIVE {
        return Ok(verdict(
            a.password
                .is_some_and(|p| verify(NATIVE, a.scramble, p, &response)),
        ));
    }
    // caching_sha2_password. No password sent: only an account without one may log in.
    if response.is_empty() || response == [0] {
        return Ok(verdict(a.password == Some("")));
    }
    if response.len() != 32 {
        return Ok(Outcome::Denied);
    }
    let fast = a.password.is_some_and(|p| {
        !p.is_empty() && sec.cached(a.user) && verify(CACHING_SHA2, a.scramble, p, &response)
    });
    if fast {
        io.write_with(|b| b.extend_from_slice(&[0x01, FAST_AUTH_SUCCESS]));
        return Ok(Outcome::Ok);
    }
    // Not cached, or a scramble that does not match: ask for the password itself.
    io.write_with(|b| b.extend_from_slice(&[0x01, PERFORM_FULL_AUTHENTICATION]));
    io.flush().await?;
    let Some(mut pkt) = io.read_packet().await? else {
        return Ok(Outcome::Gone);
    };
    if pkt.is_empty() || pkt == [0] {
        return Ok(verdict(a.password == Some("")));
    }
    let clear: Vec<u8> = if a.secure {
        // The password in clear, NUL-terminated.
        if pkt.last() == Some(&0) {
            pkt.pop();
        }
        pkt
    } else {
        let Some(keys) = sec.rsa().await else {
            return Ok(Outcome::Denied);
        };
        if pkt == [REQUEST_PUBLIC_KEY] {
            io.write_with(|b| {
                b.push(0x01);
                b.extend_from_slice(keys.public_pem.as_bytes());
            });
            io.flush().await?;
            pkt = match io.read_packet().await? {
                Some(p) => p,
                None => return Ok(Outcome::Gone),
            };
        }
        // Anything but a ciphertext of the key's size (e.g. a password in clear over plain
        // TCP) is refused, as MySQL does.
        if pkt.len() != keys.cipher_len() {
            return Ok(Outcome::Denied);
        }
        let Some(mut plain) = keys.decrypt(&pkt) else {
            return Ok(Outcome::Denied);
        };
        for (i, b) in plain.iter_mut().enumerate() {
            *b ^= a.scramble[i % a.scramble.len()];
        }
        let end = plain.iter().position(|b| *b == 0).unwrap_or(plain.len());
        plain.truncate(end);
        plain
    };
    let ok = !clear.is_empty()
        && a.password
            .is_some_and(|p| constant_eq(p.as_bytes(), &clear));
    if ok {
        sec.remember(a.user);
    }
    Ok(verdict(ok))
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_and_sha2() {
        let s = new_scramble();
        assert!(s.iter().all(|b| *b != 0));
        let n = scramble_native(&s, b"root").unwrap();
        assert!(verify(NATIVE, &s, "root", &n));
        assert!(!verify(NATIVE, &s, "wrong", &n));
        let c = scramble_sha256(&s, b"root").unwrap();
        assert!(verify(CACHING_SHA2, &s, "root", &c));
        assert!(!verify(NATIVE, &s, "root", &c));
        assert!(verify(NATIVE, &s, "", &[]));
        assert!(!verify(NATIVE, &s, "", &n));
    }
}
