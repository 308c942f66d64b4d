//! Client-facing security settings, loaded once at start from `[server]`: the TLS acceptor,
//! `require_secure_transport`, the handshake's authentication plugin, and what
//! caching_sha2_password's full authentication needs (its cache and the RSA key pair).

use crate::rules::{AuthPlugin, ServerConfig, Sha2Cache};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Size of the RSA key generated when `[server] rsa_private_key` is not set (MySQL's too).
pub const GENERATED_RSA_BITS: usize = 2048;

pub struct Security {
    /// `Some` when `tls_cert`/`tls_key` are configured: CLIENT_SSL is advertised.
    pub tls: Option<TlsAcceptor>,
    pub require_secure_transport: bool,
    /// Plugin named in the initial handshake.
    pub default_plugin: &'static str,
    pub cache_mode: Sha2Cache,
    /// Accounts that passed full authentication (`caching_sha2_cache = "mysql"`).
    cache: Mutex<HashSet<String>>,
    /// The configured key, or one generated on first use (or in the background at start).
    rsa: Arc<OnceCell<Option<Arc<RsaKeys>>>>,
}

impl Default for Security {
    /// No TLS, mysql_native_password in the handshake, every account cached.
    fn default() -> Self {
        Security {
            tls: None,
            require_secure_transport: false,
            default_plugin: super::auth::NATIVE,
            cache_mode: Sha2Cache::Always,
            cache: Mutex::default(),
            rsa: Arc::default(),
        }
    }
}

impl Security {
    /// Read the certificate, keys and settings of `[server]`. Errors name the setting and file.
    pub fn from_config(s: &ServerConfig) -> Result<Security, String> {
        let tls = match (&s.tls_cert, &s.tls_key) {
            (Some(cert), Some(key)) => Some(tls_acceptor(cert, key)?),
            _ => None,
        };
        let rsa = match &s.rsa_private_key {
            Some(path) => {
                let text = read("rsa_private_key", path)?;
                let text = String::from_utf8_lossy(&text);
                let keys = RsaKeys::from_pem(&text)
                    .map_err(|e| format!("[server] rsa_private_key `{path}`: {e}"))?;
                Arc::new(OnceCell::new_with(Some(Some(Arc::new(keys)))))
            }
            None => Arc::default(),
        };
        let sec = Security {
            tls,
            require_secure_transport: s.require_secure_transport,
            default_plugin: match s.default_auth_plugin {
                AuthPlugin::MysqlNativePassword => super::auth::NATIVE,
                AuthPlugin::CachingSha2Password => super::auth::CACHING_SHA2,
            },
            cache_mode: s.caching_sha2_cache,
            cache: Mutex::default(),
            rsa,
        };
        // Full authentication over plain TCP is likely with these settings: have the key
        // ready (generation takes a while) instead of making the first such login wait.
        let likely = s.default_auth_plugin == AuthPlugin::CachingSha2Password
            || s.caching_sha2_cache == Sha2Cache::Mysql;
        if likely && !sec.rsa.initialized() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let cell = sec.rsa.clone();
                rt.spawn(async move {
                    cell.get_or_init(generate).await;
                });
            }
        }
        Ok(sec)
    }

    /// Use `keys` for full authentication over plain TCP.
    pub fn with_rsa(mut self, keys: RsaKeys) -> Self {
        self.rsa = Arc::new(OnceCell::new_with(Some(Some(Arc::new(keys)))));
        self
    }

    /// The RSA key pair for full authentication over plain TCP (generated on first use when
    /// none is configured). `None` only if generation failed.
    pub async fn rsa(&self) -> Option<Arc<RsaKeys>> {
        self.rsa.get_or_init(generate).await.clone()
    }

    /// Does fast authentication find `user` in caching_sha2_password's cache?
    pub fn cached(&self, user: &str) -> bool {
        match self.cache_mode {
            Sha2Cache::Always => true,
            Sha2Cache::Mysql => self.cache.lock().is_ok_and(|c| c.contains(user)),
        }
    }

    /// A full authentication of `user` succeeded.
    pub fn remember(&self, user: &str) {
        if self.cache_mode == Sha2Cache::Mysql {
            if let Ok(mut c) = self.cache.lock() {
                c.insert(user.to_string());
            }
        }
    }
}

async fn generate() -> Option<Arc<RsaKeys>> {
    let started = std::time::Instant::now();
    match tokio::task::spawn_blocking(|| RsaKeys::generate(GENERATED_RSA_BITS)).await {
        Ok(Ok(k)) => {
            tracing::info!(
                "generated a {GENERATED_RSA_BITS}-bit RSA key for caching_sha2_password in {:?}",
                started.elapsed()
            );
            Some(Arc::new(k))
        }
        Ok(Err(e)) => {
            tracing::error!("cannot generate an RSA key for caching_sha2_password: {e}");
            None
        }
        Err(e) => {
            tracing::error!("cannot generate an RSA key for caching_sha2_password: {e}");
            None
        }
    }
}

fn read(setting: &str, path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("[server] {setting} `{path}`: cannot read: {e}"))
}

fn tls_acceptor(cert_path: &str, key_path: &str) -> Result<TlsAcceptor, String> {
    let pem = read("tls_cert", cert_path)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("[server] tls_cert `{cert_path}`: invalid PEM: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "[server] tls_cert `{cert_path}`: no CERTIFICATE in the file"
        ));
    }
    let pem = read("tls_key", key_path)?;
    let key = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| format!("[server] tls_key `{key_path}`: no usable private key: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            format!("[server] tls_cert `{cert_path}` / tls_key `{key_path}`: unusable: {e}")
        })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The server's RSA key pair for caching_sha2_password, and its public half as MySQL sends it.
pub struct RsaKeys {
    private: RsaPrivateKey,
    /// `-----BEGIN PUBLIC KEY-----` (SubjectPublicKeyInfo), as MySQL sends it.
    pub public_pem: String,
}

impl RsaKeys {
    pub fn new(private: RsaPrivateKey) -> Result<RsaKeys, String> {
        let public_pem = RsaPublicKey::from(&private)
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| e.to_string())?;
        Ok(RsaKeys {
            private,
            public_pem,
        })
    }

    /// A PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`) PEM key.
    pub fn from_pem(text: &str) -> Result<RsaKeys, String> {
        let private = RsaPrivateKey::from_pkcs8_pem(text)
            .or_else(|_| RsaPrivateKey::from_pkcs1_pem(text))
            .map_err(|e| format!("not an RSA private key in PEM (PKCS#8 or PKCS#1): {e}"))?;
        if private.size() * 8 < 1024 {
            return Err("RSA keys under 1024 bits are not accepted".into());
        }
        RsaKeys::new(private)
    }

    pub fn generate(bits: usize) -> Result<RsaKeys, String> {
        let private =
            RsaPrivateKey::new(&mut rand::rngs::OsRng, bits).map_err(|e| e.to_string())?;
        RsaKeys::new(private)
    }

    /// Length of a ciphertext (the modulus size in bytes).
    pub fn cipher_len(&self) -> usize {
        self.private.size()
    }

    /// RSA-OAEP (SHA-1, as MySQL's RSA_PKCS1_OAEP_PADDING) decryption, blinded.
    pub fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        self.private
            .decrypt_blinded(&mut rand::rngs::OsRng, Oaep::new::<sha1::Sha1>(), cipher)
            .ok()
    }
}
