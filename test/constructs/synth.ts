import { AnnotationMetadataEntryType, TerraformOutput, TerraformStack, Testing } from 'cdktf';
import { Construct } from 'constructs';
import type { Placement } from '../../src';

/** Synthesized Terraform JSON of one stack (no backend block, no absolute paths). */
export interface SynthJson {
  readonly resource?: { [type: string]: { [id: string]: any } };
  readonly data?: { [type: string]: { [id: string]: any } };
  readonly provider?: { [name: string]: any[] };
  readonly output?: { [name: string]: any };
  readonly terraform?: any;
}

export function synthJson(stack: Construct): SynthJson {
  return JSON.parse(Testing.synth(stack as any));
}

/** Every resource of a type, keyed by logical id. */
export function resourcesOf(json: SynthJson, type: string): { [id: string]: any } {
  return json.resource?.[type] ?? {};
}

/** The single resource of a type; fails when there are none or several. */
export function onlyResource(json: SynthJson, type: string): any {
  const all = Object.values(resourcesOf(json, type));
  if (all.length !== 1) throw new Error(`expected exactly one ${type}, found ${all.length}`);
  return all[0];
}

/** Strips the `//` metadata so snapshots and comparisons hold only what Terraform reads. */
export function withoutMetadata<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (key, v) => (key === '//' ? undefined : v)));
}

let resolved = 0;
/** The value Terraform sees for a token: added as an output, synthesized, read back. */
export function resolveIn(stack: TerraformStack, value: unknown): unknown {
  const id = `resolve_${resolved++}`;
  new TerraformOutput(stack, id, { value });
  return synthJson(stack).output?.[id]?.value;
}

/** Where a sub-construct test places its resources (a fixed suffix, so names are literal). */
export function testPlacement(overrides: Partial<Placement> = {}): Placement {
  return {
    resourceGroupName: 'rg-orders',
    resourceGroupId: '/subscriptions/s/resourceGroups/rg-orders',
    location: 'swedencentral',
    baseName: 'orders',
    uniqueSuffix: 'abc123',
    ...overrides,
  };
}

/** The single resource of a type whose logical id contains `part` (e.g. the construct's id); fails otherwise. */
export function resourceWithin(json: SynthJson, type: string, part: string): any {
  const matches = Object.entries(resourcesOf(json, type)).filter(([id]) => id.includes(part));
  if (matches.length !== 1) throw new Error(`expected exactly one ${type} with "${part}" in its id, found ${matches.length}`);
  return matches[0][1];
}

/** The warning annotations of every construct in a scope (what `cdktf synth` prints as warnings). */
export function warningsIn(scope: Construct): string[] {
  return scope.node.findAll().flatMap((c) => c.node.metadata).filter((m) => m.type === AnnotationMetadataEntryType.WARN).map((m) => String(m.data));
}

/** Edges of the synthesized graph: `depends_on` entries and `${...}` references to resources and data sources. */
export function dependencyGraph(json: SynthJson): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  const nodes: Array<[string, any]> = [];
  for (const [type, byId] of Object.entries(json.resource ?? {})) for (const [id, body] of Object.entries(byId)) nodes.push([`${type}.${id}`, body]);
  for (const [type, byId] of Object.entries(json.data ?? {})) for (const [id, body] of Object.entries(byId)) nodes.push([`data.${type}.${id}`, body]);
  const known = new Set(nodes.map(([address]) => address));
  for (const [address, body] of nodes) {
    const edges = new Set<string>();
    const text = JSON.stringify(body);
    for (const match of text.matchAll(/(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_]+)/g)) {
      const target = match[0];
      if (known.has(target) && target !== address) edges.add(target);
    }
    graph.set(address, edges);
  }
  return graph;
}
