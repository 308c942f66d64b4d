use super::*;

/// [`Pass::try_touch`] as the session runs it.
async fn touch(p: &mut Pass, table: &str, mut txn: Option<&mut TxnPass>) -> Result<(), Touch> {
    loop {
        match p.try_touch(std::iter::once(("shop", table)), txn.as_deref_mut()) {
            Touch::Go => return Ok(()),
            Touch::Wait => p.wait_open().await,
            Touch::Stale => return Err(Touch::Stale),
        }
    }
}

fn assert_idle(gate: &Gate) {
    assert_eq!(
        gate.in_flight(),
        InFlight {
            statements: 0,
            transactions: 0
        }
    );
}

async fn until_closed(gate: &Gate) {
    while !gate.is_closed() {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn closed_gate_holds_new_statements_and_lets_open_transactions_finish() {
    let gate = Arc::new(Gate::default());
    let txn = gate.transaction(None);
    let running = gate.enter(false).await;
    let g = gate.clone();
    let closing = tokio::spawn(async move { g.close(Duration::from_secs(5)).await });
    until_closed(&gate).await;
    // A new statement waits at the gate.
    let g = gate.clone();
    let held = tokio::spawn(async move {
        let _p = g.enter(false).await;
        Instant::now()
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!held.is_finished());
    // The open transaction's statements still pass.
    let inside = gate.enter(true).await;
    drop(inside);
    drop(running);
    drop(txn);
    assert_eq!(closing.await.unwrap(), Ok(()));
    assert!(!held.is_finished());
    let reopened = Instant::now();
    gate.open();
    assert!(held.await.unwrap() >= reopened);
}

#[tokio::test]
async fn close_gives_up_after_its_bound_and_reopens() {
    let gate = Gate::default();
    let _txn = gate.transaction(None);
    let r = gate.close(Duration::from_millis(30)).await;
    assert_eq!(
        r,
        Err(InFlight {
            statements: 0,
            transactions: 1
        })
    );
    assert!(!gate.is_closed());
    drop(gate.enter(false).await);
}

#[tokio::test]
async fn with_a_scope_only_the_moving_tables_wait() {
    let gate = Arc::new(Gate::default());
    gate.set_scope([("Shop".to_string(), "T_Order".to_string())]);
    // An idle transaction on another table and a statement on it do not hold the cutover.
    let mut idle = gate.transaction(None);
    let mut p = gate.enter(true).await;
    touch(&mut p, "t_user", Some(&mut idle)).await.unwrap();
    drop(p);
    let mut other = gate.enter(false).await;
    touch(&mut other, "t_user", None).await.unwrap();
    // A statement not parsed yet counts until it says what it touches.
    let mut unparsed = gate.enter(false).await;
    assert_eq!(gate.in_flight().statements, 1);
    let g = gate.clone();
    let closing = tokio::spawn(async move { g.close(Duration::from_secs(5)).await });
    until_closed(&gate).await;
    // Closed: a new statement on another table passes at once...
    let mut p = gate.enter(false).await;
    touch(&mut p, "t_user", None).await.unwrap();
    drop(p);
    // ...and one on the moving table waits (and so lets the cutover go on).
    let held = tokio::spawn(async move {
        touch(&mut unparsed, "t_order", None).await.unwrap();
        Instant::now()
    });
    assert_eq!(closing.await.unwrap(), Ok(()));
    assert!(!held.is_finished());
    gate.switched();
    let reopened = Instant::now();
    gate.open();
    assert!(held.await.unwrap() >= reopened);
    // The transaction began before the switch: the moving table is out of its reach.
    let mut p = gate.enter(true).await;
    assert_eq!(
        touch(&mut p, "t_order", Some(&mut idle)).await,
        Err(Touch::Stale)
    );
    drop(p);
    drop(other);
    assert_idle(&gate);
}

#[tokio::test]
async fn a_transaction_on_a_moving_table_holds_the_cutover_until_it_ends() {
    let gate = Arc::new(Gate::default());
    gate.set_scope([("shop".to_string(), "t_order".to_string())]);
    let mut txn = gate.transaction(None);
    let mut p = gate.enter(true).await;
    touch(&mut p, "t_order", Some(&mut txn)).await.unwrap();
    drop(p);
    let r = gate.close(Duration::from_millis(30)).await;
    assert_eq!(
        r,
        Err(InFlight {
            statements: 0,
            transactions: 1
        })
    );
    // Its later statements pass even while a cutover waits for it.
    let g = gate.clone();
    let closing = tokio::spawn(async move { g.close(Duration::from_secs(5)).await });
    until_closed(&gate).await;
    let mut p = gate.enter(true).await;
    touch(&mut p, "t_order", Some(&mut txn)).await.unwrap();
    drop(p);
    drop(txn);
    assert_eq!(closing.await.unwrap(), Ok(()));
    // A transaction that begins now and reaches the moving table waits for the reopening,
    // then counts (no switch happened).
    let mut late = gate.transaction(None);
    let g = gate.clone();
    let held = tokio::spawn(async move {
        let mut p = g.enter(true).await;
        touch(&mut p, "t_order", Some(&mut late))
            .await
            .map(|()| late)
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!held.is_finished());
    gate.open();
    let late = held.await.unwrap().unwrap();
    assert_eq!(gate.in_flight().transactions, 1);
    drop(late);
    assert_idle(&gate);
}

#[tokio::test]
async fn a_transaction_opened_by_a_statement_on_a_moving_table_counts_at_once() {
    let gate = Gate::default();
    gate.set_scope([("shop".to_string(), "t_order".to_string())]);
    let mut p = gate.enter(false).await;
    touch(&mut p, "t_order", None).await.unwrap();
    let txn = gate.transaction(Some(&p));
    drop(p);
    assert_eq!(gate.in_flight().transactions, 1);
    drop(txn);
    // BEGIN itself touches nothing: its transaction waits for its first moving table.
    let begin = gate.enter(false).await;
    let txn = gate.transaction(Some(&begin));
    assert_eq!(
        gate.in_flight(),
        InFlight {
            statements: 1,
            transactions: 0
        }
    );
    drop((begin, txn));
}

#[tokio::test]
async fn transactions_begun_before_the_scope_count_only_if_they_touched_a_moving_table() {
    let gate = Gate::default();
    let mut on_user = gate.transaction(None);
    let mut on_order = gate.transaction(None);
    let idle = gate.transaction(None);
    for (txn, table) in [(&mut on_user, "t_user"), (&mut on_order, "T_Order")] {
        let mut p = gate.enter(true).await;
        touch(&mut p, table, Some(txn)).await.unwrap();
    }
    assert_eq!(gate.in_flight().transactions, 3);
    gate.set_scope([("shop".to_string(), "t_order".to_string())]);
    assert_eq!(gate.in_flight().transactions, 1);
    drop(on_order);
    assert_eq!(gate.in_flight().transactions, 0);
    // After the scope a later moving table makes it count again.
    let mut p = gate.enter(true).await;
    touch(&mut p, "t_order", Some(&mut on_user)).await.unwrap();
    assert_eq!(gate.in_flight().transactions, 1);
    drop((p, on_user, idle));
    assert_idle(&gate);
}
