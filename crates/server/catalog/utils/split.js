// /whisk.system/utils/split: splits `payload` by `separator` (a string; default: line breaks).
function main(params) {
  const separator = params.separator || /\r?\n/;
  const text = String(params.payload);
  const result = { lines: text.split(separator), payload: params.payload };
  console.log('split: returning ' + JSON.stringify(result));
  return result;
}
