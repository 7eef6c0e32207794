/**
 * What a Jules API key must look like before it is stored, said once for the CLI (`set-key` from standard input)
 * and Discord (the `/jules-key set` and default-key forms). Jules' own format is not documented, so this only
 * refuses what cannot be a key; Jules itself has the last word at the next task. The words never quote the key.
 */
export function julesKeyProblem(key: string): string | undefined {
  if (!key) return 'the key is empty';
  if (/\s/.test(key)) return 'the key contains whitespace';
  if (key.length < JULES_KEY_LENGTH.min || key.length > JULES_KEY_LENGTH.max) return 'the key length is not plausible for a Jules API key';
  return undefined;
}

/** The lengths {@link julesKeyProblem} accepts; forms set the same bounds on their input. */
export const JULES_KEY_LENGTH = { min: 10, max: 512 } as const;
