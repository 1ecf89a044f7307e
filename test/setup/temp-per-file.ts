import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';

// vitest setupFiles: each test file gets its own folder inside the run's (see temp-root.ts) and
// removes it when the file is done, so temp usage does not pile up over the run. Registered
// before the file's own hooks, this afterAll runs after them (hooks run in stack order), that is
// after the file has stopped what it started.
const root = process.env.IPA_TEST_TMP_ROOT;
if (root === undefined) throw new Error('test/setup/temp-root.ts (vitest globalSetup) did not run: use the root vitest.config.mts.');
const dir = mkdtempSync(join(root, 'file-'));
process.env.TMPDIR = dir;

afterAll(() => {
  process.env.TMPDIR = root;
  rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
});
