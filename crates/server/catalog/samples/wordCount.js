// /whisk.system/samples/wordCount: the number of space-separated words in `payload`.
function main(params) {
  const text = String(params.payload);
  const count = text.split(' ').length;
  console.log("The message '" + text + "' has", count, 'words');
  return { count: count };
}
