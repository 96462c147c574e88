import assert from 'node:assert/strict';
import { commentLeader, isDotenvName } from '../../src/core/formats/comment-syntax';

describe('comment syntax: the header leader a file type takes, or a sidecar where it has no comments', () => {
  it('isDotenvName: .env, .env.<anything> and <anything>.env, in any folder and any case', () => {
    for (const name of ['.env', '.env.local', '.env.production', 'prod.env', 'a/b/.env.test', 'C:\\app\\.ENV', 'svc/PROD.ENV', '.env.json']) {
      assert.equal(isDotenvName(name), true, name);
    }
    for (const name of ['env', '.envrc', 'x.env.bak', '.environment', 'a/.env/config.yml', 'env.local', 'my.env.']) {
      assert.equal(isDotenvName(name), false, name);
    }
  });

  const leaders: [string, '#' | '//' | null][] = [
    ['.env', '#'],
    ['.env.local', '#'],
    ['.env.json', '#'], // a dotenv file by its name, whatever the last extension
    ['.env.ts', '#'],
    ['prod.env', '#'],
    ['config.yaml', '#'],
    ['deploy/values.YML', '#'],
    ['settings.toml', '#'],
    ['Makefile', '#'],
    ['Dockerfile', '#'],
    ['notes', '#'],
    ['data.unknownext', '#'],
    ['src/secrets.ts', '//'],
    ['config.JS', '//'],
    ['app.jsonc', '//'],
    ['main.go', '//'],
    ['key.rs', '//'],
    ['secrets.json', null],
    ['cert.PEM', null],
    ['notes.md', null],
    ['a.b/c.json', null],
    // a name without a dot is its own extension (as for Makefile and Dockerfile)
    ['json', null],
    ['ts', '//'],
  ];
  for (const [name, leader] of leaders) {
    it(`${name}: ${leader === null ? 'no comments (a sidecar)' : leader}`, () => assert.equal(commentLeader(name), leader));
  }
});
