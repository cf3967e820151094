// /whisk.system/utils/smash: nests every parameter but `$fieldName` under the property it names.
function main(params) {
  const field = params.$fieldName;
  if (typeof field !== 'string') {
    return { error: "Expected an argument '$fieldName' of type 'string'." };
  }
  delete params.$fieldName;
  return { [field]: params };
}
