//! Client TLS and caching_sha2_password full authentication with a real client (mysql_async
//! over rustls), against proxies of their own in front of the shared cluster's shards.

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, SslOpts};
use shardgate::rules::{AuthPlugin, Config, Sha2Cache};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

/// A throwaway certificate for 127.0.0.1 / localhost, its key, and a 1024-bit RSA key for
/// caching_sha2_password (PEM files in a temporary folder).
struct Material {
    cert: PathBuf,
    key: PathBuf,
    rsa: PathBuf,
}

fn material() -> &'static Material {
    static M: OnceLock<Material> = OnceLock::new();
    M.get_or_init(|| {
        use rsa::pkcs8::EncodePrivateKey;
        let dir = std::env::temp_dir().join(format!("shardgate-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("certificate");
        let m = Material {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            rsa: dir.join("rsa.pem"),
        };
        std::fs::write(&m.cert, ck.cert.pem()).expect("write cert");
        std::fs::write(&m.key, ck.key_pair.serialize_pem()).expect("write key");
        let k = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).expect("rsa key");
        let pem = k.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).expect("pem");
        std::fs::write(&m.rsa, pem.as_bytes()).expect("write rsa key");
        m
    })
}

/// A proxy over the shared cluster's shards with `[server]` changed by `f`.
async fn proxy(f: impl FnOnce(&mut Config)) -> (SocketAddr, Stop) {
    let (addr, stop, shared) = crate::harness::proxy_over_shared(f).await;
    (addr, Stop { stop, shared })
}

struct Stop {
    stop: tokio::sync::watch::Sender<bool>,
    shared: std::sync::Arc<shardgate::server::Shared>,
}

impl Stop {
    fn send(&self, v: bool) -> Result<(), tokio::sync::watch::error::SendError<bool>> {
        self.stop.send(v)
    }

    /// Has `root` passed a full authentication (caching_sha2_cache = "mysql")?
    fn cached(&self) -> bool {
        self.shared.security.cached("root")
    }
}

fn with_tls(c: &mut Config) {
    let m = material();
    c.server.tls_cert = Some(m.cert.display().to_string());
    c.server.tls_key = Some(m.key.display().to_string());
}

fn opts(addr: SocketAddr, pass: &str, tls: bool) -> OptsBuilder {
    let o = OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(addr.port())
        .user(Some("root"))
        .pass(Some(pass))
        .db_name(Some("shop"))
        .prefer_socket(false);
    if tls {
        let pem = std::fs::read(&material().cert).expect("cert");
        o.ssl_opts(SslOpts::default().with_root_certs(vec![pem.into()]))
    } else {
        o
    }
}

async fn login(addr: SocketAddr, pass: &str, tls: bool) -> Result<Conn, mysql_async::Error> {
    let mut c = Conn::new(opts(addr, pass, tls)).await?;
    let n: Option<u64> = c.query_first("SELECT COUNT(*) FROM t_user").await?;
    assert!(n.is_some_and(|n| n > 0));
    Ok(c)
}

fn server_error(r: Result<Conn, mysql_async::Error>) -> (u16, String) {
    match r {
        Err(mysql_async::Error::Server(e)) => (e.code, e.state),
        Err(e) => panic!("expected a server error, got {e}"),
        Ok(_) => panic!("expected a server error, got a connection"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_caching_sha2_full_auth() {
    let (addr, stop) = proxy(|c| {
        with_tls(c);
        c.server.default_auth_plugin = AuthPlugin::CachingSha2Password;
        c.server.caching_sha2_cache = Sha2Cache::Mysql;
        c.server.require_secure_transport = true;
        c.server.rsa_private_key = Some(material().rsa.display().to_string());
    })
    .await;
    // Wrong password over TLS: full authentication (password in clear over TLS) fails.
    assert_eq!(
        server_error(login(addr, "nope", true).await),
        (1045, "28000".into())
    );
    // First login: full authentication over TLS; the second hits the cache (fast path).
    assert!(!stop.cached());
    for _ in 0..2 {
        let c = login(addr, "root", true).await.expect("TLS login");
        c.disconnect().await.expect("disconnect");
        assert!(stop.cached());
    }
    // Insecure transport is refused once the account is authenticated (as MySQL).
    assert_eq!(
        server_error(Conn::new(opts(addr, "root", false)).await),
        (3159, "HY000".into())
    );
    let _ = stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rsa_full_auth_over_plain_tcp() {
    let (addr, stop) = proxy(|c| {
        c.server.default_auth_plugin = AuthPlugin::CachingSha2Password;
        c.server.caching_sha2_cache = Sha2Cache::Mysql;
        c.server.rsa_private_key = Some(material().rsa.display().to_string());
    })
    .await;
    assert_eq!(
        server_error(login(addr, "nope", false).await),
        (1045, "28000".into())
    );
    assert!(!stop.cached());
    for _ in 0..2 {
        let c = login(addr, "root", false).await.expect("RSA login");
        c.disconnect().await.expect("disconnect");
        assert!(stop.cached());
    }
    let _ = stop.send(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_is_optional_and_only_offered_with_a_certificate() {
    let (addr, stop) = proxy(with_tls).await;
    // mysql_native_password in the handshake; both transports work.
    for tls in [false, true] {
        let c = login(addr, "root", tls).await.expect("login");
        c.disconnect().await.expect("disconnect");
    }
    assert_eq!(
        server_error(login(addr, "nope", true).await),
        (1045, "28000".into())
    );
    let _ = stop.send(true);
    // Without a certificate the server does not advertise CLIENT_SSL: the client refuses.
    let ep = crate::harness::shared();
    let plain: SocketAddr = ep.proxy;
    match login(plain, "root", true).await {
        Err(mysql_async::Error::Driver(e)) => {
            assert!(e.to_string().contains("SSL"), "{e}")
        }
        other => panic!("expected a driver error, got {:?}", other.map(|_| ())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_or_invalid_tls_files_fail_at_start() {
    let m = material();
    let mut config =
        shardgate::rules::parse(shardgate::demo::RULES, "examples/ecommerce/rules.toml")
            .expect("rules");
    config.server.tls_cert = Some("/nonexistent/cert.pem".into());
    config.server.tls_key = Some(m.key.display().to_string());
    let e = shardgate::protocol::security::Security::from_config(&config.server)
        .err()
        .expect("error");
    assert!(
        e.starts_with("[server] tls_cert `/nonexistent/cert.pem`: cannot read"),
        "{e}"
    );
    // A key where the certificate belongs.
    config.server.tls_cert = Some(m.key.display().to_string());
    let e = shardgate::protocol::security::Security::from_config(&config.server)
        .err()
        .expect("error");
    assert!(e.contains("no CERTIFICATE"), "{e}");
    config.server.tls_cert = Some(m.cert.display().to_string());
    config.server.tls_key = Some(m.cert.display().to_string());
    let e = shardgate::protocol::security::Security::from_config(&config.server)
        .err()
        .expect("error");
    assert!(e.contains("tls_key"), "{e}");
    config.server.tls_key = Some(m.key.display().to_string());
    config.server.rsa_private_key = Some(m.cert.display().to_string());
    let e = shardgate::protocol::security::Security::from_config(&config.server)
        .err()
        .expect("error");
    assert!(e.contains("rsa_private_key"), "{e}");
}
