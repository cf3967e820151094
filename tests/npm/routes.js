#!/usr/bin/env node
// Drives the API gateway of a running Whirl server with the real `openwhisk` npm client's
// `ow.routes` (which calls the web actions of /whisk.system/apimgmt), the way the client's own
// routes integration test does: create an action, route it, list the route by base path, check
// the stored Swagger, delete it. Then more of what users do: path parameters and response
// types, calling the route over HTTP, Swagger import, and deleting one verb.
//
//   APIHOST=http://127.0.0.1:3233 AUTH=uuid:key [APIGW_TOKEN=t] node tests/npm/routes.js
//
// Run by the e2e tests `npm_client_routes*` (tests/e2e/npm.rs); needs `npm ci --prefix tests/npm`.
'use strict'

const assert = require('assert')
const openwhisk = require('openwhisk')

const apihost = process.env.APIHOST
const apiKey = process.env.AUTH
if (!apihost || !apiKey) {
  console.error('set APIHOST (e.g. http://127.0.0.1:3233) and AUTH (uuid:key)')
  process.exit(2)
}
// The client's integration suite runs with a gateway token; without one it sends the same
// requests minus the `accesstoken`/`spaceguid` query parameters.
const options = { apihost, api_key: apiKey, ignore_certs: true }
if (process.env.APIGW_TOKEN) options.apigw_token = process.env.APIGW_TOKEN
const ow = openwhisk(options)
const uuid = apiKey.split(':')[0]

function log (what, value) {
  console.log(`${what}: ${value === undefined ? 'ok' : JSON.stringify(value)}`)
}

async function upstreamScenario () {
  await ow.actions.create({ actionName: 'routeAction', action: '' })
  await ow.routes.create({ action: 'routeAction', basepath: '/testing', relpath: '/foo/bar', operation: 'POST' })
  const results = await ow.routes.list({ basepath: '/testing' })
  assert.strictEqual(results.apis.length, 1, JSON.stringify(results))
  const apidoc = results.apis[0].value.apidoc
  assert.strictEqual(apidoc.basePath, '/testing')
  assert.ok(Object.prototype.hasOwnProperty.call(apidoc.paths, '/foo/bar'), JSON.stringify(apidoc.paths))
  const path = apidoc.paths['/foo/bar']
  assert.ok(Object.prototype.hasOwnProperty.call(path, 'post'), JSON.stringify(path))
  assert.strictEqual(path.post['x-openwhisk'].action, 'routeAction')
  await ow.routes.delete({ basepath: '/testing' })
  await ow.actions.delete({ actionName: 'routeAction' })
  const after = await ow.routes.list({ basepath: '/testing' })
  assert.deepStrictEqual(after.apis, [])
  log('upstream routes scenario')
}

async function servedRoutes () {
  // An `http` route answers the result's `body`; a `json` route answers the whole result.
  const code = 'function main(p) { const info = {book: p.isbn || null, path: p.__ow_path || null, method: p.__ow_method || null}; return {body: info, info} }'
  await ow.actions.create({ name: 'books', action: code, annotations: { 'web-export': true } })

  const created = await ow.routes.create({ name: 'library', basepath: '/shop', relpath: '/books/{isbn}', operation: 'GET', action: 'books', responsetype: 'http' })
  const gwApiUrl = created.gwApiUrl
  assert.strictEqual(gwApiUrl, `${apihost}/api/${uuid}/shop`, JSON.stringify(created))
  assert.strictEqual(created.apidoc.info.title, 'library')
  log('routes.create with a path parameter', gwApiUrl)

  await ow.routes.create({ basepath: '/shop', relpath: '/hello', operation: 'POST', action: 'books', responsetype: 'json' })

  const one = await ow.routes.get({ basepath: '/shop' })
  assert.strictEqual(one.apis.length, 1)
  const paths = one.apis[0].value.apidoc.paths
  assert.deepStrictEqual(Object.keys(paths).sort(), ['/books/{isbn}', '/hello'])
  assert.strictEqual(paths['/books/{isbn}'].get['x-openwhisk'].action, 'books')
  assert.strictEqual(paths['/hello'].post['x-openwhisk'].action, 'books')
  log('routes.get', Object.keys(paths))

  // The route answers over plain HTTP, without credentials.
  let r = await fetch(`${gwApiUrl}/books/978-0`)
  assert.strictEqual(r.status, 200)
  const book = await r.json()
  assert.strictEqual(book.path, '/books/978-0', JSON.stringify(book))
  assert.strictEqual(book.method, 'get')
  log('GET path-parameter route', book)

  r = await fetch(`${gwApiUrl}/hello`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"isbn":"x"}' })
  assert.strictEqual(r.status, 200)
  assert.strictEqual((await r.json()).info.book, 'x')
  r = await fetch(`${gwApiUrl}/hello`)
  assert.strictEqual(r.status, 404, 'a verb the API does not map')
  log('POST json route, unmapped verb 404')

  const all = await ow.routes.list()
  assert.ok(all.apis.some(a => a.value.apidoc.basePath === '/shop'), JSON.stringify(all))

  // Delete one verb of one path; the rest of the API stays.
  await ow.routes.delete({ basepath: '/shop', relpath: '/hello', operation: 'POST' })
  const left = await ow.routes.get({ basepath: '/shop' })
  assert.deepStrictEqual(Object.keys(left.apis[0].value.apidoc.paths), ['/books/{isbn}'])
  r = await fetch(`${gwApiUrl}/hello`, { method: 'POST' })
  assert.strictEqual(r.status, 404)
  log('routes.delete of one operation')

  await ow.routes.delete({ name: 'library' })
  assert.deepStrictEqual((await ow.routes.get({ basepath: '/shop' })).apis, [])
  r = await fetch(`${gwApiUrl}/books/978-0`)
  assert.strictEqual(r.status, 404)
  log('routes.delete by name')

  // A whole Swagger document, as `wsk api create --config-file` and `ow.routes.create({swagger})`.
  const swagger = JSON.stringify({
    swagger: '2.0',
    info: { title: 'imported', version: '1.0.0' },
    basePath: '/imported',
    paths: {
      '/ping': {
        get: {
          operationId: 'getPing',
          'x-openwhisk': { namespace: 'guest', package: 'default', action: 'books', url: `${apihost}/api/v1/web/guest/default/books.json` },
          responses: { default: { description: 'Default response' } }
        }
      }
    },
    'x-gateway-configuration': {
      assembly: {
        execute: [{
          'operation-switch': {
            case: [{
              operations: ['getPing'],
              execute: [{ invoke: { 'target-url': `${apihost}/api/v1/web/guest/default/books.json`, verb: 'keep' } }]
            }]
          }
        }]
      }
    }
  })
  const imported = await ow.routes.create({ swagger })
  assert.strictEqual(imported.gwApiUrl, `${apihost}/api/${uuid}/imported`, JSON.stringify(imported))
  r = await fetch(`${imported.gwApiUrl}/ping`)
  assert.strictEqual(r.status, 200)
  assert.strictEqual((await r.json()).info.method, 'get')
  await ow.routes.delete({ basepath: '/imported' })
  log('routes.create from swagger')

  // Failures come back as the client's errors, with upstream's status and message.
  try {
    await ow.routes.delete({ basepath: '/nothing-here' })
    throw new Error('delete of a missing API succeeded')
  } catch (e) {
    assert.strictEqual(e.statusCode, 502, e.message)
    assert.strictEqual(e.error.error, "API deletion failure: API '/nothing-here' does not exist.")
  }
  log('routes.delete of a missing API -> 502')

  await ow.actions.delete({ name: 'books' })
}

async function main () {
  await upstreamScenario()
  await servedRoutes()
  console.log('all checks passed')
}

main().catch(e => {
  console.error(e && e.stack ? e.stack : e)
  if (e && e.error) console.error(JSON.stringify(e.error))
  process.exit(1)
})
