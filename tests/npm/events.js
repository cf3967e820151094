#!/usr/bin/env node
// Drives a running Whirl server with the real `openwhisk` npm client through the events and
// compositions surface: the /whisk.system catalog (utils actions directly, in a sequence, behind
// a rule, through a binding), the built-in alarms feed's lifecycle (`ow.feeds`), a trigger fired
// by it, and a conductor action. Exits non-zero on any mismatch.
//
//   APIHOST=http://127.0.0.1:3233 AUTH=uuid:key node tests/npm/events.js
//
// Run by the e2e test `npm_client_events` (tests/e2e/npm.rs); needs `npm ci --prefix tests/npm`.
'use strict'

const assert = require('assert')
const openwhisk = require('openwhisk')

const apihost = process.env.APIHOST
const apiKey = process.env.AUTH
if (!apihost || !apiKey) {
  console.error('set APIHOST (e.g. http://127.0.0.1:3233) and AUTH (uuid:key)')
  process.exit(2)
}

const ow = openwhisk({ apihost, api_key: apiKey })

function log (what, value) {
  console.log(`${what}: ${value === undefined ? 'ok' : JSON.stringify(value)}`)
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function eventually (what, check, seconds = 30) {
  const until = Date.now() + seconds * 1000
  for (;;) {
    const got = await check()
    if (got) return got
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await sleep(250)
  }
}

async function catalog () {
  const echo = await ow.actions.invoke({ name: '/whisk.system/utils/echo', blocking: true, result: true, params: { payload: 'Five fuzzy felines' } })
  assert.deepStrictEqual(echo, { payload: 'Five fuzzy felines' })
  log('/whisk.system/utils/echo', echo)

  const sorted = await ow.actions.invoke({ name: '/whisk.system/utils/sort', blocking: true, result: true, params: { lines: ['b', 'c', 'a'] } })
  assert.deepStrictEqual(sorted, { lines: ['a', 'b', 'c'], length: 3 })
  log('/whisk.system/utils/sort', sorted)

  const pkg = await ow.packages.get({ name: '/whisk.system/utils' })
  assert.strictEqual(pkg.publish, true)
  const names = pkg.actions.map((a) => a.name).sort()
  for (const n of ['cat', 'date', 'echo', 'head', 'hosturl', 'namespace', 'smash', 'sort', 'split']) {
    assert.ok(names.includes(n), `utils has ${n}: ${names}`)
  }

  // A sequence of catalog actions, as the client's own sequence test builds one.
  await ow.actions.create({
    name: 'npm-split-sort',
    action: { exec: { kind: 'sequence', components: ['/whisk.system/utils/split', '/whisk.system/utils/sort', '/whisk.system/utils/head'] } }
  })
  // Only the first component sees the sequence's input: head takes its default of one line.
  const head = await ow.actions.invoke({ name: 'npm-split-sort', blocking: true, result: true, params: { payload: 'c\nb\na', num: 2 } })
  assert.deepStrictEqual(head, { lines: ['a'], num: 1 })
  log('sequence split | sort | head', head)

  // A binding of the shared package runs its actions in the caller's namespace.
  await ow.packages.create({ name: 'npm-utils', package: { binding: { namespace: 'whisk.system', name: 'utils' } } })
  const ns = await ow.actions.invoke({ name: 'npm-utils/namespace', blocking: true, result: true })
  assert.deepStrictEqual(ns, { namespace: 'guest' })
  log('binding npm-utils/namespace', ns)

  // The catalog is read-only for everyone but whisk.system.
  try {
    await ow.actions.delete({ name: '/whisk.system/utils/echo' })
    throw new Error('deleting a catalog action must be refused')
  } catch (e) {
    assert.strictEqual(e.statusCode, 403, e.message)
  }

  // A rule to a catalog action: firing the trigger runs it.
  await ow.triggers.create({ name: 'npm-catalog-trigger' })
  await ow.rules.create({ name: 'npm-catalog-rule', trigger: 'npm-catalog-trigger', action: '/whisk.system/utils/echo' })
  const fired = await ow.triggers.invoke({ name: 'npm-catalog-trigger', params: { payload: 'fired' } })
  assert.ok(fired.activationId, JSON.stringify(fired))
  const trig = await eventually('the trigger activation logs', async () => {
    try {
      const a = await ow.activations.get({ name: fired.activationId })
      return a.logs.length === 1 ? a : null
    } catch (e) {
      return null
    }
  })
  const entry = JSON.parse(trig.logs[0])
  assert.strictEqual(entry.success, true, trig.logs[0])
  const ran = await eventually('the echo activation', async () => {
    try {
      return await ow.activations.get({ name: entry.activationId })
    } catch (e) {
      return null
    }
  })
  // The fire payload, with the fire request's headers (spec §3.5).
  assert.strictEqual(ran.response.result.payload, 'fired')
  assert.strictEqual(ran.response.result.__ow_headers['user-agent'], 'openwhisk-client-js')
  log('rule to /whisk.system/utils/echo', ran.response.result.payload)

  await ow.rules.delete({ name: 'npm-catalog-rule' })
  await ow.triggers.delete({ name: 'npm-catalog-trigger' })
  await ow.packages.delete({ name: 'npm-utils' })
  await ow.actions.delete({ name: 'npm-split-sort' })
}

async function alarms () {
  const trigger = 'npm-every-second'
  const feedName = '/whisk.system/alarms/alarm'
  await ow.triggers.create({ name: trigger })
  const created = await ow.feeds.create({ feedName, trigger, params: { cron: '* * * * * *', trigger_payload: { name: 'Odin' } } })
  assert.strictEqual(created.response.success, true, JSON.stringify(created))
  log('feeds.create', created.response.result)

  const read = await ow.feeds.get({ feedName, trigger })
  assert.strictEqual(read.response.success, true)
  assert.strictEqual(read.response.result.config.cron, '* * * * * *')
  assert.deepStrictEqual(read.response.result.config.payload, { name: 'Odin' })
  assert.strictEqual(read.response.result.status.active, true)
  log('feeds.get', read.response.result.config)

  // A trigger without an active rule records nothing when fired: a rule shows the fires.
  await ow.actions.create({ name: 'npm-alarm-target', action: 'function main(p) { return { hello: p.name } }' })
  await ow.rules.create({ name: 'npm-alarm-rule', trigger, action: 'npm-alarm-target' })
  const runs = await eventually('two alarm fires', async () => {
    const list = await ow.activations.list({ name: 'npm-alarm-target', limit: 5, docs: true })
    return list.length >= 2 ? list : null
  })
  assert.deepStrictEqual(runs[0].response.result, { hello: 'Odin' })
  log('alarm fired the rule twice', runs.length)

  const updated = await ow.feeds.update({ feedName, trigger, params: { cron: '*/2 * * * * *' } })
  assert.strictEqual(updated.response.success, true, JSON.stringify(updated))
  const reread = await ow.feeds.get({ feedName, trigger })
  assert.strictEqual(reread.response.result.config.cron, '*/2 * * * * *')

  // A bad cron pattern: the feed answers with upstream's message.
  try {
    await ow.feeds.update({ feedName, trigger, params: { cron: 'every now and then' } })
    throw new Error('a bad cron pattern must be refused')
  } catch (e) {
    assert.ok(JSON.stringify(e.error).includes("cron pattern 'every now and then' is not valid"), JSON.stringify(e.error))
  }

  const deleted = await ow.feeds.delete({ feedName, trigger })
  assert.strictEqual(deleted.response.success, true, JSON.stringify(deleted))
  await ow.rules.delete({ name: 'npm-alarm-rule' })
  await ow.triggers.delete({ name: trigger })
  await ow.actions.delete({ name: 'npm-alarm-target' })
  log('feeds.delete')
}

async function conductor () {
  const code = `function main(p) {
    if (p.step === undefined) return { action: '/whisk.system/utils/echo', params: { value: p.n * 2 }, state: { step: 1 } }
    return { params: { doubled: p.value } }
  }`
  await ow.actions.create({ name: 'npm-conductor', action: code, annotations: { conductor: true } })
  const r = await ow.actions.invoke({ name: 'npm-conductor', blocking: true, params: { n: 21 } })
  assert.deepStrictEqual(r.response.result, { doubled: 42 })
  const kinds = r.annotations.filter((a) => a.key === 'conductor' || a.key === 'kind')
  assert.ok(kinds.some((a) => a.key === 'conductor' && a.value === true), JSON.stringify(r.annotations))
  assert.strictEqual(r.logs.length, 3, 'conductor, echo, conductor')
  log('conductor', r.response.result)
  await ow.actions.delete({ name: 'npm-conductor' })
}

// What an earlier, interrupted run may have left.
async function cleanup () {
  const quiet = (p) => p.catch(() => {})
  for (const name of ['npm-catalog-rule', 'npm-alarm-rule']) await quiet(ow.rules.delete({ name }))
  await quiet(ow.feeds.delete({ feedName: '/whisk.system/alarms/alarm', trigger: 'npm-every-second' }))
  for (const name of ['npm-catalog-trigger', 'npm-every-second']) await quiet(ow.triggers.delete({ name }))
  for (const name of ['npm-split-sort', 'npm-alarm-target', 'npm-conductor']) await quiet(ow.actions.delete({ name }))
  await quiet(ow.packages.delete({ name: 'npm-utils' }))
}

async function main () {
  await cleanup()
  await catalog()
  await alarms()
  await conductor()
  console.log('all checks passed')
}

main().catch(err => {
  console.error('FAILED:', err && err.stack ? err.stack : err)
  if (err && err.error) console.error('response body:', JSON.stringify(err.error))
  process.exit(1)
})
