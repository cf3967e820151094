// /whisk.system/samples/helloWorld: logs a greeting for `payload`.
function main(params) {
  console.log('hello', params.payload + '!');
}
