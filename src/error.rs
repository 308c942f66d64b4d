//! Errors as the client sees them: every error maps to a MySQL error code, SQLSTATE and message.

use std::fmt;

/// An error that is answered to the client as a MySQL ERR packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    pub code: u16,
    pub state: [u8; 5],
    pub message: String,
}

impl SqlError {
    pub fn new(code: u16, state: &str, message: impl Into<String>) -> SqlError {
        let mut s = [b'H', b'Y', b'0', b'0', b'0'];
        if state.len() == 5 {
            s.copy_from_slice(state.as_bytes());
        }
        SqlError {
            code,
            state: s,
            message: message.into(),
        }
    }

    /// ER_NOT_SUPPORTED_YET (1235): what the proxy cannot do (yet), naming it.
    pub fn unsupported(what: impl fmt::Display) -> SqlError {
        SqlError::new(
            1235,
            "42000",
            format!("This version of shardgate doesn't yet support '{what}'"),
        )
    }

    pub fn access_denied(user: &str, using_password: bool) -> SqlError {
        SqlError::new(
            1045,
            "28000",
            format!(
                "Access denied for user '{user}'@'%' (using password: {})",
                if using_password { "YES" } else { "NO" }
            ),
        )
    }

    pub fn unknown_database(db: &str) -> SqlError {
        SqlError::new(1049, "42000", format!("Unknown database '{db}'"))
    }

    pub fn no_database() -> SqlError {
        SqlError::new(1046, "3D000", "No database selected")
    }

    pub fn parse(msg: impl fmt::Display) -> SqlError {
        SqlError::new(
            1064,
            "42000",
            format!("You have an error in your SQL syntax: {msg}"),
        )
    }

    pub fn unknown_command(cmd: u8) -> SqlError {
        SqlError::new(1047, "08S01", format!("Unknown command 0x{cmd:02x}"))
    }

    pub fn internal(msg: impl fmt::Display) -> SqlError {
        SqlError::new(1105, "HY000", format!("shardgate: {msg}"))
    }

    /// ER_UNKNOWN_STMT_HANDLER (1243).
    pub fn unknown_stmt(id: u32, cmd: &str) -> SqlError {
        SqlError::new(
            1243,
            "HY000",
            format!("Unknown prepared statement handler ({id}) given to {cmd}"),
        )
    }

    pub fn with_suffix(mut self, suffix: &str) -> SqlError {
        self.message.push_str(suffix);
        self
    }

    pub fn with_prefix(mut self, prefix: &str) -> SqlError {
        self.message = format!("{prefix}{}", self.message);
        self
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ERROR {} ({}): {}",
            self.code,
            String::from_utf8_lossy(&self.state),
            self.message
        )
    }
}

impl std::error::Error for SqlError {}

impl From<mysql_async::Error> for SqlError {
    fn from(e: mysql_async::Error) -> SqlError {
        match e {
            mysql_async::Error::Server(s) => SqlError::new(s.code, &s.state, s.message),
            other => SqlError::new(
                2013,
                "HY000",
                format!("Lost connection to backend: {other}"),
            ),
        }
    }
}

pub type SqlResult<T> = Result<T, SqlError>;
