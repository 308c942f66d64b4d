//! The backend handshake: capabilities, authentication (native, caching_sha2 fast and full
//! paths, auth switch).

use super::{packets, BackendConn, BackendError, ConnOpts};
use mysql_common::constants::CapabilityFlags;
use mysql_common::io::ParseBuf;
use mysql_common::packets::{AuthPlugin, AuthSwitchRequest, HandshakePacket, HandshakeResponse};
use mysql_common::proto::MySerialize;

impl BackendConn {
    pub(super) async fn handshake(&mut self, opts: &ConnOpts) -> Result<(), BackendError> {
        let pkt = self.read().await?;
        if pkt.first() == Some(&0xff) {
            return Err(BackendError::Server(packets::err_packet(&pkt)));
        }
        let hs: HandshakePacket = ParseBuf(&pkt)
            .parse(())
            .map_err(|e| self.protocol(format!("handshake: {e}")))?;
        self.thread_id = hs.connection_id();
        self.version = hs
            .maria_db_server_version_parsed()
            .or_else(|| hs.server_version_parsed())
            .unwrap_or((5, 5, 5));
        let server_caps = hs.capabilities();
        let wanted = CapabilityFlags::CLIENT_PROTOCOL_41
            | CapabilityFlags::CLIENT_SECURE_CONNECTION
            | CapabilityFlags::CLIENT_LONG_PASSWORD
            | CapabilityFlags::CLIENT_LONG_FLAG
            | CapabilityFlags::CLIENT_TRANSACTIONS
            | CapabilityFlags::CLIENT_MULTI_RESULTS
            | CapabilityFlags::CLIENT_PS_MULTI_RESULTS
            | CapabilityFlags::CLIENT_PLUGIN_AUTH
            | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
            | CapabilityFlags::CLIENT_DEPRECATE_EOF
            | CapabilityFlags::CLIENT_SESSION_TRACK
            | CapabilityFlags::CLIENT_CONNECT_WITH_DB;
        self.caps = wanted & server_caps | CapabilityFlags::CLIENT_PROTOCOL_41;
        if !self.caps.contains(CapabilityFlags::CLIENT_PROTOCOL_41) {
            return Err(self.protocol("server without protocol 4.1".into()));
        }
        let nonce = hs.nonce();
        let plugin = hs
            .auth_plugin()
            .map(|p| p.into_owned())
            .unwrap_or(AuthPlugin::MysqlNativePassword);
        let plugin = match plugin {
            AuthPlugin::CachingSha2Password => AuthPlugin::CachingSha2Password,
            _ => AuthPlugin::MysqlNativePassword,
        };
        let pass = (!opts.password.is_empty()).then_some(opts.password.as_str());
        let data = plugin.gen_data(pass, &nonce);
        let mut scramble = Vec::new();
        if let Some(d) = &data {
            d.serialize(&mut scramble);
        }
        let resp = HandshakeResponse::new(
            Some(scramble),
            self.version,
            Some(opts.user.as_bytes().to_vec()),
            (!opts.database.is_empty()).then(|| opts.database.as_bytes().to_vec()),
            Some(plugin.clone()),
            self.caps,
            None,
            opts.max_packet.min(u32::MAX as usize) as u32,
        );
        let mut buf = Vec::new();
        resp.serialize(&mut buf);
        self.io.write_packet(&buf);
        self.flush().await?;
        self.auth_continue(opts, plugin, nonce, false).await
    }

    /// Answer the server's authentication exchange until OK or ERR.
    async fn auth_continue(
        &mut self,
        opts: &ConnOpts,
        mut plugin: AuthPlugin<'static>,
        mut nonce: Vec<u8>,
        mut switched: bool,
    ) -> Result<(), BackendError> {
        loop {
            let pkt = self.read().await?;
            match pkt.first() {
                Some(0x00) => {
                    let ok = packets::ok_packet(pkt, self.track())
                        .map_err(|e| self.protocol(e.to_string()))?;
                    self.status = ok.status;
                    return Ok(());
                }
                Some(0xff) => return Err(BackendError::Server(packets::err_packet(&pkt))),
                Some(0xfe) if !switched => {
                    let req: AuthSwitchRequest = ParseBuf(&pkt)
                        .parse(())
                        .map_err(|e| self.protocol(format!("auth switch: {e}")))?;
                    plugin = match req.auth_plugin() {
                        AuthPlugin::CachingSha2Password => AuthPlugin::CachingSha2Password,
                        AuthPlugin::MysqlNativePassword => AuthPlugin::MysqlNativePassword,
                        other => {
                            return Err(BackendError::Connect {
                                data_source: opts.name.clone(),
                                detail: format!(
                                "authentication plugin {} is not supported for backend accounts",
                                String::from_utf8_lossy(other.as_bytes())
                            ),
                            })
                        }
                    };
                    nonce = req.plugin_data().to_vec();
                    // Some servers end the nonce with a NUL that is not part of it.
                    if nonce.len() == 21 && nonce.last() == Some(&0) {
                        nonce.pop();
                    }
                    switched = true;
                    let pass = (!opts.password.is_empty()).then_some(opts.password.as_str());
                    let mut data = Vec::new();
                    if let Some(d) = plugin.gen_data(pass, &nonce) {
                        d.serialize(&mut data);
                    }
                    self.io.write_packet(&data);
                    self.flush().await?;
                }
                Some(0x01) if matches!(plugin, AuthPlugin::CachingSha2Password) => {
                    match pkt.get(1) {
                        // Fast authentication succeeded: the OK follows.
                        Some(0x03) => continue,
                        // Full authentication: the password, RSA-encrypted over plain TCP.
                        Some(0x04) => self.sha2_full_auth(opts, &nonce).await?,
                        _ => return Err(self.protocol("caching_sha2_password reply".into())),
                    }
                }
                _ => return Err(self.protocol("unexpected packet during authentication".into())),
            }
        }
    }

    async fn sha2_full_auth(&mut self, opts: &ConnOpts, nonce: &[u8]) -> Result<(), BackendError> {
        use rsa::pkcs8::DecodePublicKey;
        self.io.write_packet(&[0x02]);
        self.flush().await?;
        let key = self.read().await?;
        let pem = String::from_utf8_lossy(key.get(1..).unwrap_or_default()).into_owned();
        let public = rsa::RsaPublicKey::from_public_key_pem(pem.trim())
            .or_else(|_| {
                use rsa::pkcs1::DecodeRsaPublicKey;
                rsa::RsaPublicKey::from_pkcs1_pem(pem.trim())
            })
            .map_err(|e| self.protocol(format!("server RSA key: {e}")))?;
        let mut pass: Vec<u8> = opts.password.as_bytes().to_vec();
        pass.push(0);
        for (i, b) in pass.iter_mut().enumerate() {
            *b ^= nonce.get(i % nonce.len().max(1)).copied().unwrap_or(0);
        }
        let enc = public
            .encrypt(
                &mut rand::thread_rng(),
                rsa::Oaep::new::<sha1::Sha1>(),
                &pass,
            )
            .map_err(|e| self.protocol(format!("RSA: {e}")))?;
        self.io.write_packet(&enc);
        self.flush().await
    }
}
