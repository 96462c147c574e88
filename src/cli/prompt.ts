/**
 * Reading a secret without putting it in argv or shell history: all of stdin when it is piped,
 * or one line typed at a prompt with the echo off.
 */
import { KmsEnvelopeError } from '../core/errors';

export async function readSecret(prompt: string, out: NodeJS.WritableStream): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  }
  out.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = '';
      const onData = (data: Buffer): void => {
        for (const ch of data.toString('utf8')) {
          if (ch === '\r' || ch === '\n') return done(() => resolve(value));
          if (ch === '\u0003') return done(() => reject(new KmsEnvelopeError('USAGE', 'cancelled')));
          if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
          else value += ch;
        }
      };
      const done = (settle: () => void): void => {
        stdin.off('data', onData);
        out.write('\n');
        settle();
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}
