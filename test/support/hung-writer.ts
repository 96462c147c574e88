/**
 * A writer stopped mid-write (test/unit/io.test.ts): starts an atomic write of `argv[2]` whose
 * content never ends, says "writing" once its temporary file holds the first bytes, and waits
 * for a signal.
 */
import { atomicWrite } from '../../src/core/io';

const target = process.argv[2];
setInterval(() => undefined, 60_000); // keeps the process up while the write waits
void atomicWrite(
  target,
  (async function* () {
    yield Buffer.from('A=partial\n');
    process.stdout.write('writing\n');
    await new Promise(() => undefined);
  })(),
);
