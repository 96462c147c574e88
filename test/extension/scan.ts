import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** Every file under the roots that contains one of the secrets (raw bytes, UTF-8 or UTF-16). */
export function scanForPlaintext(roots: readonly string[], secrets: readonly string[]): string[] {
  const hits: string[] = [];
  const needles = secrets.flatMap((s) => [Buffer.from(s, 'utf8'), Buffer.from(s, 'utf16le')]);
  const walk = (p: string): void => {
    let st;
    try {
      st = statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) walk(path.join(p, e));
    } else if (st.isFile() && st.size < 64 * 1024 * 1024) {
      const data = readFileSync(p);
      for (const n of needles) if (data.includes(n)) hits.push(`${p}: contains ${JSON.stringify(n.toString(n.length === Buffer.byteLength(n.toString('utf8')) ? 'utf8' : 'utf16le'))}`);
    }
  };
  for (const r of roots) walk(r);
  return [...new Set(hits)];
}
