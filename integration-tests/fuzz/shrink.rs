//! Smaller variants of a failing query, most aggressive first. The driver keeps the first
//! one that is still valid and still fails the same way, and repeats.

use super::ast::{Expr, Item, Qual, Query, Ref};

fn without<T: Clone>(v: &[T], i: usize) -> Vec<T> {
    let mut v = v.to_vec();
    v.remove(i);
    v
}

/// Simpler forms of one WHERE/HAVING conjunct.
fn simpler(e: &Expr) -> Vec<Expr> {
    match e {
        Expr::Bin(a, "OR" | "AND", b) => vec![(**a).clone(), (**b).clone()],
        Expr::Not(a) => vec![(**a).clone()],
        Expr::In(a, list, not) if list.len() > 1 => (0..list.len())
            .map(|i| Expr::In(a.clone(), without(list, i), *not))
            .collect(),
        _ => Vec::new(),
    }
}

/// Smaller expressions to put in place of a select item or ORDER BY expression: its
/// non-literal operands.
fn parts(e: &Expr) -> Vec<Expr> {
    e.children()
        .into_iter()
        .filter(|c| !matches!(c, Expr::Lit(..)))
        .cloned()
        .collect()
}

pub fn candidates(q: &Query) -> Vec<Query> {
    let mut out = Vec::new();
    let mut push = |f: &dyn Fn(&mut Query)| {
        let mut c = q.clone();
        f(&mut c);
        if c != *q {
            out.push(c);
        }
    };
    push(&|c| c.limit = None);
    push(&|c| c.where_.clear());
    push(&|c| c.having.clear());
    push(&|c| c.order_by.clear());
    push(&|c| {
        if let Some(l) = &mut c.limit {
            l.offset = None;
        }
    });
    for i in 0..q.order_by.len() {
        push(&|c| c.order_by = without(&q.order_by, i));
    }
    for i in 0..q.where_.len() {
        push(&|c| c.where_ = without(&q.where_, i));
    }
    for i in 0..q.having.len() {
        push(&|c| c.having = without(&q.having, i));
    }
    for i in 0..q.items.len() {
        if q.items.len() > 1 {
            push(&|c| c.items = without(&q.items, i));
        }
    }
    for i in 0..q.group_by.len() {
        push(&|c| c.group_by = without(&q.group_by, i));
    }
    push(&|c| c.group_by.clear());
    push(&|c| c.distinct = false);
    for i in 0..q.where_.len() {
        for s in simpler(&q.where_[i]) {
            push(&|c| c.where_[i] = s.clone());
        }
    }
    for i in 0..q.having.len() {
        for s in simpler(&q.having[i]) {
            push(&|c| c.having[i] = s.clone());
        }
    }
    for i in 0..q.items.len() {
        if let Item::Expr(_, Some(_)) = &q.items[i] {
            // Dropping an alias only helps if nothing refers to it (validate decides).
            push(&|c| {
                if let Item::Expr(_, a) = &mut c.items[i] {
                    *a = None;
                }
            });
        }
    }
    for i in 0..q.items.len() {
        match &q.items[i] {
            Item::Expr(e, a) => {
                for p in parts(e) {
                    push(&|c| c.items[i] = Item::Expr(p.clone(), a.clone()));
                }
            }
            Item::Star => push(&|c| c.items[i] = Item::Expr(Expr::Col(q.pk), None)),
        }
    }
    for i in 0..q.order_by.len() {
        if let (Ref::Expr(e), d) = &q.order_by[i] {
            for p in parts(e) {
                push(&|c| c.order_by[i] = (Ref::Expr(p.clone()), *d));
            }
        }
    }
    push(&|c| c.qual = Qual::None);
    push(&|c| c.case_mix = false);
    push(&|c| {
        if let Some(l) = &mut c.limit {
            l.param = false;
        }
    });
    out
}
