import type { Readable } from 'node:stream';
import { julesKeyProblem } from '../shared/jules-key';

/**
 * Reads a secret from standard input, never from argv (argv shows in `ps` and shell history). Piped input is
 * read to its end; on a terminal, one line is read without echo.
 */
export async function readSecret(input: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => void }, prompt: (text: string) => void): Promise<string> {
  if (!input.isTTY || !input.setRawMode) {
    const chunks: Buffer[] = [];
    for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return Buffer.concat(chunks).toString('utf8').trim();
  }
  prompt('Paste the Jules API key (input is hidden), then press Enter: ');
  input.setRawMode(true);
  input.resume();
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return done(() => resolve(value.trim()));
        if (char === '\u0003') return done(() => reject(new Error('cancelled')));
        if (char === '\u007f') value = value.slice(0, -1);
        else value += char;
      }
    };
    const done = (finish: () => void) => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      prompt('\n');
      finish();
    };
    input.on('data', onData);
  });
}

/** Checks the shape of a Jules API key read from standard input, with the rule `/jules-setup`'s form also follows. */
export function validateApiKey(key: string): string | undefined {
  if (!key) return 'no key was given on standard input';
  return julesKeyProblem(key);
}
