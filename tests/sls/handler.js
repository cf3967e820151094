'use strict'

function hello (params) {
  console.log('greeting ' + (params.name || 'there'))
  return { payload: 'hi ' + (params.name || 'there') }
}

exports.hello = hello
