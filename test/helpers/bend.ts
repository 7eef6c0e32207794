/** Bent copies of recorded payloads, for the property tests of the routes that read them. */

/** A copy of `value` with the value at each path replaced (or removed, for undefined). */
export function bend(value: unknown, edits: readonly { path: readonly string[]; replacement: unknown }[]): unknown {
  const copy = structuredClone(value) as Record<string, unknown>;
  for (const { path, replacement } of edits) {
    let node: unknown = copy;
    for (const key of path.slice(0, -1)) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    if (!node || typeof node !== 'object') continue;
    const last = path[path.length - 1]!;
    if (replacement === undefined) delete (node as Record<string, unknown>)[last];
    else (node as Record<string, unknown>)[last] = replacement;
  }
  return copy;
}
