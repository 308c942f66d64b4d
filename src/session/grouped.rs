//! Delivering a grouped plan: k-way merge of the shard streams by group key, the grouping
//! merge, and the client's column metadata from the plan's metadata query.

use super::exec::{collect_leases, next_row};
use super::{FlowResult, Session};
use crate::backend::{Lease, NodeMsg, RowStream};
use crate::error::SqlError;
use crate::merge::group::GroupMerge;
use crate::merge::{KWayMerge, SortSpec};
use crate::plan::AggHandle;
use crate::protocol::writer::ResultWriter;
use crate::result::ColumnDef;

impl Session {
    pub(super) async fn deliver_grouped(
        &mut self,
        agg: &AggHandle,
        columns: Vec<ColumnDef>,
        mut streams: Vec<RowStream>,
        mut meta: RowStream,
        w: &mut ResultWriter<'_>,
        leases: &mut Vec<Lease>,
    ) -> FlowResult<()> {
        // The client's columns: MariaDB's own metadata for the original statement.
        let mut out_cols: Option<Vec<ColumnDef>> = None;
        let mut meta_err: Option<SqlError> = None;
        while let Some(m) = meta.recv().await {
            match m {
                NodeMsg::Columns(c) => out_cols = Some(c.to_vec()),
                NodeMsg::Row(_) => {}
                NodeMsg::Done { lease, .. } => {
                    leases.extend(lease);
                    break;
                }
                NodeMsg::Error { err, lease } => {
                    leases.extend(lease);
                    meta_err = Some(err);
                    break;
                }
            }
        }
        let out_cols = match (out_cols, meta_err) {
            (_, Some(e)) => {
                self.drain(&mut streams, leases).await;
                w.error(&self.map_error(e)).await?;
                return Ok(());
            }
            (Some(c), None) if c.len() == agg.0.outputs.len() => c,
            _ => {
                self.drain(&mut streams, leases).await;
                w.error(&SqlError::internal(
                    "column metadata of a grouped query did not match its plan",
                ))
                .await?;
                return Ok(());
            }
        };
        let out_cols = crate::merge::group::output_columns(&agg.0, &columns, &out_cols);
        let client_cols: Vec<ColumnDef> = out_cols.iter().map(|c| self.map_column(c)).collect();
        // Compare group keys by their real collation (result metadata reports the
        // connection's): a patched copy of the shard columns drives the merge.
        let mut columns = columns;
        for (c, id) in columns.iter_mut().zip(&agg.0.key_collations) {
            if let Some(id) = id {
                c.charset = *id;
            }
        }
        let spec = SortSpec::new(&agg.0.key_order, &columns);
        let mut merge = KWayMerge::new(spec);
        let mut group = GroupMerge::new(
            agg.0.clone(),
            columns,
            out_cols,
            self.shared.config.server.max_memory_rows,
        );
        let mut tally = super::exec::Tally::default();
        let mut out = Vec::new();
        let mut began = false;
        let result: FlowResult<()> = async {
            for (i, rx) in streams.iter_mut().enumerate() {
                if let Some(r) = next_row(rx, leases, &mut tally).await? {
                    merge.push(i, r);
                }
            }
            while !group.done() {
                let Some((src, row)) = merge.pop() else { break };
                group.push(&row, &mut out)?;
                if !out.is_empty() {
                    if !began {
                        w.begin(&client_cols).await?;
                        began = true;
                    }
                    for r in out.drain(..) {
                        w.row(&r).await?;
                    }
                }
                if let Some(r) = next_row(&mut streams[src], leases, &mut tally).await? {
                    merge.push(src, r);
                }
            }
            if !group.done() {
                group.finish(&mut out)?;
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {}
            // An error after rows were sent ends the result with an error packet, as MySQL does.
            Err(super::Flow::Sql(e)) => {
                w.error(&self.map_error(e)).await?;
                return Ok(());
            }
            Err(io) => return Err(io),
        }
        if !began {
            w.begin(&client_cols).await?;
        }
        for r in out.drain(..) {
            w.row(&r).await?;
        }
        // Streams still open were cut by LIMIT; dropping them abandons those queries.
        drop(streams);
        w.end(tally.warnings).await?;
        Ok(())
    }

    async fn drain(&mut self, streams: &mut [RowStream], leases: &mut Vec<Lease>) {
        if self.in_txn || self.sticky {
            for rx in streams.iter_mut() {
                let first = rx.recv().await;
                collect_leases(first, rx, leases).await;
            }
        }
    }
}
