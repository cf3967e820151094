// /whisk.system/utils/cat: joins `lines` into `payload`, one per line.
function main(params) {
  const lines = params.lines || [];
  const result = { lines: lines, payload: lines.join('\n') };
  console.log('cat: returning ' + JSON.stringify(result));
  return result;
}
