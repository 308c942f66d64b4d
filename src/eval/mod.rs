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
//! Like MariaDB, `/` and [`avg`] keep their internal digits (a multiple of 9:
//! `1/3` is 0.333333333) for further arithmetic (`1/3*3` shows 1.0000);
//! `=`/`<`-style comparisons and [`Expr::eval`]'s result round to the result
//! type's scale (`1/3 = 0.3333` is true), [`Val::to_cell`] to the column's.
//!
//! Verified against MariaDB 10.11 (`tests/refgen` regenerates the tables).
//! Known differences:
//! - The result scale of an input column is unknown, so comparisons with an
//!   AVG value use its internal digits (`HAVING AVG(x) = 1.3333` is false for
//!   1.333333333; MariaDB rounds first). Only values within half a unit of
//!   the shown last digit of the constant are affected.
//! - DECIMAL values need at most ~38 digits (MariaDB allows 65): larger
//!   results are an overflow error, larger cells are read as DOUBLE.
//! - Values carry no result metadata: a DOUBLE has no display decimals
//!   (`CONCAT(ROUND(x, 2))` of a DOUBLE prints its shortest form) and NULL
//!   has no type, so `IFNULL(NULL_decimal, 1) / 3` uses the scale of `1`.
//!   IF / IFNULL / COALESCE / CASE / GREATEST otherwise convert the chosen
//!   value to the type aggregated over all non-NULL candidates.
//! - Comparisons are pairwise; MariaDB aggregates one comparison type over
//!   BETWEEN / IN / CASE arguments (string vs DECIMAL follows its rules).
//! - Overflow messages name input columns `col<i>`; no warnings are produced.
//! - LOWER / UPPER use Unicode simple (1:1, BMP) case mapping.

mod agg;
mod arith;
mod compile;
mod decimal;
mod display;
mod expr;
mod func;
mod num;
mod temporal;
mod text;
mod value;

#[cfg(test)]
mod tests;

pub use agg::{avg, avg_with, Acc, AggKind};
pub use arith::DIV_INCR;
pub use compile::{compile, compile_with, Options as CompileOptions, Unsupported};
pub use decimal::{Decimal, MAX_SCALE};
pub use expr::{BinOp, EvalError, Expr, UnOp};
pub use num::{format_double, format_double_fixed};
pub use value::{Val, BINARY, DEFAULT_COLLATION};
