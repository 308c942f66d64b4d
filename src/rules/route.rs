//! [`ShardedTable::route`]: strategy values → data node indices.

use super::error::RouteError;
use super::model::{ShardedTable, Strategy};
use super::values::Values;

impl ShardedTable {
    /// The nodes matched when the database column and table column conditions are known.
    ///
    /// `db` / `tbl`: the set of values the predicate allows for that strategy's column
    /// ([`Values::Any`] when unconstrained; ignored when the table has no such strategy).
    /// Returns indices into `nodes`, ascending and deduplicated. A node is selected when its
    /// data source is selected by the database strategy (all when there is none) and its
    /// table is selected by the table strategy (all when there is none).
    ///
    /// When both strategies shard by the same column, both `db` and `tbl` constrain that
    /// column: each listed value is routed on its own (so `IN (1, 2)` does not produce the
    /// cross product of the database of 1 with the table of 2), and the results for `db`
    /// and `tbl` are intersected.
    pub fn route(&self, db: &Values, tbl: &Values) -> Result<Vec<usize>, RouteError> {
        let ds_targets = self.data_source_targets();
        let tb_targets = self.table_targets();
        let same_column = match (&self.database_strategy, &self.table_strategy) {
            (Some(d), Some(t)) => d.column == t.column,
            _ => false,
        };
        let mask = if same_column {
            let a = self.route_paired(db, &ds_targets, &tb_targets)?;
            let b = self.route_paired(tbl, &ds_targets, &tb_targets)?;
            a.iter().zip(&b).map(|(x, y)| *x && *y).collect()
        } else {
            let ds = self.select(&self.database_strategy, "database", &ds_targets, db)?;
            let tb = self.select(&self.table_strategy, "table", &tb_targets, tbl)?;
            self.combine(&ds, &tb, &ds_targets, &tb_targets)
        };
        Ok(mask
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.then_some(i))
            .collect())
    }

    /// Both strategies on one column: pair database and table choice per value.
    fn route_paired(
        &self,
        values: &Values,
        ds_targets: &[&str],
        tb_targets: &[&str],
    ) -> Result<Vec<bool>, RouteError> {
        match values {
            Values::List(vs) => {
                let mut mask = vec![false; self.nodes.len()];
                for v in vs {
                    let one = Values::List(vec![v.clone()]);
                    let ds = self.select(&self.database_strategy, "database", ds_targets, &one)?;
                    let tb = self.select(&self.table_strategy, "table", tb_targets, &one)?;
                    let m = self.combine(&ds, &tb, ds_targets, tb_targets);
                    mask.iter_mut().zip(m).for_each(|(a, b)| *a |= b);
                }
                Ok(mask)
            }
            Values::Union(members) => {
                let mut mask = vec![false; self.nodes.len()];
                for m in members {
                    let sub = self.route_paired(m, ds_targets, tb_targets)?;
                    mask.iter_mut().zip(sub).for_each(|(a, b)| *a |= b);
                }
                Ok(mask)
            }
            Values::Any | Values::Range { .. } => {
                let ds = self.select(&self.database_strategy, "database", ds_targets, values)?;
                let tb = self.select(&self.table_strategy, "table", tb_targets, values)?;
                Ok(self.combine(&ds, &tb, ds_targets, tb_targets))
            }
        }
    }

    fn select(
        &self,
        strategy: &Option<Strategy>,
        label: &'static str,
        targets: &[&str],
        values: &Values,
    ) -> Result<Vec<bool>, RouteError> {
        match strategy {
            None => Ok(vec![true; targets.len()]),
            Some(s) => s
                .algorithm
                .select(targets, values)
                .map_err(|message| RouteError {
                    table: self.name.clone(),
                    strategy: label,
                    column: s.column.clone(),
                    algorithm: s.algorithm.name.clone(),
                    message,
                }),
        }
    }

    fn combine(
        &self,
        ds: &[bool],
        tb: &[bool],
        ds_targets: &[&str],
        tb_targets: &[&str],
    ) -> Vec<bool> {
        self.nodes
            .iter()
            .map(|n| {
                let d = ds_targets.iter().position(|t| *t == n.data_source);
                let t = tb_targets.iter().position(|t| *t == n.table);
                matches!((d, t), (Some(d), Some(t)) if ds[d] && tb[t])
            })
            .collect()
    }
}
