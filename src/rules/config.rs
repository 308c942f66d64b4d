//! Serde shapes of the rules file. `Raw*` types are private to the rules module and are
//! turned into the public model by `validate`; [`ServerConfig`], [`DataSourceConfig`] and
//! [`UserConfig`] are used as-is.

use std::collections::BTreeMap;

use serde::Deserialize;

/// `[server]`: the proxy's own listener.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// `host:port` to listen on (default `127.0.0.1:3307`).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Server version announced to clients; `None` = take it from a backend.
    #[serde(default)]
    pub server_version: Option<String>,
    /// Worker id for snowflake key generation (0..=1023).
    #[serde(default)]
    pub worker_id: u16,
    /// Start of snowflake time, a UTC datetime (`2024-01-01T00:00:00Z`).
    #[serde(default = "default_snowflake_epoch")]
    pub snowflake_epoch: String,
    /// How far the clock may move backwards before key generation fails (it waits up to this).
    #[serde(default = "default_max_clock_backwards_ms")]
    pub max_clock_backwards_ms: u64,
    /// Maximum number of concurrent client connections; `None` = unlimited.
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// `xa` (default): two-phase commit across data sources; `local`: each commits alone.
    #[serde(default)]
    pub transaction_mode: crate::txn::TxnMode,
    /// The XA decision log (fsync'ed before any XA COMMIT). Empty (the default):
    /// `xa-<worker_id>.log` in the state directory.
    #[serde(default)]
    pub xa_log: String,
    /// Where the proxy keeps its state files (the XA decision log). Default: the
    /// environment's `SHARDGATE_STATE_DIR`, else `$XDG_STATE_HOME/shardgate`, else
    /// `~/.local/state/shardgate`, else `/var/lib/shardgate`.
    #[serde(default)]
    pub state_dir: Option<String>,
    /// `innodb_lock_wait_timeout` (seconds) for backend connections inside transactions; a
    /// lock wait past it aborts the whole distributed transaction. `None`: the server's.
    #[serde(default)]
    pub lock_wait_timeout: Option<u32>,
    /// Rows a cross-shard GROUP BY / ORDER BY / DISTINCT may hold in the proxy.
    #[serde(default = "default_max_memory_rows")]
    pub max_memory_rows: usize,
    /// PEM certificate chain for client TLS; with `tls_key`, the proxy advertises CLIENT_SSL.
    #[serde(default)]
    pub tls_cert: Option<String>,
    /// PEM private key of `tls_cert`.
    #[serde(default)]
    pub tls_key: Option<String>,
    /// Refuse logins that did not upgrade to TLS (MySQL's error 3159).
    #[serde(default)]
    pub require_secure_transport: bool,
    /// Authentication plugin named in the initial handshake (MySQL's
    /// `default_authentication_plugin`).
    #[serde(default)]
    pub default_auth_plugin: AuthPlugin,
    /// When caching_sha2_password's fast authentication succeeds.
    #[serde(default)]
    pub caching_sha2_cache: Sha2Cache,
    /// PEM RSA private key (PKCS#1 or PKCS#8) for caching_sha2_password full authentication
    /// over plain TCP; `None`: a 2048-bit key is generated when first needed.
    #[serde(default)]
    pub rsa_private_key: Option<String>,
    /// Seconds a client may take from connecting to being logged in (TLS upgrade and
    /// authentication included) before the proxy closes the connection (MySQL's
    /// `connect_timeout`, default 10).
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: u32,
    /// Prometheus metrics over HTTP (`GET /metrics`) on this address (None: off).
    #[serde(default)]
    pub metrics_listen: Option<String>,
    /// Slow-query log file (relative: in the state directory; None: the log stream only).
    #[serde(default)]
    pub slow_log: Option<String>,
}

fn default_connect_timeout() -> u32 {
    10
}

/// `[server] default_auth_plugin`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthPlugin {
    #[default]
    MysqlNativePassword,
    CachingSha2Password,
}

/// `[server] caching_sha2_cache`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sha2Cache {
    /// Every account is always cached: the right password passes fast authentication.
    #[default]
    Always,
    /// As MySQL 8: empty at start, an account enters the cache on its first successful full
    /// authentication (so each account's first login needs full authentication).
    Mysql,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            server_version: None,
            worker_id: 0,
            snowflake_epoch: default_snowflake_epoch(),
            max_clock_backwards_ms: default_max_clock_backwards_ms(),
            max_connections: None,
            transaction_mode: crate::txn::TxnMode::default(),
            xa_log: String::new(),
            state_dir: None,
            lock_wait_timeout: None,
            max_memory_rows: default_max_memory_rows(),
            tls_cert: None,
            tls_key: None,
            require_secure_transport: false,
            default_auth_plugin: AuthPlugin::default(),
            caching_sha2_cache: Sha2Cache::default(),
            rsa_private_key: None,
            connect_timeout: default_connect_timeout(),
            metrics_listen: None,
            slow_log: None,
        }
    }
}

impl ServerConfig {
    /// The state directory (see [`ServerConfig::state_dir`]).
    pub fn state_dir_path(&self) -> std::path::PathBuf {
        use std::path::PathBuf;
        if let Some(d) = self.state_dir.as_deref().filter(|d| !d.is_empty()) {
            return PathBuf::from(d);
        }
        let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
        if let Some(d) = env("SHARDGATE_STATE_DIR") {
            return PathBuf::from(d);
        }
        if let Some(d) = env("XDG_STATE_HOME") {
            return PathBuf::from(d).join("shardgate");
        }
        if let Some(h) = env("HOME") {
            return PathBuf::from(h).join(".local/state/shardgate");
        }
        PathBuf::from("/var/lib/shardgate")
    }

    /// The XA decision log's path: `xa_log` if set, else `xa-<worker_id>.log` in the state
    /// directory (one log per worker id: proxies sharing shards have different ids).
    pub fn xa_log_path(&self) -> std::path::PathBuf {
        if !self.xa_log.is_empty() {
            return std::path::PathBuf::from(&self.xa_log);
        }
        self.state_dir_path()
            .join(format!("xa-{}.log", self.worker_id))
    }
}

fn default_max_memory_rows() -> usize {
    1_000_000
}

impl ServerConfig {
    /// `snowflake_epoch` in milliseconds since 1970-01-01 UTC.
    pub fn snowflake_epoch_ms(&self) -> Result<u64, String> {
        parse_utc_datetime_ms(&self.snowflake_epoch)
    }
}

/// `2024-01-01T00:00:00Z`, `2024-01-01 00:00:00`, `2024-01-01T00:00:00.5+00:00` or `2024-01-01`
/// (UTC: `Z`, `+00:00` or no zone; other offsets are rejected) → ms since 1970-01-01 UTC.
pub fn parse_utc_datetime_ms(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let t = t
        .strip_suffix(['Z', 'z'])
        .or_else(|| t.strip_suffix("+00:00"))
        .unwrap_or(t);
    let micros = super::datetime::parse(t).ok_or_else(|| {
        format!(
            "`{text}` is not a UTC datetime like `{}`",
            super::DEFAULT_SNOWFLAKE_EPOCH
        )
    })?;
    if micros < 0 {
        return Err(format!("`{text}` is before 1970-01-01"));
    }
    Ok((micros / 1000) as u64)
}

fn default_snowflake_epoch() -> String {
    super::DEFAULT_SNOWFLAKE_EPOCH.to_string()
}

fn default_max_clock_backwards_ms() -> u64 {
    super::DEFAULT_MAX_CLOCK_BACKWARDS_MS
}

fn default_listen() -> String {
    super::DEFAULT_LISTEN.to_string()
}

fn default_pool_size() -> u32 {
    super::DEFAULT_POOL_SIZE
}

/// `[data_sources.<name>]`: one physical MySQL schema.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSourceConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    #[serde(default)]
    pub password: String,
    /// Physical schema name on the backend server.
    pub database: String,
    /// Connection pool size (default 16).
    #[serde(default = "default_pool_size")]
    pub pool_size: u32,
    /// How long a statement waits for a free pooled connection before failing with 1040
    /// ("too busy"; a transaction stays open and the statement may be retried).
    #[serde(default = "default_pool_timeout_ms")]
    pub pool_timeout_ms: u64,
    /// Longest wait for a new backend connection to be established and logged in.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Most statements waiting for a connection at once; past it a statement fails at once
    /// with 1040 (0: no bound but `pool_timeout_ms`).
    #[serde(default)]
    pub max_waiting: u32,
}

fn default_pool_timeout_ms() -> u64 {
    5000
}

fn default_connect_timeout_ms() -> u64 {
    3000
}

/// `[[databases.<db>.users]]`: a client account allowed to use that database
/// (mysql_native_password, plaintext here).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: String,
    #[serde(default)]
    pub password: String,
    /// Reads only, in this database.
    #[serde(default)]
    pub read_only: bool,
    /// May run the proxy's administration statements.
    #[serde(default)]
    pub admin: bool,
}

/// `[[users]]`: a client account and the logical databases it may use.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccount {
    pub name: String,
    #[serde(default)]
    pub password: String,
    /// Logical databases this account may use (`["*"]`: every one).
    pub databases: Vec<String>,
    /// Reads only, in all of them.
    #[serde(default)]
    pub read_only: bool,
    /// May run the proxy's administration statements.
    #[serde(default)]
    pub admin: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub users: Vec<RawAccount>,
    #[serde(default)]
    pub data_sources: BTreeMap<String, DataSourceConfig>,
    #[serde(default)]
    pub databases: BTreeMap<String, RawDatabase>,
    #[serde(default)]
    pub health: super::protect::HealthConfig,
    #[serde(default)]
    pub limits: super::protect::LimitsConfig,
    #[serde(default)]
    pub firewall: super::protect::FirewallConfig,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDatabase {
    #[serde(default)]
    pub users: Vec<UserConfig>,
    #[serde(default)]
    pub default_data_source: Option<String>,
    /// Optional explicit list of the data sources this database uses (broadcast tables go
    /// to all of them). Default: every data source referenced by the database.
    #[serde(default)]
    pub data_sources: Option<Vec<String>>,
    #[serde(default)]
    pub tables: BTreeMap<String, RawTable>,
    #[serde(default)]
    pub binding_tables: Vec<Vec<String>>,
    #[serde(default)]
    pub broadcast_tables: Vec<String>,
    /// table → data source
    #[serde(default)]
    pub single_tables: BTreeMap<String, String>,
    #[serde(default)]
    pub algorithms: BTreeMap<String, RawAlgorithm>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTable {
    pub actual_data_nodes: String,
    #[serde(default)]
    pub database_strategy: Option<RawStrategy>,
    #[serde(default)]
    pub table_strategy: Option<RawStrategy>,
    #[serde(default)]
    pub key_generator: Option<RawKeyGenerator>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStrategy {
    pub column: String,
    pub algorithm: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKeyGenerator {
    pub column: String,
    #[serde(rename = "type")]
    pub kind: String,
}

/// All algorithm parameters; which ones are required / allowed depends on `type` and is
/// checked by `validate` so that messages can name the algorithm.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAlgorithm {
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub sharding_count: Option<i64>,
    #[serde(default)]
    pub collation: Option<String>,
    #[serde(default)]
    pub boundaries: Option<Vec<i64>>,
    #[serde(default)]
    pub datetime_lower: Option<String>,
    #[serde(default)]
    pub datetime_upper: Option<String>,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub interval_amount: Option<i64>,
    #[serde(default)]
    pub suffix_pattern: Option<String>,
    #[serde(default)]
    pub slot_count: Option<i64>,
    #[serde(default)]
    pub slots: Option<Vec<RawSlot>>,
    #[serde(default)]
    pub expression: Option<String>,
}

impl RawAlgorithm {
    /// Names of the parameters that are set (excluding `type`), in declaration order.
    pub fn present_fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        let checks: [(&'static str, bool); 11] = [
            ("sharding_count", self.sharding_count.is_some()),
            ("collation", self.collation.is_some()),
            ("boundaries", self.boundaries.is_some()),
            ("datetime_lower", self.datetime_lower.is_some()),
            ("datetime_upper", self.datetime_upper.is_some()),
            ("interval", self.interval.is_some()),
            ("interval_amount", self.interval_amount.is_some()),
            ("suffix_pattern", self.suffix_pattern.is_some()),
            ("slot_count", self.slot_count.is_some()),
            ("slots", self.slots.is_some()),
            ("expression", self.expression.is_some()),
        ];
        for (name, set) in checks {
            if set {
                out.push(name);
            }
        }
        out
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSlot {
    /// `"0..511"` (inclusive both ends) or a single slot `"7"`.
    pub range: String,
    pub node: String,
}
