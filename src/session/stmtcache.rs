//! Parsed statements shared by every session: a prepared statement's or a text template's
//! parse, its table references and its [`Analysis`] depend on its text and on whether
//! `ANSI_QUOTES` was on, nothing else (not the user, the database or the rules: what
//! depends on those is checked at each execute). A thousand connections preparing the
//! same statements parse each of them once. Bounded by an estimate of the memory held.

use super::stmt::ParsedStmt;
use quick_cache::sync::Cache;
use quick_cache::Weighter;

/// What the cache may hold, in estimated bytes.
const CAPACITY: u64 = 64 << 20;

#[derive(Clone)]
struct ByText;

impl Weighter<String, Option<ParsedStmt>> for ByText {
    fn weight(&self, key: &String, _: &Option<ParsedStmt>) -> u64 {
        // An AST takes several times its text; a small statement still costs its nodes.
        key.len() as u64 * 8 + 1024
    }
}

pub struct StatementCache {
    /// Keyed by the statement's text, one map per `ANSI_QUOTES` setting. `None`: the text
    /// is not one that executes from its parse (it goes through the text path).
    plain: Cache<String, Option<ParsedStmt>, ByText>,
    ansi: Cache<String, Option<ParsedStmt>, ByText>,
}

impl Default for StatementCache {
    fn default() -> StatementCache {
        let cache = || Cache::with_weighter(4096, CAPACITY / 2, ByText);
        StatementCache {
            plain: cache(),
            ansi: cache(),
        }
    }
}

impl StatementCache {
    /// The parse of `sql`, from the cache or from `parse` (then kept).
    pub(crate) fn get_or_parse(
        &self,
        sql: &str,
        ansi: bool,
        parse: impl FnOnce() -> Option<ParsedStmt>,
    ) -> Option<ParsedStmt> {
        let map = if ansi { &self.ansi } else { &self.plain };
        if let Some(hit) = map.get(sql) {
            return hit;
        }
        // Two sessions parsing the same text at once both parse it: harmless, and nobody
        // waits on a lock while another parses.
        let parsed = parse();
        map.insert(sql.to_string(), parsed.clone());
        parsed
    }

    /// Statements held.
    pub fn len(&self) -> usize {
        self.plain.len() + self.ansi.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_text_once_per_ansi_setting() {
        let cache = StatementCache::default();
        let mut parses = 0;
        for ansi in [false, false, true] {
            let got = cache.get_or_parse("SELECT 1", ansi, || {
                parses += 1;
                None
            });
            assert!(got.is_none());
        }
        assert_eq!(parses, 2);
        assert_eq!(cache.len(), 2);
    }
}
