//! The client's character sets (see [`crate::charset`]): backend connections stay utf8mb4
//! when the client's set is one the proxy converts, so what the backends receive and send
//! is always UTF-8 the proxy can parse; the client's text is decoded on the way in and its
//! results encoded on the way out.

use super::Session;
use crate::charset::Charset;
use crate::error::SqlError;

impl Session {
    /// The character set the client logged in with.
    pub fn set_charset(&mut self, cs: Charset) {
        self.login_cs = cs;
        self.client_cs = cs;
        self.results_cs = Some(cs);
        if cs != Charset::Utf8mb4 && !cs.converts() {
            // utf8mb3, binary: the backends do what MariaDB does for them.
            self.record_state("names", &format!("SET NAMES {}", cs.backend_name()));
        }
    }

    /// The set results are converted to, when the proxy converts them.
    pub fn results_transcode(&self) -> Option<Charset> {
        self.results_cs.filter(|c| c.converts())
    }

    /// Text the client sent (a statement to prepare), as UTF-8.
    pub fn decode_text(&self, bytes: &[u8]) -> String {
        self.client_cs.decode(bytes).into_owned()
    }

    /// A query packet as UTF-8 text (see [`crate::sql::binlit`]).
    pub(crate) fn query_text(&self, sql: &[u8]) -> String {
        if self.client_cs.converts() {
            return crate::sql::binlit::decode_query(
                sql,
                self.client_cs,
                self.no_backslash_escapes,
                self.ansi_quotes,
            );
        }
        match std::str::from_utf8(sql) {
            Ok(t) => t.to_string(),
            Err(_) => crate::sql::binlit::hex_invalid_literals(
                sql,
                self.no_backslash_escapes,
                self.ansi_quotes,
            ),
        }
    }

    /// `SET NAMES x [COLLATE y]` / `SET CHARACTER SET x`: the client's sets, and the
    /// statement the backends replay instead (utf8mb4 for a set the proxy converts).
    pub(crate) fn names(&mut self, sql: &str) -> Result<String, SqlError> {
        let words: Vec<&str> = sql.split_whitespace().collect();
        let at = if words
            .get(1)
            .is_some_and(|w| w.eq_ignore_ascii_case("CHARACTER"))
        {
            3
        } else {
            2
        };
        let name = words.get(at).copied().unwrap_or("");
        if name.eq_ignore_ascii_case("DEFAULT") {
            self.client_cs = Charset::Utf8mb4;
            self.results_cs = Some(Charset::Utf8mb4);
            return Ok(sql.to_string());
        }
        let Some(cs) = Charset::from_name(name) else {
            // Other sets: the server converts (and errors on unknown names itself).
            self.client_cs = Charset::Utf8mb4;
            self.results_cs = Some(Charset::Utf8mb4);
            if crate::charset::Charset::from_name(name).is_none()
                && !name.trim_matches(['\'', '"', '`']).is_empty()
            {
                return Err(SqlError::unsupported(format!(
                    "the client character set {name} (shardgate converts latin1, utf8mb3, utf8mb4 and binary)"
                )));
            }
            return Ok(sql.to_string());
        };
        self.client_cs = cs;
        self.results_cs = Some(cs);
        Ok(if cs.converts() {
            "SET NAMES utf8mb4".to_string()
        } else {
            sql.to_string()
        })
    }

    /// `SET character_set_client | character_set_results | character_set_connection = x`:
    /// the value the backends get (utf8mb4 for a set the proxy converts). A client or
    /// connection set the proxy cannot read text in is refused (1235).
    pub(crate) fn charset_variable(&mut self, name: &str, value: &str) -> Result<String, SqlError> {
        let v = value.trim();
        // An evaluated value comes back as a literal, perhaps with an introducer.
        let unintroduced = match v.strip_prefix('_') {
            Some(r) => r.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_'),
            None => v,
        };
        let cs = Charset::from_name(unintroduced);
        let keyword = unintroduced.trim_matches(['\'', '"']).to_ascii_uppercase();
        let default = matches!(keyword.as_str(), "DEFAULT");
        match name {
            "character_set_client" | "character_set_connection" if cs.is_none() && !default => {
                return Err(SqlError::unsupported(format!(
                    "{name} = {v} (shardgate reads client text in latin1, utf8mb3, utf8mb4 and binary)"
                )));
            }
            "character_set_client" => {
                self.client_cs = cs.unwrap_or(Charset::Utf8mb4);
            }
            "character_set_results" => {
                self.results_cs = if keyword == "NULL" {
                    None
                } else {
                    cs.or(Some(Charset::Utf8mb4))
                };
            }
            _ => {}
        }
        Ok(match cs {
            Some(c) if c.converts() => "utf8mb4".to_string(),
            _ => value.to_string(),
        })
    }
}
