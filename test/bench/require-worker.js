// Loads bundles in a fresh process and prints how long each `require` took (ms).
// `vscode` is not available outside VS Code; a stub stands in, since only load cost is measured.
const Module = require('module');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'vscode') return new Proxy({}, { get: () => function () {} });
  return load.call(this, request, ...rest);
};
const times = {};
for (const file of process.argv.slice(2)) {
  const t = process.hrtime.bigint();
  require(file);
  times[file] = Number(process.hrtime.bigint() - t) / 1e6;
}
console.log(JSON.stringify(times));
