//! Span-based editing of the client's SQL text: the AST says *where* (exact source spans of
//! identifiers, placeholders, LIMIT values); the edit replaces just those bytes, so everything
//! else reaches the backend exactly as the client wrote it.

use sqlparser::tokenizer::{Location, Span};
use std::ops::Range;

/// Maps sqlparser line/column locations (1-based, columns in characters) to byte offsets.
pub struct SourceMap<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
    /// Per line: how many leading bytes are ASCII (columns map to bytes 1:1 there).
    ascii_prefix: Vec<usize>,
}

impl<'a> SourceMap<'a> {
    pub fn new(text: &'a str) -> SourceMap<'a> {
        let mut line_starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        let ascii_prefix = line_starts
            .iter()
            .enumerate()
            .map(|(k, &start)| {
                let end = line_starts.get(k + 1).map_or(text.len(), |n| n - 1);
                let line = &text.as_bytes()[start..end];
                line.iter()
                    .position(|b| !b.is_ascii())
                    .unwrap_or(line.len())
            })
            .collect();
        SourceMap {
            text,
            line_starts,
            ascii_prefix,
        }
    }

    /// Byte offset of a 1-based line/column (columns count characters) location.
    pub fn offset(&self, loc: Location) -> Option<usize> {
        if loc.line == 0 || loc.column == 0 {
            return None;
        }
        let li = usize::try_from(loc.line - 1).ok()?;
        let start = *self.line_starts.get(li)?;
        let col = usize::try_from(loc.column - 1).ok()?;
        let line_end = self
            .line_starts
            .get(li + 1)
            .map(|n| n - 1)
            .unwrap_or(self.text.len());
        let prefix = self.ascii_prefix.get(li).copied().unwrap_or(0);
        if col <= prefix {
            return Some((start + col).min(line_end));
        }
        // Past the ASCII prefix: count characters from its end.
        let line = &self.text[start + prefix..line_end];
        match line.char_indices().nth(col - prefix) {
            Some((i, _)) => Some(start + prefix + i),
            None => Some(line_end),
        }
    }

    pub fn range(&self, span: Span) -> Option<Range<usize>> {
        let s = self.offset(span.start)?;
        let e = self.offset(span.end)?;
        (s <= e).then_some(s..e)
    }

    pub fn text(&self) -> &'a str {
        self.text
    }
}

/// Extend `range` so its parentheses balance. sqlparser's spans of some expressions (function
/// calls, casts) stop before their closing `)`; quoted strings and names are skipped.
pub fn balanced(text: &str, range: Range<usize>) -> Range<usize> {
    let bytes = text.as_bytes();
    let mut depth: i64 = 0;
    let mut i = range.start;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        if i >= range.end && depth <= 0 && quote.is_none() {
            break;
        }
        match quote {
            Some(q) => {
                if b == b'\\' && q != b'`' {
                    i += 1;
                } else if b == q {
                    quote = None;
                }
            }
            None => match b {
                b'\'' | b'"' | b'`' => quote = Some(b),
                b'(' => depth += 1,
                b')' => {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
                _ => {}
            },
        }
        i += 1;
    }
    let end = i.max(range.end).min(text.len());
    // A call whose span covers only the function name: take its argument list too.
    let ends_with_word = text[..end]
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '`');
    let rest = &text[end..];
    let trimmed = rest.trim_start();
    if ends_with_word && trimmed.starts_with('(') {
        let open = end + (rest.len() - trimmed.len());
        let group = balanced(text, open..open + 1);
        return range.start..group.end.max(open + 1);
    }
    range.start..end
}

/// A set of non-overlapping replacements of byte ranges.
#[derive(Debug, Clone, Default)]
pub struct Edits {
    items: Vec<(Range<usize>, String)>,
    /// Index into `items` of each non-empty replaced range (a later replacement wins), kept
    /// once there are [`SCAN_LIMIT`] edits; below that a scan is cheaper than hashing.
    by_range: std::collections::HashMap<(usize, usize), usize>,
    indexed: bool,
}

/// Edits from which a replaced range is found by index instead of by scanning.
const SCAN_LIMIT: usize = 16;

impl Edits {
    pub fn new() -> Edits {
        Edits::default()
    }

    /// Replace `range`; a later replacement of exactly the same range wins (a LIMIT value
    /// written as a parameter is first spliced, then rewritten for the shards).
    pub fn replace(&mut self, range: Range<usize>, with: impl Into<String>) {
        if !range.is_empty() {
            if let Some(i) = self.position(&range) {
                if let Some(item) = self.items.get_mut(i) {
                    item.1 = with.into();
                    return;
                }
            }
            if self.indexed {
                self.by_range
                    .insert((range.start, range.end), self.items.len());
            }
        }
        self.items.push((range, with.into()));
    }

    /// The item replacing exactly this (non-empty) range.
    fn position(&mut self, range: &Range<usize>) -> Option<usize> {
        if !self.indexed && self.items.len() >= SCAN_LIMIT {
            for (i, (r, _)) in self.items.iter().enumerate() {
                if !r.is_empty() {
                    self.by_range.insert((r.start, r.end), i);
                }
            }
            self.indexed = true;
        }
        if self.indexed {
            self.by_range.get(&(range.start, range.end)).copied()
        } else {
            self.items.iter().position(|(r, _)| r == range)
        }
    }

    pub fn insert(&mut self, at: usize, text: impl Into<String>) {
        self.items.push((at..at, text.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn extend(&mut self, other: &Edits) {
        for (r, w) in &other.items {
            self.replace(r.clone(), w.clone());
        }
    }

    /// Apply the edits lying inside `range` to that slice of `text`.
    pub fn apply_within(&self, text: &str, range: Range<usize>) -> String {
        let mut inner = Edits::new();
        for (r, w) in &self.items {
            if r.start >= range.start && r.end <= range.end {
                inner.replace(r.start - range.start..r.end - range.start, w.clone());
            }
        }
        inner.apply(&text[range])
    }

    /// Apply to `text`. Overlapping edits are a bug in the caller: the later one is dropped.
    pub fn apply(&self, text: &str) -> String {
        let mut items: Vec<&(Range<usize>, String)> = self.items.iter().collect();
        items.sort_by_key(|(r, _)| (r.start, r.end));
        let mut out = String::with_capacity(text.len() + 32);
        let mut pos = 0;
        for (r, with) in items {
            if r.start < pos || r.end > text.len() {
                continue;
            }
            out.push_str(&text[pos..r.start]);
            out.push_str(with);
            pos = r.end;
        }
        out.push_str(&text[pos..]);
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn offsets_count_characters_per_line() {
        use sqlparser::tokenizer::Location;
        let text = "SELECT 'é', x\nFROM ü WHERE y = 1";
        let sm = super::SourceMap::new(text);
        let at = |line, column| sm.offset(Location { line, column }).unwrap();
        assert_eq!(&text[at(1, 1)..at(1, 7)], "SELECT");
        assert_eq!(&text[at(1, 13)..at(1, 14)], "x");
        assert_eq!(&text[at(2, 6)..at(2, 7)], "ü");
        assert_eq!(&text[at(2, 8)..at(2, 13)], "WHERE");
        assert_eq!(at(2, 19), text.len());
    }

    use super::*;

    fn loc(line: u64, column: u64) -> Location {
        Location { line, column }
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let sm = SourceMap::new("SELECT 'É', x\nFROM t");
        assert_eq!(sm.offset(loc(1, 1)), Some(0));
        // 'É' is two bytes; column 13 is 'x'.
        assert_eq!(&sm.text()[sm.offset(loc(1, 13)).unwrap()..][..1], "x");
        assert_eq!(&sm.text()[sm.offset(loc(2, 6)).unwrap()..], "t");
        assert_eq!(sm.offset(loc(0, 0)), None);
    }

    #[test]
    fn balanced_extends_to_closing_parens() {
        let t = "VALUES (1, NOW(), CAST('a)' AS CHAR)) x";
        let now = t.find("NOW").unwrap();
        assert_eq!(&t[balanced(t, now..now + 4)], "NOW()");
        assert_eq!(&t[balanced(t, now..now + 3)], "NOW()");
        let cast = t.find("CAST").unwrap();
        assert_eq!(&t[balanced(t, cast..cast + 9)], "CAST('a)' AS CHAR)");
        assert_eq!(&t[balanced(t, 8..9)], "1");
    }

    #[test]
    fn edits_apply_in_order() {
        let mut e = Edits::new();
        e.replace(14..15, "t_1");
        e.replace(7..8, "a");
        e.insert(8, ", b");
        assert_eq!(
            e.apply("SELECT x FROM t WHERE 1"),
            "SELECT a, b FROM t_1 WHERE 1"
        );
    }

    #[test]
    fn later_replacement_of_a_range_wins_below_and_above_the_scan_limit() {
        for n in [3, SCAN_LIMIT * 2] {
            let text = "x".repeat(n);
            let mut e = Edits::new();
            e.insert(0, ">");
            for i in 0..n {
                e.replace(i..i + 1, "a");
            }
            for i in (0..n).step_by(2) {
                e.replace(i..i + 1, "b");
            }
            let want: String = (0..n).map(|i| if i % 2 == 0 { 'b' } else { 'a' }).collect();
            assert_eq!(e.apply(&text), format!(">{want}"));
        }
    }
}
