import { sealFileStream, openFileStream } from '../../src/core/whole-file';
import { joinSealed, sealDotenv } from '../../src/core/envelope';
import { testKey, unwrapTo } from '../support/fixtures';
import { MAX_HEADER_BYTES } from '../../src/core/header';
import { armor } from '../../src/core/formats/armor';
async function collect(it: AsyncIterable<Buffer>) { const p: Buffer[] = []; for await (const x of it) p.push(x); return Buffer.concat(p); }
(async () => {
  const good = (await collect(sealFileStream([Buffer.from('hello world')], testKey()))).toString('latin1');
  const headerEnd = good.indexOf('\n# mac ') + 1 + good.slice(good.indexOf('\n# mac ') + 1).indexOf('\n') + 1;
  const header = good.slice(0, headerEnd);
  const dot = joinSealed(sealDotenv('A=1\n', testKey(), { layout: { leader: '#', eol: '\n' } }));
  const dotHeader = dot.slice(0, dot.indexOf('\n', dot.indexOf('# mac ')) + 1);
  const cases: Record<string, string | Buffer> = {
    plainWithMac: 'hello\n' + header.slice(header.indexOf('# mac ')),
    blankInside: header.replace('\n# mac ', '\n\n# mac ') + good.slice(headerEnd),
    dotenvHeader: dotHeader + good.slice(headerEnd),
    shebang: '#!/bin/sh\n' + good,
    crlfFirst: header.replace('\n', '\r\n') + good.slice(headerEnd),
    crlfAll: good.replace(/\n/g, '\r\n'),
    noMacEOF: header.slice(0, header.indexOf('# mac ')),
    notHeaderEOF: 'hello world\n',
    exactMax: '# kms-envelope v1 file\n' + 'x'.repeat(MAX_HEADER_BYTES - 23),
    overMax: '# kms-envelope v1 file\n' + 'x'.repeat(MAX_HEADER_BYTES + 10),
    shortSalt: header + (await collect(armor((async function* () { yield Buffer.alloc(10, 1); })()))).toString('latin1'),
    onlySalt: header + (await collect(armor((async function* () { yield Buffer.alloc(16, 1); })()))).toString('latin1'),
  };
  for (const [name, c] of Object.entries(cases)) {
    const buf = typeof c === 'string' ? Buffer.from(c, 'latin1') : c;
    try {
      const o = await openFileStream((async function* () { yield buf; })(), unwrapTo());
      await collect(o.plaintext);
      console.log(name, 'OK?!');
    } catch (e) { console.log(name, (e as { code?: string }).code, (e as Error).message); }
  }
})();
