//! The authentication exchange against a scripted client over an in-memory pipe, and the
//! connection phase (TLS upgrade included) against a real TLS client.

use super::auth::{authenticate, new_scramble, Attempt, Outcome, CACHING_SHA2, NATIVE};
use super::packet::PacketIo;
use super::security::{RsaKeys, Security};
use crate::rules::Sha2Cache;
use mysql_common::scramble::{scramble_native, scramble_sha256};
use std::sync::{Arc, OnceLock};
use tokio::io::DuplexStream;

type Client = PacketIo<DuplexStream>;

/// One small key for every test (2048-bit generation is slow in debug builds).
fn keys() -> RsaKeys {
    static PEM: OnceLock<String> = OnceLock::new();
    let pem = PEM.get_or_init(|| {
        use rsa::pkcs8::EncodePrivateKey;
        let k = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).unwrap();
        k.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .unwrap()
            .to_string()
    });
    RsaKeys::from_pem(pem).unwrap()
}

fn security(cache: Sha2Cache) -> Arc<Security> {
    let mut s = Security::default().with_rsa(keys());
    s.cache_mode = cache;
    Arc::new(s)
}

struct Login<'a> {
    user: &'a str,
    plugin: &'a str,
    /// Password the client uses.
    typed: &'a str,
    /// The account's password (`None`: no such account).
    account: Option<&'a str>,
    secure: bool,
}

/// Run the server side of one login while `client` plays the other end; returns the
/// outcome and the packets the client received after the exchange (fast-auth marker).
async fn login<F, Fut>(sec: &Arc<Security>, l: Login<'_>, client: F) -> Outcome
where
    F: FnOnce(Client, [u8; 20]) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (a, b) = tokio::io::duplex(64 * 1024);
    let mut server = PacketIo::new(a);
    let scramble = new_scramble();
    let response = match l.plugin {
        NATIVE => scramble_native(&scramble, l.typed.as_bytes()).map(|x| x.to_vec()),
        CACHING_SHA2 => scramble_sha256(&scramble, l.typed.as_bytes()).map(|x| x.to_vec()),
        _ => Some(b"whatever".to_vec()),
    }
    .unwrap_or_default();
    let task = tokio::spawn(client(PacketIo::new(b), scramble));
    let out = authenticate(
        &mut server,
        sec,
        Attempt {
            scramble: &scramble,
            user: l.user,
            plugin: l.plugin,
            response,
            password: l.account,
            secure: l.secure,
        },
    )
    .await
    .unwrap();
    server.flush().await.unwrap();
    drop(server);
    task.await.unwrap();
    out
}

fn sha2(typed: &'static str, account: Option<&'static str>, secure: bool) -> Login<'static> {
    Login {
        user: "u",
        plugin: CACHING_SHA2,
        typed,
        account,
        secure,
    }
}

async fn expect(c: &mut Client, want: &[u8]) {
    assert_eq!(c.read_packet().await.unwrap().unwrap(), want);
}

/// Client side of full authentication: the password in clear (over TLS).
fn clear(
    typed: &'static str,
) -> impl FnOnce(Client, [u8; 20]) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
{
    move |mut c, _| {
        Box::pin(async move {
            expect(&mut c, &[1, 4]).await;
            let mut p = typed.as_bytes().to_vec();
            p.push(0);
            c.write_packet(&p);
            c.flush().await.unwrap();
        })
    }
}

/// Client side of full authentication over plain TCP: request the key, send RSA-OAEP.
fn rsa(
    typed: &'static str,
) -> impl FnOnce(Client, [u8; 20]) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
{
    move |mut c, scramble| {
        Box::pin(async move {
            expect(&mut c, &[1, 4]).await;
            c.write_packet(&[2]);
            c.flush().await.unwrap();
            let key = c.read_packet().await.unwrap().unwrap();
            assert_eq!(key[0], 1);
            assert!(key[1..].starts_with(b"-----BEGIN PUBLIC KEY-----"));
            let mut p = typed.as_bytes().to_vec();
            p.push(0);
            for (i, b) in p.iter_mut().enumerate() {
                *b ^= scramble[i % 20];
            }
            let cipher = mysql_common::crypto::encrypt(&p, &key[1..]);
            c.write_packet(&cipher);
            c.flush().await.unwrap();
        })
    }
}

fn fast_ok(
) -> impl FnOnce(Client, [u8; 20]) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
{
    |mut c, _| Box::pin(async move { expect(&mut c, &[1, 3]).await })
}

fn silent(
) -> impl FnOnce(Client, [u8; 20]) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>
{
    |_, _| Box::pin(async {})
}

#[tokio::test]
async fn native_password() {
    let sec = security(Sha2Cache::Always);
    let l = |typed| Login {
        user: "u",
        plugin: NATIVE,
        typed,
        account: Some("pw"),
        secure: false,
    };
    assert_eq!(login(&sec, l("pw"), silent()).await, Outcome::Ok);
    assert_eq!(login(&sec, l("no"), silent()).await, Outcome::Denied);
}

#[tokio::test]
async fn fast_auth_always_cached() {
    let sec = security(Sha2Cache::Always);
    assert_eq!(
        login(&sec, sha2("pw", Some("pw"), false), fast_ok()).await,
        Outcome::Ok
    );
    // A wrong scramble leads to full authentication, as in MySQL.
    assert_eq!(
        login(&sec, sha2("no", Some("pw"), true), clear("no")).await,
        Outcome::Denied
    );
    assert_eq!(
        login(&sec, sha2("no", Some("pw"), true), clear("pw")).await,
        Outcome::Ok
    );
    assert_eq!(
        login(&sec, sha2("no", Some("pw"), false), rsa("no")).await,
        Outcome::Denied
    );
    assert_eq!(
        login(&sec, sha2("no", Some("pw"), false), rsa("pw")).await,
        Outcome::Ok
    );
}

#[tokio::test]
async fn mysql_cache_fills_on_full_auth() {
    let sec = security(Sha2Cache::Mysql);
    // Not cached yet: full authentication, and a failed one does not fill the cache.
    assert_eq!(
        login(&sec, sha2("pw", Some("pw"), true), clear("no")).await,
        Outcome::Denied
    );
    assert!(!sec.cached("u"));
    assert_eq!(
        login(&sec, sha2("pw", Some("pw"), true), clear("pw")).await,
        Outcome::Ok
    );
    assert!(sec.cached("u"));
    assert_eq!(
        login(&sec, sha2("pw", Some("pw"), false), fast_ok()).await,
        Outcome::Ok
    );

    let sec = security(Sha2Cache::Mysql);
    assert_eq!(
        login(&sec, sha2("pw", Some("pw"), false), rsa("pw")).await,
        Outcome::Ok
    );
    assert_eq!(
        login(&sec, sha2("pw", Some("pw"), false), fast_ok()).await,
        Outcome::Ok
    );
}

#[tokio::test]
async fn refusals() {
    let sec = security(Sha2Cache::Mysql);
    // The password in clear over plain TCP is refused.
    assert_eq!(
        login(&sec, sha2("pw", Some("pw"), false), clear("pw")).await,
        Outcome::Denied
    );
    // Unknown accounts go through the same exchange.
    assert_eq!(
        login(&sec, sha2("pw", None, true), clear("pw")).await,
        Outcome::Denied
    );
    assert_eq!(
        login(&sec, sha2("pw", None, false), rsa("pw")).await,
        Outcome::Denied
    );
    // Empty passwords: only for accounts without one.
    assert_eq!(
        login(&sec, sha2("", Some(""), false), silent()).await,
        Outcome::Ok
    );
    assert_eq!(
        login(&sec, sha2("", Some("pw"), false), silent()).await,
        Outcome::Denied
    );
    // Garbage ciphertext, a key request then nothing, a client that leaves.
    let garbage = |mut c: Client, _| async move {
        expect(&mut c, &[1, 4]).await;
        c.write_packet(&[0x5a; 128]);
        c.flush().await.unwrap();
    };
    assert_eq!(
        login(&sec, sha2("pw", Some("pw"), false), garbage).await,
        Outcome::Denied
    );
    let short = |mut c: Client, _| async move {
        expect(&mut c, &[1, 4]).await;
        c.write_packet(&[0x5a; 7]);
        c.flush().await.unwrap();
    };
    assert_eq!(
        login(&sec, sha2("pw", Some("pw"), false), short).await,
        Outcome::Denied
    );
    let leaves = |mut c: Client, _| async move {
        expect(&mut c, &[1, 4]).await;
        c.write_packet(&[2]);
        c.flush().await.unwrap();
        assert_eq!(c.read_packet().await.unwrap().unwrap()[0], 1);
    };
    assert_eq!(
        login(&sec, sha2("pw", Some("pw"), false), leaves).await,
        Outcome::Gone
    );
}

#[tokio::test]
async fn unknown_plugin_switches_to_the_default() {
    let sec = security(Sha2Cache::Always);
    let l = Login {
        user: "u",
        plugin: "client_ed25519",
        typed: "pw",
        account: Some("pw"),
        secure: false,
    };
    let client = |mut c: Client, scramble: [u8; 20]| async move {
        let p = c.read_packet().await.unwrap().unwrap();
        assert_eq!(p[0], 0xfe);
        assert!(p[1..].starts_with(b"mysql_native_password\0"));
        c.write_packet(&scramble_native(&scramble, b"pw").unwrap());
        c.flush().await.unwrap();
    };
    assert_eq!(login(&sec, l, client).await, Outcome::Ok);
}

#[tokio::test]
async fn caching_sha2_default_switches_native_answers() {
    let mut s = Security::default().with_rsa(keys());
    s.default_plugin = CACHING_SHA2;
    let sec = Arc::new(s);
    let l = Login {
        user: "u",
        plugin: NATIVE,
        typed: "pw",
        account: Some("pw"),
        secure: false,
    };
    let client = |mut c: Client, scramble: [u8; 20]| async move {
        let p = c.read_packet().await.unwrap().unwrap();
        assert!(p[1..].starts_with(b"caching_sha2_password\0"));
        c.write_packet(&scramble_sha256(&scramble, b"pw").unwrap());
        c.flush().await.unwrap();
        expect(&mut c, &[1, 3]).await;
    };
    assert_eq!(login(&sec, l, client).await, Outcome::Ok);
}
