// How bin/ runs the TypeScript sources, chosen once per process before any of them loads:
// - Node's own type stripping (Node 22.18+, 23.6+, 24) with a small in-thread resolve hook, because the sources
//   import each other without extensions (`./config`, `../activities`) as the bundler resolution they are
//   checked with allows, and Node's resolver wants the file name. tsconfig's `erasableSyntaxOnly` and
//   `verbatimModuleSyntax` keep every file strippable (no enums, no parameter properties, type-only imports marked).
// - tsx otherwise: a Node without type stripping (22.x before 22.18, or stripping turned off with
//   --no-experimental-strip-types), or sources under node_modules, which Node refuses to strip.
import { existsSync } from 'node:fs';
import module from 'node:module';

/** Relative specifiers that already name a file: left to Node's resolver. */
const HAS_EXTENSION = /\.(?:[cm]?[jt]s|json|node|wasm)$/;

/** Which way TypeScript runs in this process: `'strip'` (Node itself) or `'tsx'`. */
export async function loadTypeScript() {
  // V8's code cache on disk (the OS temp dir; NODE_DISABLE_COMPILE_CACHE=1 turns it off): a command's second run
  // skips compiling the JavaScript, the stripped sources included, which is most of what `--help` does.
  module.enableCompileCache?.();
  const native = Boolean(process.features.typescript) && typeof module.registerHooks === 'function' && !import.meta.url.includes('/node_modules/');
  if (!native) {
    const { register } = await import('tsx/esm/api');
    register();
    return 'tsx';
  }
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      const relative = specifier.startsWith('./') || specifier.startsWith('../');
      if (relative && !HAS_EXTENSION.test(specifier) && context.parentURL?.startsWith('file:')) {
        for (const suffix of ['.ts', '/index.ts']) {
          const url = new URL(specifier + suffix, context.parentURL);
          if (existsSync(url)) return nextResolve(url.href, context);
        }
      }
      try {
        return nextResolve(specifier, context);
      } catch (error) {
        // A package's deep path written as the bundler resolution allows (`@temporalio/common/lib/time`): CommonJS
        // packages without an `exports` map need the file name under Node's ESM resolver.
        const deep = !relative && !HAS_EXTENSION.test(specifier) && /^(?:@[^/]+\/)?[^/@][^/]*\/./.test(specifier);
        if (!deep || /** @type {{ code?: string }} */ (error).code !== 'ERR_MODULE_NOT_FOUND') throw error;
        for (const suffix of ['.js', '/index.js']) {
          try {
            return nextResolve(specifier + suffix, context);
          } catch {
            // the next suffix, then the first error
          }
        }
        throw error;
      }
    },
  });
  return 'strip';
}
