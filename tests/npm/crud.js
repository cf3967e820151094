#!/usr/bin/env node
// Drives a running Whirl server with the real `openwhisk` npm client: create, list, get,
// update and delete actions, packages, triggers and rules. Exits non-zero on any mismatch.
//
//   APIHOST=http://127.0.0.1:3233 AUTH=uuid:key node tests/npm/crud.js
//
// Run by the e2e test `npm_client` (tests/e2e/npm.rs); needs `npm ci --prefix tests/npm`.
'use strict'

const assert = require('assert')
const openwhisk = require('openwhisk')

const apihost = process.env.APIHOST
const apiKey = process.env.AUTH
if (!apihost || !apiKey) {
  console.error('set APIHOST (e.g. http://127.0.0.1:3233) and AUTH (uuid:key)')
  process.exit(2)
}

// With an explicit `http://` scheme the client keeps http (it only assumes https without one).
const ow = openwhisk({ apihost, api_key: apiKey, ignore_certs: true })

function log (what, value) {
  console.log(`${what}: ${value === undefined ? 'ok' : JSON.stringify(value)}`)
}

function kv (arr, key) {
  const e = (arr || []).find(x => x.key === key)
  return e ? e.value : undefined
}

async function expectError (what, promise, statusCode, message) {
  try {
    await promise
  } catch (e) {
    assert.strictEqual(e.statusCode, statusCode, `${what}: status ${e.statusCode} (${e.message})`)
    if (message) {
      assert.strictEqual(e.error && e.error.error, message, `${what}: message`)
      assert.ok(typeof e.error.code === 'string' && e.error.code.length > 0, `${what}: code`)
    }
    log(`${what} -> ${statusCode}`)
    return
  }
  throw new Error(`${what}: expected HTTP ${statusCode}, got success`)
}

async function actions () {
  const code = 'function main(params) { return {payload: "Hello " + params.name} }'
  let a = await ow.actions.create({ name: 'npm-hello', action: code, params: { name: 'World' }, annotations: { description: 'from npm' } })
  log('actions.create', { name: a.name, version: a.version, kind: a.exec.kind })
  assert.strictEqual(a.name, 'npm-hello')
  assert.strictEqual(a.namespace, 'guest')
  assert.strictEqual(a.version, '0.0.1')
  assert.ok(/^nodejs:\d+$/.test(a.exec.kind), `nodejs:default resolves to a concrete kind: ${a.exec.kind}`)
  assert.strictEqual(a.exec.code, code)
  assert.strictEqual(kv(a.annotations, 'description'), 'from npm')
  assert.strictEqual(kv(a.annotations, 'exec'), a.exec.kind)
  assert.deepStrictEqual(a.parameters, [{ key: 'name', value: 'World' }])

  await expectError('actions.create duplicate', ow.actions.create({ name: 'npm-hello', action: code }), 409, 'resource already exists')

  a = await ow.actions.get({ name: 'npm-hello' })
  log('actions.get', { name: a.name, version: a.version })
  assert.strictEqual(a.exec.code, code)
  const meta = await ow.actions.get({ name: 'npm-hello', code: false })
  assert.strictEqual(meta.exec.code, undefined)
  log('actions.get code=false')

  const code2 = 'function main() { return {v: 2} }'
  a = await ow.actions.update({ name: 'npm-hello', action: code2, limits: { memory: 128 } })
  log('actions.update', { version: a.version, memory: a.limits.memory })
  assert.strictEqual(a.version, '0.0.2')
  assert.strictEqual(a.exec.code, code2)
  assert.strictEqual(a.limits.memory, 128)

  const py = await ow.actions.create({ name: 'npm-py', action: 'def main(a):\n  return a\n', kind: 'python:3' })
  assert.ok(/^python:3\.\d+$/.test(py.exec.kind), `python:3 resolves to a concrete kind: ${py.exec.kind}`)
  log('actions.create python', py.exec.kind)

  const seq = await ow.actions.create({ name: 'npm-seq', sequence: ['/_/npm-hello', '/_/npm-py'] })
  assert.deepStrictEqual(seq.exec.components, ['/guest/npm-hello', '/guest/npm-py'])
  log('actions.create sequence', seq.exec.components)

  await expectError('actions.create bad kind', ow.actions.create({ name: 'npm-bad', action: 'x', kind: 'cobol:1' }), 400)

  const list = await ow.actions.list()
  const names = list.map(x => x.name).sort()
  log('actions.list', names)
  assert.deepStrictEqual(names, ['npm-hello', 'npm-py', 'npm-seq'])
  assert.strictEqual(list[0].name, 'npm-seq', 'most recently updated first')
  const count = await ow.actions.list({ count: true })
  assert.deepStrictEqual(count, { actions: 3 })
  const page = await ow.actions.list({ limit: 1, skip: 1 })
  assert.strictEqual(page.length, 1)
  log('actions.list count/limit/skip')

  for (const name of ['npm-seq', 'npm-py']) {
    const d = await ow.actions.delete({ name })
    assert.strictEqual(d.name, name)
  }
  log('actions.delete')
  await expectError('actions.get deleted', ow.actions.get({ name: 'npm-py' }), 404, 'The requested resource does not exist.')
}

async function packages () {
  let p = await ow.packages.create({ name: 'npm-pkg', package: { parameters: [{ key: 'a', value: 1 }], publish: true } })
  log('packages.create', { name: p.name, publish: p.publish })
  assert.strictEqual(p.name, 'npm-pkg')
  assert.strictEqual(p.publish, true)
  assert.deepStrictEqual(p.binding, {})

  const inPkg = await ow.actions.create({ name: 'npm-pkg/inner', action: 'function main() { return {} }' })
  assert.strictEqual(inPkg.namespace, 'guest/npm-pkg')
  log('actions.create in package', inPkg.namespace)

  const b = await ow.packages.create({ name: 'npm-bind', package: { binding: { namespace: 'guest', name: 'npm-pkg' }, parameters: [{ key: 'b', value: 2 }] } })
  assert.deepStrictEqual(b.binding, { namespace: 'guest', name: 'npm-pkg' })
  log('packages.create binding', b.binding)

  p = await ow.packages.get({ name: 'npm-pkg' })
  assert.deepStrictEqual(p.actions.map(x => x.name), ['inner'])
  log('packages.get', p.actions.map(x => x.name))
  const gb = await ow.packages.get({ name: 'npm-bind' })
  assert.deepStrictEqual(gb.parameters.map(x => x.key).sort(), ['a', 'b'])
  log('packages.get binding', gb.parameters)

  const through = await ow.actions.get({ name: 'npm-bind/inner' })
  assert.strictEqual(through.name, 'inner')
  log('actions.get through binding')

  p = await ow.packages.update({ name: 'npm-pkg', package: { publish: false } })
  assert.strictEqual(p.publish, false)
  assert.strictEqual(p.version, '0.0.2')
  log('packages.update', { version: p.version })

  const list = await ow.packages.list()
  const byName = Object.fromEntries(list.map(x => [x.name, x]))
  assert.deepStrictEqual(Object.keys(byName).sort(), ['npm-bind', 'npm-pkg'])
  assert.strictEqual(byName['npm-pkg'].binding, false)
  assert.deepStrictEqual(byName['npm-bind'].binding, { namespace: 'guest', name: 'npm-pkg' })
  log('packages.list', Object.keys(byName))

  await expectError('packages.delete non-empty', ow.packages.delete({ name: 'npm-pkg' }), 409,
    'Package not empty (contains 1 entity). Set force param or delete package contents.')
  await ow.packages.delete({ name: 'npm-bind' })
  await ow.actions.delete({ name: 'npm-pkg/inner' })
  const d = await ow.packages.delete({ name: 'npm-pkg' })
  assert.strictEqual(d.name, 'npm-pkg')
  log('packages.delete')
}

async function triggersAndRules () {
  let t = await ow.triggers.create({ name: 'npm-trigger', trigger: { parameters: [{ key: 't', value: 1 }] } })
  assert.strictEqual(t.name, 'npm-trigger')
  assert.strictEqual(t.version, '0.0.1')
  log('triggers.create', t.name)
  t = await ow.triggers.update({ name: 'npm-trigger', trigger: { parameters: [{ key: 't', value: 2 }] } })
  assert.strictEqual(t.version, '0.0.2')
  assert.deepStrictEqual(t.parameters, [{ key: 't', value: 2 }])
  log('triggers.update', t.version)

  let r = await ow.rules.create({ name: 'npm-rule', trigger: 'npm-trigger', action: 'npm-hello' })
  assert.strictEqual(r.status, 'active')
  assert.deepStrictEqual(r.trigger, { path: 'guest', name: 'npm-trigger' })
  assert.deepStrictEqual(r.action, { path: 'guest', name: 'npm-hello' })
  log('rules.create', r.status)

  await expectError('rules.create missing trigger', ow.rules.create({ name: 'npm-rule2', trigger: 'nope', action: 'npm-hello' }), 400,
    'trigger /guest/nope does not exist')

  await ow.rules.disable({ name: 'npm-rule' })
  r = await ow.rules.get({ name: 'npm-rule' })
  assert.strictEqual(r.status, 'inactive')
  log('rules.disable', r.status)
  await ow.rules.enable({ name: 'npm-rule' })
  r = await ow.rules.get({ name: 'npm-rule' })
  assert.strictEqual(r.status, 'active')
  log('rules.enable', r.status)

  t = await ow.triggers.get({ name: 'npm-trigger' })
  assert.strictEqual(t.rules['guest/npm-rule'].status, 'active')
  log('triggers.get rules', t.rules)

  r = await ow.rules.update({ name: 'npm-rule', trigger: 'npm-trigger', action: 'npm-hello' })
  assert.strictEqual(r.version, '0.0.2')
  log('rules.update', r.version)

  const rules = await ow.rules.list()
  assert.deepStrictEqual(rules.map(x => x.name), ['npm-rule'])
  const triggers = await ow.triggers.list()
  assert.deepStrictEqual(triggers.map(x => x.name), ['npm-trigger'])
  log('rules.list / triggers.list')

  r = await ow.rules.delete({ name: 'npm-rule' })
  assert.strictEqual(r.status, 'inactive')
  t = await ow.triggers.delete({ name: 'npm-trigger' })
  assert.strictEqual(t.name, 'npm-trigger')
  log('rules.delete / triggers.delete')
  await ow.actions.delete({ name: 'npm-hello' })
}

async function misc () {
  const ns = await ow.namespaces.list()
  assert.deepStrictEqual(ns, ['guest'])
  log('namespaces.list', ns)
  const acts = await ow.activations.list()
  assert.ok(Array.isArray(acts))
  log('activations.list', acts.length)
  const bad = openwhisk({ apihost, api_key: apiKey.replace(/:.*/, ':' + 'x'.repeat(64)), ignore_certs: true })
  await expectError('bad key', bad.actions.list(), 401, 'The supplied authentication is invalid')
}

async function main () {
  await actions()
  await packages()
  await triggersAndRules()
  await misc()
  for (const [what, list] of [['actions', ow.actions], ['packages', ow.packages], ['triggers', ow.triggers], ['rules', ow.rules]]) {
    const left = await list.list()
    assert.deepStrictEqual(left, [], `${what} left over`)
  }
  console.log('all checks passed')
}

main().catch(err => {
  console.error('FAILED:', err && err.stack ? err.stack : err)
  if (err && err.error) console.error('response body:', JSON.stringify(err.error))
  process.exit(1)
})
