// mysql2 through a shardgate with TLS and caching_sha2_password (cache as MySQL's: each
// account's first login needs full authentication).
// Usage: node auth.js HOST PORT CA_PEM; accounts js_tls / js_tls_pw and js_rsa / js_rsa_pw.
'use strict';
const fs = require('fs');
const mysql = require('mysql2/promise');

const [host, port, caPath] = process.argv.slice(2);
const ca = fs.readFileSync(caPath);
let failures = 0;
function check(ok, what) {
  if (ok) console.log(`  ok   [mysql2-auth] ${what}`);
  else { failures++; console.log(`  FAIL [mysql2-auth] ${what}`); }
}
function connect(user, password, tls) {
  const o = { host, port: Number(port), user, password, database: 'shop' };
  if (tls) o.ssl = { ca };
  return mysql.createConnection(o);
}
async function login(user, password, tls, what) {
  try {
    const c = await connect(user, password, tls);
    const [rows] = await c.query('SELECT COUNT(*) AS n FROM t_user');
    const secure = Boolean(c.connection.stream.encrypted);
    await c.end();
    check(Number(rows[0].n) > 0 && secure === tls, `${what} (TLS ${secure})`);
  } catch (e) {
    check(false, `${what}: ${e.message}`);
  }
}
async function denied(user, password, tls, what) {
  try {
    const c = await connect(user, password, tls);
    await c.end();
    check(false, `${what}: connected`);
  } catch (e) {
    check(e.errno === 1045, `${what} (got ${e.errno} ${e.message})`);
  }
}
(async () => {
  await denied('js_tls', 'wrong', true, 'wrong password over TLS is 1045');
  await login('js_tls', 'js_tls_pw', true, 'full authentication over TLS (password in clear)');
  await login('js_tls', 'js_tls_pw', true, 'then fast authentication from the cache');
  await denied('js_rsa', 'wrong', false, 'wrong password over RSA is 1045');
  await login('js_rsa', 'js_rsa_pw', false, 'full authentication over plain TCP (RSA public key)');
  await login('js_rsa', 'js_rsa_pw', false, 'then fast authentication from the cache');
  console.log(failures === 0 ? 'mysql2-auth: all checks passed' : `mysql2-auth: ${failures} FAILED`);
  process.exit(failures === 0 ? 0 : 1);
})();
