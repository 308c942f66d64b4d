//! Merging shard results (pure): ordered k-way merge with MySQL comparison semantics, and
//! LIMIT/OFFSET applied after the merge. No I/O: the executor feeds rows in.

pub mod concat;
pub mod group;
#[cfg(test)]
mod group_tests;

use crate::collation::{compare_cells, sort_kind, SortKind};
use crate::result::{ColumnDef, Row};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

/// One ORDER BY key: result column index and direction.
#[derive(Debug, Clone)]
pub struct SortKey {
    pub column: usize,
    pub desc: bool,
    pub kind: SortKind,
}

#[derive(Debug, Clone, Default)]
pub struct SortSpec {
    pub keys: Vec<SortKey>,
}

impl SortSpec {
    /// Build from (column index, descending) pairs and the result's column definitions.
    pub fn new(keys: &[(usize, bool)], columns: &[ColumnDef]) -> SortSpec {
        SortSpec {
            keys: keys
                .iter()
                .filter_map(|&(column, desc)| {
                    let c = columns.get(column)?;
                    Some(SortKey {
                        column,
                        desc,
                        kind: sort_kind(c.column_type, c.flags, c.charset),
                    })
                })
                .collect(),
        }
    }

    pub fn compare(&self, a: &Row, b: &Row) -> Ordering {
        for k in &self.keys {
            let x = a.get(k.column).and_then(|c| c.as_deref());
            let y = b.get(k.column).and_then(|c| c.as_deref());
            let o = compare_cells(&k.kind, x, y);
            let o = if k.desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

struct Entry {
    row: Row,
    source: usize,
    spec: Arc<SortSpec>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: reverse so the smallest row (then lowest source) pops first.
        self.spec
            .compare(&self.row, &other.row)
            .then(self.source.cmp(&other.source))
            .reverse()
    }
}

/// k-way merge of sources that are each already sorted by `spec`. Holds one row per source.
pub struct KWayMerge {
    heap: BinaryHeap<Entry>,
    spec: Arc<SortSpec>,
}

impl KWayMerge {
    pub fn new(spec: SortSpec) -> KWayMerge {
        KWayMerge {
            heap: BinaryHeap::new(),
            spec: Arc::new(spec),
        }
    }

    /// Offer the next row of `source` (call once per source initially, then after each pop of it).
    pub fn push(&mut self, source: usize, row: Row) {
        self.heap.push(Entry {
            row,
            source,
            spec: self.spec.clone(),
        });
    }

    /// The smallest pending row and the source it came from (to be refilled).
    pub fn pop(&mut self) -> Option<(usize, Row)> {
        self.heap.pop().map(|e| (e.source, e.row))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// LIMIT/OFFSET after a merge: `offer` says whether to emit a row, `done` when no more are needed.
#[derive(Debug, Clone, Copy)]
pub struct LimitState {
    skip: u64,
    left: Option<u64>,
}

impl LimitState {
    pub fn new(offset: u64, limit: Option<u64>) -> LimitState {
        LimitState {
            skip: offset,
            left: limit,
        }
    }

    pub fn unlimited() -> LimitState {
        LimitState {
            skip: 0,
            left: None,
        }
    }

    pub fn offer(&mut self) -> bool {
        if self.done() {
            return false;
        }
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        if let Some(l) = self.left.as_mut() {
            *l -= 1;
        }
        true
    }

    pub fn done(&self) -> bool {
        self.left == Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use mysql_common::constants::ColumnType;

    fn row(v: &[Option<&str>]) -> Row {
        v.iter()
            .map(|c| c.map(|s| Bytes::copy_from_slice(s.as_bytes())))
            .collect()
    }

    fn cols() -> Vec<ColumnDef> {
        let mut id = ColumnDef::bigint("id");
        id.column_type = ColumnType::MYSQL_TYPE_LONGLONG;
        let name = ColumnDef::text("name");
        vec![id, name]
    }

    fn merge(sources: Vec<Vec<Row>>, keys: &[(usize, bool)]) -> Vec<Row> {
        let mut m = KWayMerge::new(SortSpec::new(keys, &cols()));
        let mut iters: Vec<std::vec::IntoIter<Row>> =
            sources.into_iter().map(|s| s.into_iter()).collect();
        for (i, it) in iters.iter_mut().enumerate() {
            if let Some(r) = it.next() {
                m.push(i, r);
            }
        }
        let mut out = Vec::new();
        while let Some((src, r)) = m.pop() {
            out.push(r);
            if let Some(n) = iters[src].next() {
                m.push(src, n);
            }
        }
        out
    }

    #[test]
    fn merges_numbers_with_nulls_first() {
        let a = vec![
            row(&[None, Some("x")]),
            row(&[Some("2"), Some("b")]),
            row(&[Some("10"), Some("c")]),
        ];
        let b = vec![row(&[Some("-1"), Some("a")]), row(&[Some("3"), Some("d")])];
        let got: Vec<Option<Bytes>> = merge(vec![a, b], &[(0, false)])
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
        let want: Vec<Option<Bytes>> = [None, Some("-1"), Some("2"), Some("3"), Some("10")]
            .iter()
            .map(|c| c.map(|s| Bytes::from(s.to_string())))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn merges_strings_by_collation_desc() {
        let a = vec![
            row(&[Some("1"), Some("Bob")]),
            row(&[Some("2"), Some("alice")]),
        ];
        let b = vec![
            row(&[Some("3"), Some("Émile")]),
            row(&[Some("4"), Some("Alice")]),
        ];
        let got: Vec<String> = merge(vec![a, b], &[(1, true)])
            .into_iter()
            .map(|r| String::from_utf8_lossy(r[1].as_ref().unwrap()).into_owned())
            .collect();
        // 'alice' and 'Alice' tie under general_ci; ties keep source order.
        assert_eq!(got, vec!["Émile", "Bob", "alice", "Alice"]);
    }

    #[test]
    fn limit_state() {
        let mut l = LimitState::new(2, Some(2));
        let taken: Vec<bool> = (0..6).map(|_| l.offer()).collect();
        assert_eq!(taken, vec![false, false, true, true, false, false]);
        assert!(l.done());
    }
}
