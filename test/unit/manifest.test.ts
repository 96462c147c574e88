import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { COMMAND_IDS } from '../../src/extension/command-ids';

const ROOT = path.join(__dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

describe('package.json contributions', () => {
  it('the walkthrough\'s steps run real commands, show files that ship, and complete on those commands', () => {
    const commands = new Set(pkg.contributes.commands.map((c: { command: string }) => c.command));
    const ignore = readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8');
    const [walkthrough] = pkg.contributes.walkthroughs;
    assert.ok(walkthrough.steps.length >= 4);
    for (const step of walkthrough.steps) {
      const linked = [...step.description.matchAll(/\(command:([\w.]+)\)/g)].map((m: RegExpMatchArray) => m[1]);
      assert.ok(linked.length > 0, step.id);
      for (const c of linked) assert.ok(commands.has(c), `${step.id}: ${c}`);
      for (const e of step.completionEvents) assert.ok(commands.has(e.replace('onCommand:', '')), `${step.id}: ${e}`);
      assert.ok(existsSync(path.join(ROOT, step.media.markdown)), step.media.markdown);
      assert.match(ignore, /!media\/walkthrough\/\*\.md/, 'the walkthrough pages are packaged');
    }
  });

  it('every contributed command is registered at activation (the entry bundle\'s list), and nothing else; each ships in the .vsix bundles', () => {
    assert.deepEqual([...COMMAND_IDS].sort(), pkg.contributes.commands.map((c: { command: string }) => c.command).sort());
    const ignore = readFileSync(path.join(ROOT, '.vscodeignore'), 'utf8');
    for (const bundle of ['extension.js', 'extension-engine.js', 'kms-runtime.js', 'cli.js']) assert.ok(ignore.includes(`!dist/${bundle}`), bundle);
  });

  it('settings that decide keys and credentials cannot come from a workspace', () => {
    const props = pkg.contributes.configuration.properties;
    for (const s of ['kmsEnvelope.allowedKeys', 'kmsEnvelope.profile']) assert.equal(props[s].scope, 'application', s);
    assert.equal(props['kmsEnvelope.cacheMaxAgeSeconds'].maximum, 3600);
  });
});
