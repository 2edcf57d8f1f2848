// Static file servers for the tests, on 127.0.0.1 and a free port: the same server as
// `npm start` (scripts/serve.mjs). `serve()` serves the repository root, `serve(dir)` any folder.
import { fileURLToPath } from 'node:url';
import { serve as serveDir } from '../../scripts/serve.mjs';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Serves `root` (default: the repository); resolves to `{ url, close }`. `options.headers`
 *  go out with every file. */
export function serve(root = repoRoot, options = {}) {
  return serveDir(root, 0, options);
}
