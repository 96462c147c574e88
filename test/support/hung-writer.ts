/**
 * A writer stopped mid-write (test/unit/io.test.ts): writes `argv[2]` twice, whole, then starts a
 * third atomic write whose content never ends; once its temporary file holds the first bytes, it
 * says "writing" and how many SIGTERM handlers it has, and waits for a signal.
 */
import { atomicWrite } from '../../src/core/io';

const target = process.argv[2];
setInterval(() => undefined, 60_000); // keeps the process up while the write waits
void (async () => {
  for (const text of ['A=first\n', 'A=old\n']) await atomicWrite(target, text);
  await atomicWrite(
    target,
    (async function* () {
      yield Buffer.from('A=partial\n');
      process.stdout.write(`writing, ${process.listenerCount('SIGTERM')} SIGTERM handler(s)\n`);
      await new Promise(() => undefined);
    })(),
  );
})();
