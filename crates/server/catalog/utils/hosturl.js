// /whisk.system/utils/hosturl: the URL that invokes an action (or fires a trigger, or calls a
// web action) of the caller's namespace.
const EXTENSIONS = ['.html', '.http', '.json', '.svg', '.text'];

function main(args) {
  const host = process.env.__OW_API_HOST;
  const ns = process.env.__OW_NAMESPACE;
  const web = args.web === true;
  const collection = args.trigger === true ? 'triggers' : 'actions';
  const base = web ? `${host}/api/v1/web/${ns}` : `${host}/api/v1/namespaces/${ns}/${collection}`;
  if (web && args.trigger) {
    return { error: 'triggers are not allowed for web actions.' };
  }
  if (web && args.ext && !EXTENSIONS.includes(args.ext)) {
    return { error: 'extension for web action must be one of [".html", ".http", ".json", ".svg", ".text"].' };
  }
  if (!web && args.trigger && args.path && args.path.includes('/')) {
    return { error: 'triggers are not allowed in packages.' };
  }
  if (!args.path) {
    return { url: base };
  }
  const path = web && !args.path.includes('/') ? `default/${args.path}` : args.path;
  const ext = web ? (args.ext || '') : '';
  return { url: `${base}/${path}${ext}` };
}
