import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { App, TerraformStack, Testing } from 'cdktf';
import { afterAll, describe, expect, test } from 'vitest';
import { onlyResource, resourcesOf, synthJson, testPlacement } from './synth';
import { ImageRegistry, ImageRegistryProps } from '../../src';
import { archiveBytes, ContextArchive, contextArchive } from '../../src/internal/tar';

const holdsArchive = (bytes: Buffer, archive: ContextArchive) => bytes.equals(archiveBytes(archive));

const fixture = join(__dirname, 'fixtures', 'services-dist');
const placement = testPlacement();

const scratch: string[] = [];
afterAll(() => scratch.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A writable copy of the fixture build contexts. */
function copyOfFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ipa-registry-test-'));
  scratch.push(dir);
  cpSync(fixture, dir, { recursive: true });
  return dir;
}

function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

/** Synthesizes a stack with the registry into `outdir` as `cdktf synth` does; returns the shipped Orders API context. */
function synthInto(outdir: string, servicesDistDir = fixture): Buffer {
  const app = new App({ outdir, skipValidation: true });
  new ImageRegistry(new TerraformStack(app, 'test'), 'Images', { placement, servicesDistDir });
  app.synth();
  const stackDir = join(outdir, 'stacks', 'test');
  const json = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8'));
  return readFileSync(join(stackDir, (byName(json, 'azurerm_storage_blob', 'OrdersApi') as any).source));
}

/** Every path under `dir`, with each file's content, for before/after comparisons. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    out[path] = entry.isFile() ? readFileSync(path).toString('base64') : entry.isDirectory() ? 'dir' : 'other';
  }
  return out;
}

/** Runs `fn` with the machine's temp folder (os.tmpdir()) pointed at `dir`. */
function withTmpdir<T>(dir: string, fn: () => T): T {
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  try {
    return fn();
  } finally {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  }
}

function synth(props: Partial<ImageRegistryProps> = {}) {
  const stack = new TerraformStack(Testing.app(), 'test');
  const registry = new ImageRegistry(stack, 'Images', { placement, servicesDistDir: fixture, ...props });
  return { registry, json: synthJson(stack) };
}

const byName = (json: any, type: string, part: string) =>
  Object.entries(resourcesOf(json, type)).find(([id]) => id.includes(part))?.[1];

describe('registry', () => {
  test('a new one: admin user and anonymous pull off, Basic by default', () => {
    const registry = onlyResource(synth().json, 'azurerm_container_registry');
    expect(registry).toMatchObject({ name: 'crordersabc123', sku: 'Basic', admin_enabled: false, anonymous_pull_enabled: false });
    expect(onlyResource(synth({ sku: 'Standard' }).json, 'azurerm_container_registry').sku).toBe('Standard');
    expect(() => synth({ sku: 'Free' })).toThrow(/sku "Free" is invalid/);
  });

  test('an existing one is looked up and built into', () => {
    const { json } = synth({ existingRegistryName: 'sharedacr', existingRegistryResourceGroupName: 'shared-rg' });
    expect(resourcesOf(json, 'azurerm_container_registry')).toEqual({});
    expect(Object.values(json.data!.azurerm_container_registry)[0]).toMatchObject({ name: 'sharedacr', resource_group_name: 'shared-rg' });
    expect((byName(json, 'azurerm_container_registry_task', 'OrdersApi') as any).container_registry_id)
      .toMatch(/^\$\{data\.azurerm_container_registry\.\w+\.id\}$/);
  });

  test('contradictions are rejected, naming the props', () => {
    expect(() => synth({ existingRegistryName: 'sharedacr', sku: 'Premium' })).toThrow(/ImageRegistry: sku and existingRegistryName cannot be used together/);
    expect(() => synth({ existingRegistryResourceGroupName: 'rg' })).toThrow(/existingRegistryResourceGroupName needs existingRegistryName/);
    expect(() => synth({ ordersApiImage: 'a/b:1', chatAppImage: 'a/c:1' }))
      .toThrow(/servicesDistDir and ordersApiImage and chatAppImage cannot be used together/);
  });
});

describe('build context storage', () => {
  test('a separate account: HTTPS, TLS 1.2, no public access; its key only signs the SAS', () => {
    const { json } = synth();
    const account = onlyResource(json, 'azurerm_storage_account');
    expect(account).toMatchObject({
      name: 'sbordersabc123',
      https_traffic_only_enabled: true,
      min_tls_version: 'TLS1_2',
      allow_nested_items_to_be_public: false,
      shared_access_key_enabled: true,
      provider: 'azurerm.image_build_context',
    });
    // Its provider reaches storage with the key (the default provider uses Entra ID for application data).
    expect(json.provider?.azurerm).toContainEqual(expect.objectContaining({ alias: 'image_build_context', storage_use_azuread: false }));
    expect(onlyResource(json, 'azurerm_storage_container')).toMatchObject({ name: 'build-contexts', container_access_type: 'private' });
  });

  test('the SAS is read-only, HTTPS-only and valid for the plan day and the next, so a day of plans computes one SAS', () => {
    const sas = Object.values(synth().json.data!.azurerm_storage_account_blob_container_sas)[0] as any;
    expect(sas.permissions).toEqual({ read: true, add: false, create: false, write: false, delete: false, list: false });
    expect(sas.https_only).toBe(true);
    const day = 'formatdate("YYYY-MM-DD\'T\'00:00:00\'Z\'", plantimestamp())';
    expect(sas.start).toBe(`\${timeadd(${day}, "-15m")}`);
    expect(sas.expiry).toBe(`\${timeadd(${day}, "48h")}`);
    expect(sas.connection_string).toMatch(/^\$\{azurerm_storage_account\.\w+\.primary_connection_string\}$/);
  });
});

/** Evaluates Terraform expressions with `terraform console` (no providers needed) in a fresh folder. */
function terraformEval(expressions: string[]): string[] {
  const cwd = scratchDir('ipa-registry-tf-');
  // Piped, the console prints the last result only: one jsonencode() of them all.
  const input = `jsonencode([${expressions.join(', ')}])\n`;
  const result = spawnSync('terraform', ['console'], { cwd, input, encoding: 'utf8', env: { ...process.env, TF_IN_AUTOMATION: '1' } });
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(JSON.parse(result.stdout.trim()));
}

describe('the SAS window, evaluated by Terraform', () => {
  test('every plan of one UTC day signs the same window; a rerun on any later day gets a fresh one valid >= 24 h', () => {
    const sas = Object.values(synth().json.data!.azurerm_storage_account_blob_container_sas)[0] as any;
    const at = (plan: string) => [sas.start, sas.expiry].map((e: string) => e.replace(/^\$\{(.*)\}$/, '$1').replace('plantimestamp()', `"${plan}"`));
    const [morning, night, nextDay] = ['2026-03-04T00:05:12Z', '2026-03-04T23:59:59Z', '2026-03-07T09:30:00Z'];
    const values = terraformEval([...at(morning), ...at(night), ...at(nextDay)]);
    expect(values.slice(0, 2)).toEqual(['2026-03-03T23:45:00Z', '2026-03-06T00:00:00Z']);
    expect(values.slice(2, 4)).toEqual(values.slice(0, 2));
    expect(values.slice(4, 6)).toEqual(['2026-03-06T23:45:00Z', '2026-03-09T00:00:00Z']);
  });
});

describe('image builds', () => {
  test('each context is a blob, built by an ACR task through the SAS, and run once', () => {
    const { registry, json } = synth();
    for (const [part, service] of [['OrdersApi', 'orders-api'], ['ChatApp', 'chat-app']]) {
      const tag = part === 'OrdersApi' ? registry.ordersApiImageTag! : registry.chatAppImageTag!;
      expect(tag).toMatch(/^[0-9a-f]{12}$/);
      const blob = byName(json, 'azurerm_storage_blob', part) as any;
      expect(blob).toMatchObject({ name: `${service}-${tag}.tar`, type: 'Block', content_type: 'application/x-tar' });
      // Relative to the stack's working directory, where Terraform runs.
      expect(blob.source).toBe(`build-contexts/${service}-${tag}.tar`);
      const task = byName(json, 'azurerm_container_registry_task', part) as any;
      expect(task.name).toBe(`build-${service}-${tag}`);
      expect(task.platform).toEqual({ os: 'Linux', architecture: 'amd64' });
      expect(task.docker_step).toMatchObject({ dockerfile_path: 'Dockerfile', image_names: [`${service}:${tag}`], push_enabled: true });
      // The documented shape: the URL alone in context_path, the SAS alone in context_access_token.
      expect(task.docker_step.context_path).toMatch(new RegExp(`^\\$\\{azurerm_storage_blob\\.Images_${part}ContextBlob_\\w+\\.url\\}$`));
      expect(task.docker_step.context_access_token).toMatch(/^\$\{trimprefix\(data\.azurerm_storage_account_blob_container_sas\.\w+\.sas, "\?"\)\}$/);
      // Nothing is frozen: a rerun applies the SAS of its own day before the run is scheduled.
      expect(task.lifecycle).toBeUndefined();
      expect(task.docker_step.arguments).toBeUndefined();
      const run = byName(json, 'azurerm_container_registry_task_schedule_run_now', part) as any;
      expect(run.container_registry_task_id).toMatch(new RegExp(`^\\$\\{azurerm_container_registry_task\\.Images_${part}BuildTask_\\w+\\.id\\}$`));
    }
    expect(registry.ordersApiImage).toBe(`\${TfToken[TOKEN.${/TOKEN\.(\d+)/.exec(registry.ordersApiImage)![1]}]}/orders-api:${registry.ordersApiImageTag}`);
  });

  test('the tag changes when the bundle changes, and only then', () => {
    const dir = copyOfFixture();
    const first = synth({ servicesDistDir: dir }).registry;
    const again = synth({ servicesDistDir: dir }).registry;
    expect(again.ordersApiImageTag).toBe(first.ordersApiImageTag);
    expect(again.chatAppImageTag).toBe(first.chatAppImageTag);

    writeFileSync(join(dir, 'orders-api', 'server.mjs'), 'console.log("orders-api v2");\n');
    const changed = synth({ servicesDistDir: dir }).registry;
    expect(changed.ordersApiImageTag).not.toBe(first.ordersApiImageTag);
    expect(changed.chatAppImageTag).toBe(first.chatAppImageTag);
  });

  test('the base image comes from the Dockerfile (Microsoft\'s registry) unless baseImage names another', () => {
    for (const service of ['orders-api', 'chat-app']) {
      expect(readFileSync(join(fixture, service, 'Dockerfile'), 'utf8')).toMatch(/^ARG BASE_IMAGE=mcr\.microsoft\.com\/azurelinux\/base\/nodejs:24\nFROM \$\{BASE_IMAGE\}\n/);
    }
    const base = 'myregistry.azurecr.io/mirror/node:24-alpine@sha256:' + 'a'.repeat(64);
    const { json } = synth({ baseImage: base });
    for (const part of ['OrdersApi', 'ChatApp']) {
      expect((byName(json, 'azurerm_container_registry_task', part) as any).docker_step.arguments).toEqual({ BASE_IMAGE: base });
    }
    for (const bad of ['node:24 alpine', 'Node:24', '', 'mcr.microsoft.com/x:']) {
      expect(() => synth({ baseImage: bad })).toThrow(`ImageRegistry: baseImage "${bad}" is not an image reference`);
    }
    expect(() => synth({ servicesDistDir: undefined, baseImage: 'node:24', ordersApiImage: 'a.io/o:1', chatAppImage: 'a.io/c:1' }))
      .toThrow(/baseImage and ordersApiImage and chatAppImage cannot be used together/);
  });

  test('your own image: no build resources for it', () => {
    const { registry, json } = synth({ ordersApiImage: 'example.azurecr.io/orders-api:1.0' });
    expect(registry.ordersApiImage).toBe('example.azurecr.io/orders-api:1.0');
    expect(registry.ordersApiImageTag).toBeUndefined();
    expect(Object.keys(resourcesOf(json, 'azurerm_container_registry_task'))).toEqual([expect.stringContaining('ChatApp')]);
    expect(Object.keys(resourcesOf(json, 'azurerm_storage_blob'))).toEqual([expect.stringContaining('ChatApp')]);
  });

  test('both images your own: no build context account, blob, SAS, task or run at all', () => {
    const { json } = synth({ servicesDistDir: undefined, ordersApiImage: 'a.io/o:1', chatAppImage: 'a.io/c:1' });
    for (const type of ['azurerm_storage_account', 'azurerm_storage_container', 'azurerm_storage_blob', 'azurerm_container_registry_task', 'azurerm_container_registry_task_schedule_run_now']) {
      expect(resourcesOf(json, type)).toEqual({});
    }
    expect(json.data?.azurerm_storage_account_blob_container_sas).toBeUndefined();
    expect(json.provider?.azurerm).toBeUndefined();
  });

  test('a missing bundle fails synth telling how to build it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'ipa-registry-empty-'));
    scratch.push(empty);
    expect(() => synth({ servicesDistDir: empty })).toThrow(/no build context for orders-api .* run `npm run build:services` first/);
  });
});

describe('build contexts live in the synth output only', () => {
  const genuine = contextArchive(join(fixture, 'orders-api'));
  const oldPath = (tmp: string) => join(tmp, 'cdktf-identity-propagating-agent');

  test('a tarball planted at the old shared path is never shipped, and nothing is written to the temp folder', () => {
    const tmp = scratchDir('ipa-registry-tmp-');
    const planted = Buffer.from('not the Orders API');
    const plantedFile = join(oldPath(tmp), 'build-contexts', genuine.sha256, 'orders-api.tar.gz');
    mkdirSync(dirname(plantedFile), { recursive: true });
    writeFileSync(plantedFile, planted);
    // The old per-folder hash memory too, claiming the genuine hash for any signature.
    mkdirSync(join(oldPath(tmp), 'context-hashes'), { recursive: true });
    writeFileSync(join(oldPath(tmp), 'context-hashes', 'x'), genuine.sha256);
    const before = tree(tmp);
    const outdir = join(scratchDir('ipa-registry-out-'), 'cdktf.out');

    const shipped = withTmpdir(tmp, () => synthInto(outdir));

    expect(holdsArchive(shipped, genuine)).toBe(true);
    expect(shipped.equals(planted)).toBe(false);
    expect(tree(tmp)).toEqual(before);
  });

  test('a temp folder this user cannot write to is not needed (a second user on the machine)', () => {
    const tmp = scratchDir('ipa-registry-tmp-');
    // A file where the old code made its folder: mkdir under it fails for every user, root included.
    writeFileSync(oldPath(tmp), 'owned by someone else');
    const outdir = join(scratchDir('ipa-registry-out-'), 'cdktf.out');

    const shipped = withTmpdir(tmp, () => synthInto(outdir));

    expect(holdsArchive(shipped, genuine)).toBe(true);
    expect(readdirSync(tmp)).toEqual(['cdktf-identity-propagating-agent']);
  });

  test('a planted or tampered file in the output is overwritten from the sources, never shipped', () => {
    const outdir = join(scratchDir('ipa-registry-out-'), 'cdktf.out');
    const staged = join(outdir, 'stacks', 'test', 'build-contexts', `orders-api-${genuine.sha256.slice(0, 12)}.tar`);
    // Planted before the first synth, under the name the synth will use.
    mkdirSync(dirname(staged), { recursive: true });
    writeFileSync(staged, 'planted');
    expect(holdsArchive(synthInto(outdir), genuine)).toBe(true);

    // Tampered with between synths: same length, one byte changed inside server.mjs.
    const tampered = archiveBytes(genuine);
    const at = tampered.indexOf('server') + 600;
    tampered[at] = tampered[at] === 0x41 ? 0x42 : 0x41;
    writeFileSync(staged, tampered);
    const shipped = synthInto(outdir);
    expect(shipped.equals(tampered)).toBe(false);
    expect(holdsArchive(shipped, genuine)).toBe(true);
    expect(holdsArchive(readFileSync(staged), genuine)).toBe(true);
  });

  test('a changed bundle replaces its staged context; the other service keeps its own', () => {
    const dist = copyOfFixture();
    const outdir = join(scratchDir('ipa-registry-out-'), 'cdktf.out');
    const staged = () => readdirSync(join(outdir, 'stacks', 'test', 'build-contexts')).sort();
    synthInto(outdir, dist);
    const before = staged();
    writeFileSync(join(dist, 'orders-api', 'server.mjs'), 'console.log("orders-api v2");\n');
    const shipped = synthInto(outdir, dist);
    const after = staged();
    expect(after).toHaveLength(2);
    expect(after.find((f) => f.startsWith('chat-app-'))).toBe(before.find((f) => f.startsWith('chat-app-')));
    expect(after.find((f) => f.startsWith('orders-api-'))).not.toBe(before.find((f) => f.startsWith('orders-api-')));
    expect(holdsArchive(shipped, contextArchive(join(dist, 'orders-api')))).toBe(true);
  });

  test('staged files are private to the user', () => {
    const outdir = join(scratchDir('ipa-registry-out-'), 'cdktf.out');
    synthInto(outdir);
    const dir = join(outdir, 'stacks', 'test', 'build-contexts');
    expect((statSync(dir).mode % 0o1000).toString(8)).toBe('700');
    expect((statSync(join(dir, `orders-api-${genuine.sha256.slice(0, 12)}.tar`)).mode % 0o1000).toString(8)).toBe('600');
  });
});

describe('deterministic build context', () => {
  test('the same files give the same bytes, whatever their timestamps', () => {
    const dir = copyOfFixture();
    const a = contextArchive(join(dir, 'chat-app'));
    writeFileSync(join(dir, 'chat-app', 'server.mjs'), readFileSync(join(dir, 'chat-app', 'server.mjs')));
    const b = contextArchive(join(dir, 'chat-app'));
    expect(archiveBytes(b).equals(archiveBytes(a))).toBe(true);
    expect(b.sha256).toBe(a.sha256);
    expect(createHash('sha256').update(archiveBytes(a)).digest('hex')).toBe(a.sha256);
  });

  test('tar itself reads it back to the same files', () => {
    const out = scratchDir('ipa-registry-untar-');
    writeFileSync(join(out, 'context.tar'), archiveBytes(contextArchive(join(fixture, 'orders-api'))));
    mkdirSync(join(out, 'x'));
    const result = spawnSync('tar', ['-xf', join(out, 'context.tar'), '-C', join(out, 'x')], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    for (const file of ['Dockerfile', 'openapi.json', 'server.mjs']) {
      expect(readFileSync(join(out, 'x', file)).equals(readFileSync(join(fixture, 'orders-api', file))), file).toBe(true);
    }
  });

  test('a valid ustar archive: sorted entries, fixed owner, modes and mtime', () => {
    const tar = archiveBytes(contextArchive(join(fixture, 'chat-app')));
    const entries: Array<{ name: string; mode: string; uid: string; mtime: string; type: string; size: number }> = [];
    for (let offset = 0; offset + 512 <= tar.length;) {
      const header = tar.subarray(offset, offset + 512);
      if (header.every((b) => b === 0)) break;
      const field = (start: number, length: number) => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
      const size = parseInt(field(124, 12), 8);
      let sum = 0;
      header.forEach((b, i) => { sum += i >= 148 && i < 156 ? 32 : b; });
      expect(parseInt(field(148, 8), 8)).toBe(sum);
      entries.push({ name: field(0, 100), mode: field(100, 8), uid: field(108, 8), mtime: field(136, 12), type: field(156, 1), size });
      expect(field(257, 6)).toBe('ustar');
      offset += 512 + Math.ceil(size / 512) * 512;
    }
    expect(entries.map((e) => e.name)).toEqual(['Dockerfile', 'public/', 'public/index.html', 'server.mjs']);
    expect(entries.map((e) => e.type)).toEqual(['0', '5', '0', '0']);
    expect(new Set(entries.map((e) => e.mtime))).toEqual(new Set([(946684800).toString(8).padStart(11, '0')]));
    expect(new Set(entries.map((e) => e.uid))).toEqual(new Set(['0000000']));
    expect(entries.find((e) => e.name === 'public/')!.mode).toBe('0000755');
    expect(entries.find((e) => e.name === 'server.mjs')!.mode).toBe('0000644');
    expect(tar.length % 10240).toBe(0);
  });
});
