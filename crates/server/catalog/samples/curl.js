// /whisk.system/samples/curl: fetches the host or URL in `payload` with curl and returns what it
// printed (its error output when it fails). curl gets the address as one argument, never
// through a shell.
const { execFile } = require('child_process');

function main(params) {
  const target = String(params.payload);
  console.log('Curl to ' + target);
  return new Promise((resolve) => {
    execFile('curl', ['--silent', '--show-error', '--connect-timeout', '3', target],
      { maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        const failed = error !== null;
        const text = failed ? String(stderr || (error && error.message) || '') : String(stdout);
        console.log(text);
        resolve({ msg: text });
      });
  });
}
