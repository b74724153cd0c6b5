#!/usr/bin/env node
/* eslint-disable -- copied unchanged from the environment's tools/prisma-offline; not project code */
// Stand-in for Prisma's native `schema-engine` binary (which the CLI downloads from
// binaries.prisma.sh and so cannot get offline). The Prisma CLI spawns
// $PRISMA_SCHEMA_ENGINE_BINARY with `--datamodels <file>... --datasource <json>` and
// talks newline-delimited JSON-RPC 2.0 on stdin/stdout. This shim answers those calls
// with @prisma/schema-engine-wasm driven through @prisma/adapter-pg (Postgres only).
// @prisma/schema-engine-wasm is an internal Prisma package: pin its version.
import fs from 'node:fs'
import path from 'node:path'
import readline from 'node:readline'
import { createRequire } from 'node:module'

const ENGINES_HASH = 'd1b3f377ca835d73fd50954a5e22128b9ebdd6b8' // prisma 7.10.1's engines hash
const argv = process.argv.slice(2)
if (argv.includes('--version') || argv.includes('-V')) {
  process.stdout.write(`schema-engine-cli ${ENGINES_HASH}\n`)
  process.exit(0)
}

// Resolve packages from the project being migrated: PRISMA_PROJECT_DIR, else the working
// directory the Prisma CLI was started in. The project needs, as dev dependencies,
// @prisma/adapter-pg, pg and @prisma/schema-engine-wasm at the version matching its prisma.
const projectDir = process.env.PRISMA_PROJECT_DIR ?? process.cwd()
const require = createRequire(path.join(projectDir, 'package.json'))
const { PrismaPg } = require('@prisma/adapter-pg')
const { bindMigrationAwareSqlAdapterFactory } = require('@prisma/driver-adapter-utils')

// adapter-pg 7.10.1 rejects Postgres' internal "char" type (OID 18) that the engine's
// catalog queries return; present it as text.
const PgResult = require('pg/lib/result')
const addFields = PgResult.prototype.addFields
PgResult.prototype.addFields = function (fields) {
  for (const f of fields) if (f.dataTypeID === 18) f.dataTypeID = 25
  return addFields.call(this, fields)
}

const log = (...a) => process.env.SHIM_DEBUG && fs.appendFileSync(process.env.SHIM_DEBUG, '[shim] ' + a.join(' ') + '\n')

log('argv', JSON.stringify(argv), 'cwd', process.cwd())
const datamodelPaths = []
let datasource = {}
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--datamodels') datamodelPaths.push(argv[++i])
  else if (argv[i] === '--datasource') datasource = JSON.parse(argv[++i])
}
const url = datasource.url ?? process.env.DATABASE_URL
if (!url) throw new Error('schema-engine-shim: no datasource url')

function pgConfigFrom(connStr) {
  // discrete fields, not { connectionString }: a connectionString would override the
  // `database` that connectToShadowDb sets
  const u = new URL(connStr)
  return {
    config: {
      host: u.hostname,
      port: Number(u.port || 5432),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password) || undefined,
      database: decodeURIComponent(u.pathname.slice(1)),
    },
    options: { schema: u.searchParams.get('schema') ?? undefined },
  }
}
const main = pgConfigFrom(url)

// One-shot subcommands: `schema-engine --datasource {...} cli <can-connect-to-database|create-database|drop-database>`.
// The CLI reads failures from stderr: the first line is skipped, the rest are JSON log lines.
const cliIdx = argv.indexOf('cli')
if (cliIdx !== -1) {
  const sub = argv[cliIdx + 1]
  const pg = require('pg')
  const fail = (code, message) => {
    process.stderr.write('schema-engine-shim error\n' +
      JSON.stringify({ level: 'ERROR', target: 'schema_engine::logger', fields: { error_code: code, message } }) + '\n')
    process.exit(1)
  }
  const { host, port, database } = main.config
  const withClient = async (cfg, fn) => {
    const c = new pg.Client(cfg)
    try { await c.connect(); return await fn(c) } finally { await c.end().catch(() => {}) }
  }
  try {
    if (sub === 'can-connect-to-database') {
      await withClient(main.config, (c) => c.query('SELECT 1'))
    } else if (sub === 'create-database') {
      await withClient({ ...main.config, database: 'postgres' }, (c) => c.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`))
      process.stdout.write(`Database '${database}' was successfully created.\n`)
    } else if (sub === 'drop-database') {
      await withClient({ ...main.config, database: 'postgres' }, (c) => c.query(`DROP DATABASE IF EXISTS "${database.replace(/"/g, '""')}" WITH (FORCE)`))
      process.stdout.write(`The database '${database}' was successfully dropped.\n`)
    } else {
      fail('P1000', `schema-engine-shim: unsupported cli subcommand ${sub}`)
    }
    process.exit(0)
  } catch (e) {
    if (e.code === '3D000') fail('P1003', `Database \`${database}\` does not exist on the database server at \`${host}:${port}\`.`)
    if (e.code === '28P01' || e.code === '28000') fail('P1000', `Authentication failed against database server at \`${host}\`: ${e.message}`)
    if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND') fail('P1001', `Can't reach database server at \`${host}:${port}\``)
    fail('P1000', String(e.message ?? e))
  }
}
const base = new PrismaPg(main.config, main.options)
const factory = {
  provider: base.provider,
  adapterName: base.adapterName,
  connect: () => base.connect(),
  async connectToShadowDb() {
    if (datasource.shadowDatabaseUrl) {
      const s = pgConfigFrom(datasource.shadowDatabaseUrl)
      return new PrismaPg(s.config, s.options).connect()
    }
    // adapter-pg's own connectToShadowDb drops the db while its pool is still
    // connected; do it in the right order, and force the drop
    const admin = await base.connect()
    const db = `prisma_migrate_shadow_db_${globalThis.crypto.randomUUID()}`
    await admin.executeScript(`CREATE DATABASE "${db}"`)
    const shadow = await new PrismaPg({ ...main.config, database: db }, main.options).connect()
    const dispose = shadow.dispose.bind(shadow)
    shadow.dispose = async () => {
      await dispose()
      await admin.executeScript(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`)
      await admin.dispose()
    }
    return shadow
  },
}

const wasmDir = path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg'))
const glue = await import(path.join(wasmDir, 'schema_engine_bg.js'))
const instance = new WebAssembly.Instance(
  new WebAssembly.Module(fs.readFileSync(path.join(wasmDir, 'schema_engine_bg.wasm'))),
  { './schema_engine_bg.js': glue },
)
glue.__wbg_set_wasm(instance.exports)
instance.exports.__wbindgen_start()

const datamodels = datamodelPaths.length
  ? datamodelPaths.map((p) => [p, fs.readFileSync(path.resolve(p), 'utf8')])
  : undefined
const engine = await glue.SchemaEngine.new({ datamodels }, (m) => log(m), bindMigrationAwareSqlAdapterFactory(factory))

const METHOD_MAP = { getDatabaseVersion: 'version' }
const send = (msg) => process.stdout.write(JSON.stringify(msg) + '\n')

let queue = Promise.resolve()
const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
log('ready')
rl.on('line', (line) => {
  log('line', line.slice(0, 300))
  if (!line.trim()) return
  const req = JSON.parse(line)
  if (req.method === undefined) return // reply to a request of ours (none sent)
  queue = queue.then(async () => {
    const method = METHOD_MAP[req.method] ?? req.method
    log('->', method, JSON.stringify(req.params ?? null).slice(0, 500))
    try {
      if (typeof engine[method] !== 'function') throw Object.assign(new Error(`method ${req.method} not supported by the wasm schema engine shim`), {})
      let result = await engine[method](req.params ?? undefined)
      if (method === 'diff' && result && typeof result.stdout === 'string') {
        process.stderr.write('') // keep ordering
        if (result.stdout) send({ jsonrpc: '2.0', id: -1, method: 'print', params: { content: result.stdout.replace(/\n$/, '') } })
        const { stdout, ...rest } = result
        result = rest
      }
      log('<-', method, JSON.stringify(result ?? null).slice(0, 300))
      send({ jsonrpc: '2.0', id: req.id, result: result ?? null })
    } catch (e) {
      log('!!', method, e?.message)
      send({
        jsonrpc: '2.0',
        id: req.id,
        error: {
          code: 4466,
          message: 'An error happened. Check the data field for details.',
          data: { is_panic: false, message: String(e?.message ?? e), meta: e?.meta ?? null, error_code: e?.code ?? null },
        },
      })
    }
  })
})
rl.on('close', () => {
  queue.finally(() => {
    engine.free()
    process.exit(0)
  })
})
