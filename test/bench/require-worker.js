// Loads bundles in a fresh process and prints how long each `require` took (ms).
// `vscode` exists only inside VS Code: a stand-in with the real API's top-level names (read from
// @types/vscode) takes its place, so that what a bundle does with the module object (esbuild's
// namespace-import helper copies every name onto a new object) costs what it costs in VS Code.
const { readFileSync } = require('fs');
const Module = require('module');
const names = readFileSync(require.resolve('@types/vscode/index.d.ts'), 'utf8').match(/^\texport (?:class|enum|namespace|const|let) \w+/gm).map((m) => m.split(' ').pop());
const vscode = Object.fromEntries(names.map((n) => [n, function () {}]));
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'vscode') return vscode;
  return load.call(this, request, ...rest);
};
// In VS Code the extension host has required megabytes of its own code before it requires ours:
// the first module a process requires pays for setting up the parser, compiler and loader
// (about half a millisecond here), which is not the bundle's cost. A small module (dotenv's
// 12 KB) is required first to take it out of the measurement.
require('dotenv');
const times = {};
for (const file of process.argv.slice(2)) {
  const t = process.hrtime.bigint();
  require(file);
  times[file] = Number(process.hrtime.bigint() - t) / 1e6;
}
console.log(JSON.stringify(times));
