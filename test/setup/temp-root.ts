import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * vitest globalSetup: the whole run gets one temp folder of its own, removed at the end, so that
 * nothing a test or a library writes under os.tmpdir() (cdktf's Testing outdirs, caches, browser
 * profiles, services' offline stores) outlives the run. Workers are forked after this runs, so
 * they and every process they start inherit TMPDIR.
 */
export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), 'ipa-vitest-'));
  process.env.TMPDIR = root;
  process.env.IPA_TEST_TMP_ROOT = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(root, { recursive: true, force: true, maxRetries: 5 });
  };
}
