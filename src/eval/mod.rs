//! Pure evaluation of values and expressions with MySQL/MariaDB 10.11
//! semantics, for merging aggregates across shards.
//!
//! - [`Val`]: values decoded from / encoded to text-protocol cells, compared,
//!   grouped and tested for truth as MariaDB does.
//! - [`Decimal`]: DECIMAL arithmetic (i128 mantissa, scale up to 38).
//! - [`Expr`]: expressions over a row (group keys and finished aggregates),
//!   built from sqlparser ASTs by [`compile`].
//! - [`Acc`] / [`avg`]: merging per-shard partial aggregates.
//!
//! Known differences from MariaDB (see also the submodules):
//! - DECIMAL values need at most ~38 digits (MariaDB allows 65): larger
//!   results are an overflow error, larger cells are read as DOUBLE.
//! - DOUBLE values carry no display decimals: `CONCAT(ROUND(x, 2))` of a
//!   DOUBLE prints its shortest form, not a fixed number of decimals.
//! - Comparisons are pairwise; MariaDB aggregates one comparison type over
//!   all arguments of BETWEEN / IN / CASE.
//! - No warnings are produced (e.g. for '12abc' + 0 or division by zero).

mod agg;
mod arith;
mod compile;
mod decimal;
mod expr;
mod func;
mod num;
mod temporal;
mod text;
mod value;

#[cfg(test)]
mod tests;

pub use agg::{avg, Acc, AggKind};
pub use compile::{compile, Unsupported};
pub use decimal::{Decimal, MAX_SCALE};
pub use expr::{BinOp, EvalError, Expr, UnOp};
pub use num::{format_double, format_double_fixed};
pub use value::Val;
