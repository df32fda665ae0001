// A Node.js better-sqlite3 client in its own process, as the article waltui answers runs it.
//   node client.js ROLE PATH [TABLE]
// ROLE: produce | consume (a queue table "jobs", WAL, better-sqlite3's default 5 s timeout),
// hold_write (BEGIN IMMEDIATE), hold_read TABLE (BEGIN; SELECT), crash_in_rollback (a
// rollback-mode transaction big enough to spill, left open for the test to kill -9).
// Prints "ready" when the role's state holds; a hold ends (COMMIT) when stdin closes.
'use strict';
const Database = require('better-sqlite3');

const [role, path, table] = process.argv.slice(2);
const db = new Database(path);
const ready = () => process.stdout.write('ready\n');
const onStdinEnd = (fn) => { process.stdin.on('data', () => {}); process.stdin.on('end', fn); };

function queue() {
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS jobs(id INTEGER PRIMARY KEY, body TEXT, done INTEGER NOT NULL DEFAULT 0)');
}

if (role === 'produce') {
  queue();
  const insert = db.prepare('INSERT INTO jobs(body) VALUES (?)');
  let i = 0;
  ready();
  setInterval(() => insert.run(`job ${i++}`), 8);  // consumers have spare capacity
  onStdinEnd(() => process.exit(0));
} else if (role === 'consume') {
  queue();
  const take = db.prepare('UPDATE jobs SET done = 1 WHERE id = (SELECT min(id) FROM jobs WHERE done = 0)');
  ready();
  setInterval(() => take.run(), 4);
  onStdinEnd(() => process.exit(0));
} else if (role === 'hold_write') {
  db.exec('BEGIN IMMEDIATE');
  ready();
  onStdinEnd(() => { db.exec('COMMIT'); process.exit(0); });
} else if (role === 'hold_read') {
  db.exec('BEGIN');
  db.prepare(`SELECT count(*) AS n FROM "${table}"`).get();
  ready();
  onStdinEnd(() => { db.exec('COMMIT'); process.exit(0); });
} else if (role === 'crash_in_rollback') {
  db.pragma('journal_mode = DELETE');
  db.exec('CREATE TABLE IF NOT EXISTS big(x TEXT)');
  const insert = db.prepare('INSERT INTO big VALUES (?)');
  db.transaction(() => { for (let i = 0; i < 3000; i++) insert.run('x'.repeat(200)); })();
  db.pragma('cache_size = 10');
  db.exec('BEGIN');
  db.exec("UPDATE big SET x = x || x");  // spills: the journal is synced, the file written
  ready();
  setInterval(() => {}, 1000);  // stays mid-transaction until killed
} else {
  process.stderr.write(`unknown role ${role}\n`);
  process.exit(2);
}
