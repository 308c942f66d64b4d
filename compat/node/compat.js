// Node mysql2 through shardgate: the scenario of docs/compatibility.md, once with
// conn.query (text protocol, client-side escaping) and once with conn.execute
// (COM_STMT_PREPARE / COM_STMT_EXECUTE).
//
// Usage: NODE_PATH=.compat/node/node_modules node compat.js HOST PORT BASE
'use strict';
const mysql = require('mysql2/promise');

const [HOST, PORT, BASE] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const NAME = 'Émile 東京';
const TEXT = 'Émile 東京 ✓ \'q\' \\ "d"';
const BIN = Buffer.from([0, 0x27, 0x5c, 0xff, 0x0a, 0x0d, 0x1a, 0x22, 0x80]);
const DT = '2026-03-04 05:06:07';
const DT6 = '2026-03-04 05:06:07.123456';
const INS_USER =
  'INSERT INTO t_user (user_id, name, email, region_id, balance, created_at) VALUES (?, ?, ?, ?, ?, ?)';

let failures = 0;
let mode = '';

function check(ok, what) {
  if (ok) {
    console.log(`  ok   [${mode}] ${what}`);
  } else {
    failures++;
    console.log(`  FAIL [${mode}] ${what}`);
  }
}

function plain(v) {
  if (Buffer.isBuffer(v)) return { buffer: [...v] };
  if (typeof v === 'bigint') return { bigint: v.toString() };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

function eq(got, want, what) {
  const g = JSON.stringify(plain(got));
  const w = JSON.stringify(plain(want));
  check(g === w, g === w ? what : `${what} (got ${g}, want ${w})`);
}

function connect(password = 'root') {
  return mysql.createConnection({
    host: HOST, port: PORT, user: 'root', password, database: 'shop', charset: 'utf8mb4',
    supportBigNumbers: true, bigNumberStrings: false, dateStrings: true, timezone: 'Z',
  });
}

async function scenario(how, base) {
  let conn = await connect();
  // run(sql, params): the mode's way to send a statement with parameters.
  const run = (sql, params) => (how === 'execute' ? conn.execute(sql, params) : conn.query(sql, params));
  const rows = async (sql, params) => (await run(sql, params))[0];
  const count = async () =>
    (await rows('SELECT COUNT(*) AS n FROM t_user WHERE user_id BETWEEN ? AND ?', [base, base + 99]))[0].n;
  const cleanup = async () => {
    await conn.query(`DELETE FROM t_user WHERE user_id BETWEEN ${base} AND ${base + 99}`);
    await conn.query(`DELETE FROM compat_types WHERE id BETWEEN ${base} AND ${base + 99}`);
  };
  await cleanup();

  // Text queries.
  let [r] = await conn.query(
    "SELECT 1 + 1 AS two, 'Émile 東京' AS s, NULL AS n, CAST(1.50 AS DECIMAL(5,2)) AS d, DATABASE() AS db");
  eq(r, [{ two: 2, s: NAME, n: null, d: '1.50', db: 'shop' }], 'text select: int, multibyte, NULL, decimal, DATABASE()');
  [r] = await conn.query(
    'SELECT user_id, name, email, balance, created_at FROM t_user WHERE user_id IN (3, 6) ORDER BY user_id');
  eq(r, [
    { user_id: 3, name: 'Émile', email: 'emile@example.fr', balance: '75.25', created_at: '2026-01-05 11:30:00' },
    { user_id: 6, name: 'zoe', email: null, balance: '5.75', created_at: '2026-01-21 16:05:00' },
  ], 'demo rows 3 and 6 (scatter IN)');

  // Parameters of every common type.
  let [res] = await run(INS_USER, [base + 1, NAME, null, 7, '1234.50', new Date(Date.UTC(2026, 2, 4, 5, 6, 7))]);
  eq(res.affectedRows, 1, 'insert user 1 (Date parameter)');
  await run(INS_USER, [base + 2, 'Zoë', 'z@example.com', null, '0.05', DT]);
  r = await rows('SELECT name, email, region_id, balance, created_at FROM t_user WHERE user_id = ?', [base + 1]);
  eq(r, [{ name: NAME, email: null, region_id: 7, balance: '1234.50', created_at: DT }],
    'select user 1: multibyte, NULL, int, decimal scale, datetime');
  const ins = 'INSERT INTO compat_types (id, i, b, d, s, dt, dt6, dd, f, bin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
  await run(ins, [base + 1, -42, 9007199254740993n, '-12345678.1234', TEXT, DT, DT6, '2026-12-31', 1.5, BIN]);
  await run(ins, [base + 2, null, null, null, null, null, null, null, null, null]);
  const want = [
    { id: base + 1, i: -42, b: '9007199254740993', d: '-12345678.1234', s: TEXT, dt: DT, dt6: DT6, dd: '2026-12-31', f: 1.5, bin: BIN },
    { id: base + 2, i: null, b: null, d: null, s: null, dt: null, dt6: null, dd: null, f: null, bin: null },
  ];
  const sel = 'SELECT id, i, b, d, s, dt, dt6, dd, f, bin FROM compat_types WHERE id BETWEEN ? AND ? ORDER BY id';
  eq(await rows(sel, [base, base + 99]), want, 'every type round-trips (parameters)');
  [r] = await conn.query(sel.replace('? AND ?', `${base} AND ${base + 99}`));
  eq(r, want, 'every type round-trips (text select)');

  // Multi-row insert, and a bulk insert (mysql2's batch: VALUES ? with an array of rows).
  [res] = await run('INSERT INTO t_user (user_id, name, balance, created_at) VALUES (?, ?, ?, ?), (?, ?, ?, ?), (?, ?, ?, ?)',
    [base + 3, 'multi 0', '10.10', DT, base + 4, 'multi 1', '20.20', DT, base + 5, 'multi 2', '30.30', DT]);
  eq(res.affectedRows, 3, 'multi-row insert: 3 rows');
  [res] = await conn.query('INSERT INTO t_user (user_id, name, email, region_id, balance, created_at) VALUES ?',
    [[0, 1, 2, 3].map((i) => [base + 6 + i, `batch ${i}`, null, null, `${5 + i}.00`, DT])]);
  eq(res.affectedRows, 4, 'bulk insert (VALUES ?): 4 rows');
  eq(await count(), 9, 'rows after multi-row and bulk inserts');

  // Transactions.
  await conn.beginTransaction();
  await run(INS_USER, [base + 11, 'txn a', null, null, '99.99', DT]);
  await run(INS_USER, [base + 12, 'txn b', null, null, '100.00', DT]);
  await run('UPDATE t_user SET balance = ? WHERE user_id = ?', ['2000.00', base + 1]);
  await conn.commit();
  await conn.beginTransaction();
  await run(INS_USER, [base + 13, 'rolled back a', null, null, '1.00', DT]);
  await run(INS_USER, [base + 14, 'rolled back b', null, null, '1.00', DT]);
  await run('UPDATE t_user SET balance = ? WHERE user_id = ?', ['3000.00', base + 2]);
  eq(await count(), 13, 'inside the transaction: 13 rows visible');
  await conn.rollback();
  eq(await count(), 11, 'after commit and rollback: 11 rows');
  r = await rows('SELECT user_id, balance FROM t_user WHERE user_id IN (?, ?) ORDER BY user_id', [base + 1, base + 2]);
  eq(r, [{ user_id: base + 1, balance: '2000.00' }, { user_id: base + 2, balance: '0.05' }],
    'committed update kept, rolled-back undone');

  // Scatter ORDER BY ... LIMIT.
  r = await rows('SELECT user_id, balance FROM t_user WHERE user_id BETWEEN ? AND ? ORDER BY balance DESC, user_id LIMIT 4',
    [base, base + 99]);
  eq(r, [{ user_id: base + 1, balance: '2000.00' }, { user_id: base + 12, balance: '100.00' },
    { user_id: base + 11, balance: '99.99' }, { user_id: base + 5, balance: '30.30' }],
  'scatter ORDER BY balance DESC LIMIT 4');
  r = await rows('SELECT user_id FROM t_user WHERE user_id BETWEEN ? AND ? ORDER BY balance DESC LIMIT 2 OFFSET 1',
    [base, base + 99]);
  eq(r, [{ user_id: base + 12 }, { user_id: base + 11 }], 'scatter ORDER BY balance DESC LIMIT 2 OFFSET 1');

  // Duplicate key.
  try {
    await run(INS_USER, [base + 1, 'dup', null, null, '1.00', DT]);
    check(false, 'duplicate key must fail');
  } catch (e) {
    eq([e.errno, e.code], [1062, 'ER_DUP_ENTRY'], 'duplicate key: error');
  }
  eq(await count(), 11, 'connection usable after the error');

  // Reconnect: a fresh connection after closing, then a pool that replaces a destroyed one.
  [r] = await conn.query('SELECT CONNECTION_ID() AS id');
  const first = r[0].id;
  await conn.end();
  conn = await connect();
  [r] = await conn.query('SELECT CONNECTION_ID() AS id');
  check(r[0].id !== first, `fresh connection: new connection id (${first} -> ${r[0].id})`);
  eq(await count(), 11, 'fresh connection: data visible');
  const pool = mysql.createPool({ host: HOST, port: PORT, user: 'root', password: 'root', database: 'shop', connectionLimit: 1 });
  const pc = await pool.getConnection();
  const [[{ id: pid }]] = await pc.query('SELECT CONNECTION_ID() AS id');
  pc.destroy();
  const [[{ id: pid2, n }]] = await pool.query(
    `SELECT CONNECTION_ID() AS id, COUNT(*) AS n FROM t_user WHERE user_id BETWEEN ${base} AND ${base + 99}`);
  check(pid2 !== pid && n === 11, `pool reconnects after destroy (${pid} -> ${pid2}, ${n} rows)`);
  await pool.end();
  await cleanup();
  eq(await count(), 0, 'cleanup');
  await conn.end();
}

async function main() {
  console.log(`mysql2 ${require('mysql2/package.json').version}, node ${process.version}`);
  for (const [n, how] of ['query', 'execute'].entries()) {
    mode = how;
    try {
      await scenario(how, BASE + 100 * n);
    } catch (e) {
      check(false, `unexpected error ${e.errno || ''} ${e.code || ''}: ${e.message}`);
      console.log(e.stack);
    }
  }
  mode = 'any';
  try {
    const c = await connect('wrong');
    await c.end();
    check(false, 'wrong password must fail');
  } catch (e) {
    eq(e.errno, 1045, 'wrong password: error code');
  }
  console.log(failures === 0 ? 'mysql2: all checks passed' : `mysql2: ${failures} check(s) FAILED`);
  process.exit(failures === 0 ? 0 : 1);
}

main();
