import { IConstruct } from 'constructs';
import {
  DefaultTokenResolver,
  StringConcat,
  TerraformDataSource,
  TerraformElement,
  TerraformOutput,
  TerraformResource,
  TerraformStack,
  Tokenization,
} from '../internal/tf';

/** Key under the synthesized `//` metadata of an element that lists its suppressions. */
export const SUPPRESSIONS_KEY = 'securitySuppressions';

/** One suppression as written into the synthesized JSON. */
export interface SuppressionRecord {
  readonly id: string;
  readonly reason: string;
}

/** A Terraform element of the stack as it synthesizes (tokens resolved to Terraform expressions). */
export interface Element {
  readonly construct: TerraformElement;
  readonly kind: 'resource' | 'data' | 'output';
  /** Terraform type, e.g. `azurerm_storage_account` (empty for outputs). */
  readonly type: string;
  /** Address as Terraform expressions reference it: `azurerm_x.name`, `data.azurerm_x.name`, `output.name`. */
  readonly address: string;
  /** Construct path, for messages. */
  readonly path: string;
  /** Synthesized attributes, without the `//` metadata. */
  readonly attrs: any;
  readonly suppressions: SuppressionRecord[];
}

const resolver = new DefaultTokenResolver(new StringConcat());

/** Resolves an element exactly as the stack synthesizes it, so rules see what Terraform sees. */
export function elementOf(stack: TerraformStack, construct: TerraformElement): Element | undefined {
  const kind = TerraformResource.isTerraformResource(construct) ? 'resource'
    : TerraformDataSource.isTerraformDataSource(construct) ? 'data'
      : TerraformOutput.isTerraformOutput(construct) ? 'output' : undefined;
  if (!kind) return undefined;
  const tf = Tokenization.resolve(construct.toTerraform(), { scope: stack, preparing: false, resolver });
  const section = tf?.[kind];
  if (!section) return undefined; // a moved resource synthesizes only its `moved` block
  const [type, name, raw] = kind === 'output'
    ? ['', ...Object.entries<any>(section)[0]]
    : [Object.keys(section)[0], ...Object.entries<any>(Object.values<any>(section)[0])[0]];
  const { ['//']: meta, ...attrs } = raw ?? {};
  return {
    construct,
    kind,
    type,
    address: kind === 'output' ? `output.${name}` : kind === 'data' ? `data.${type}.${name}` : `${type}.${name}`,
    path: construct.node.path,
    attrs,
    suppressions: Array.isArray(meta?.[SUPPRESSIONS_KEY]) ? meta[SUPPRESSIONS_KEY] : [],
  };
}

/** Every resource, data source and output below `root`, resolved. */
export function elementsUnder(stack: TerraformStack, root: IConstruct): Element[] {
  return root.node.findAll()
    .filter((c): c is TerraformElement => TerraformElement.isTerraformElement(c))
    .map((c) => elementOf(stack, c))
    .filter((e): e is Element => e !== undefined);
}

/** A nested block as a list: single blocks synthesize as an object, repeated ones as an array. */
export function blocks(value: unknown): any[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** The first block of a nested block, or an empty object. */
export function block(value: unknown): any {
  return blocks(value)[0] ?? {};
}

/** Every string leaf of a value. */
export function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether `value` holds a Terraform reference to the element at `address` (any attribute, or the given one). */
export function refersTo(value: unknown, address: string, attribute?: string): boolean {
  const after = attribute ? `(\\[[^\\]]*\\])?\\.${escape(attribute)}\\b` : '[.\\[]';
  const re = new RegExp(`(?<![\\w.])${escape(address)}${after}`);
  return stringsIn(value).some((s) => re.test(s));
}

/** A Terraform reference inside an expression: `[data.]<type>.<name>[index].<attribute>`. */
export interface Reference {
  readonly data: boolean;
  readonly type: string;
  readonly name: string;
  readonly attribute: string;
  readonly address: string;
}

/** Resource and data-source references in the Terraform expressions of a value. */
export function referencesIn(value: unknown): Reference[] {
  const out: Reference[] = [];
  const re = /(?<![\w.])(data\.)?([a-z][a-z0-9]*_[a-z0-9_]+)\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?\.([a-z_][a-z0-9_]*)/g;
  for (const s of stringsIn(value)) {
    if (!s.includes('${')) continue;
    for (const m of s.matchAll(re)) {
      const data = m[1] !== undefined;
      out.push({ data, type: m[2], name: m[3], attribute: m[4], address: `${data ? 'data.' : ''}${m[2]}.${m[3]}` });
    }
  }
  return out;
}

/** Whether a string is a literal (holds no Terraform expression). */
export function isLiteral(value: unknown): value is string {
  return typeof value === 'string' && !value.includes('${');
}
