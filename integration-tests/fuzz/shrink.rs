//! Smaller variants of a failing query, most aggressive first. The driver keeps the first
//! one that is still valid and still fails the same way, and repeats.

use super::ast::{Expr, Item, Qual, Query, Ref, Sub};

fn without<T: Clone>(v: &[T], i: usize) -> Vec<T> {
    let mut v = v.to_vec();
    v.remove(i);
    v
}

/// Simpler forms of one WHERE/HAVING conjunct.
fn simpler(e: &Expr) -> Vec<Expr> {
    let mut v = match e {
        Expr::Bin(a, "OR" | "AND", b) => vec![(**a).clone(), (**b).clone()],
        Expr::Not(a) => vec![(**a).clone()],
        Expr::In(a, list, not) if list.len() > 1 => (0..list.len())
            .map(|i| Expr::In(a.clone(), without(list, i), *not))
            .collect(),
        _ => Vec::new(),
    };
    v.extend(with_smaller_subs(e));
    v
}

/// `e` with one of its subqueries replaced by a smaller one (`(a, b) IN (SELECT c, d ...)`
/// also by `a IN (SELECT c ...)`).
fn with_smaller_subs(e: &Expr) -> Vec<Expr> {
    let boxed = |s: Sub| Box::new(s);
    match e {
        Expr::InSub(lhs, s, not) => {
            let mut v = Vec::new();
            if lhs.len() > 1 && s.items.len() == lhs.len() {
                for (l, item) in lhs.iter().zip(&s.items) {
                    let mut one = (**s).clone();
                    one.items = vec![item.clone()];
                    v.push(Expr::InSub(vec![l.clone()], boxed(one), *not));
                }
            }
            v.extend(
                smaller_sub(s)
                    .into_iter()
                    .map(|s| Expr::InSub(lhs.clone(), boxed(s), *not)),
            );
            v
        }
        Expr::Exists(s, not) => smaller_sub(s)
            .into_iter()
            .map(|s| Expr::Exists(boxed(s), *not))
            .collect(),
        Expr::Scalar(s) => smaller_sub(s)
            .into_iter()
            .map(|s| Expr::Scalar(boxed(s)))
            .collect(),
        Expr::Bin(a, op, b) => {
            let mut v: Vec<Expr> = with_smaller_subs(a)
                .into_iter()
                .map(|a| Expr::Bin(Box::new(a), op, b.clone()))
                .collect();
            v.extend(
                with_smaller_subs(b)
                    .into_iter()
                    .map(|b| Expr::Bin(a.clone(), op, Box::new(b))),
            );
            v
        }
        Expr::Not(a) => with_smaller_subs(a)
            .into_iter()
            .map(|a| Expr::Not(Box::new(a)))
            .collect(),
        _ => Vec::new(),
    }
}

/// Smaller variants of a subquery: fewer / simpler WHERE conjuncts, no HAVING, no GROUP
/// BY, no DISTINCT, unqualified columns.
fn smaller_sub(s: &Sub) -> Vec<Sub> {
    let mut out = Vec::new();
    let mut push = |f: &dyn Fn(&mut Sub)| {
        let mut c = s.clone();
        f(&mut c);
        if c != *s {
            out.push(c);
        }
    };
    push(&|c| c.where_.clear());
    for i in 0..s.where_.len() {
        push(&|c| c.where_ = without(&s.where_, i));
    }
    push(&|c| c.having.clear());
    push(&|c| {
        c.group_by.clear();
        c.having.clear();
    });
    push(&|c| c.distinct = false);
    for i in 0..s.where_.len() {
        for x in simpler(&s.where_[i]) {
            push(&|c| c.where_[i] = x.clone());
        }
    }
    push(&|c| c.qual = Qual::None);
    out
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
