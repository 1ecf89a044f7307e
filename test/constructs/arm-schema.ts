import { readFileSync } from 'node:fs';
import { join } from 'node:path';

// Checks a request body against the ARM type facts of fixtures/arm-types/arm-types.json
// (extracted from the schemas azapi v2.9.0 embeds; see extract.mjs there).

type TypeId = number;
interface PropertyFact { readonly type: TypeId; readonly required?: true; readonly readOnly?: true }
type TypeFact =
  | { kind: 'object'; properties: { [name: string]: PropertyFact }; additionalProperties?: TypeId }
  | { kind: 'discriminated'; discriminator: string; properties: { [name: string]: PropertyFact }; cases: { [value: string]: TypeId } }
  | { kind: 'union'; of: TypeId[] }
  | { kind: 'literal'; value: string }
  | { kind: 'string'; minLength?: number; maxLength?: number; pattern?: string }
  | { kind: 'integer'; minValue?: number; maxValue?: number }
  | { kind: 'array'; items: TypeId; minLength?: number; maxLength?: number }
  | { kind: 'boolean' } | { kind: 'any' } | { kind: 'null' };

export interface ArmTypeFacts {
  readonly source: { repository: string; tag: string; commit: string; paths: string[] };
  readonly resources: { [typeAtVersion: string]: { body: TypeId } };
  readonly types: TypeFact[];
}

export const ARM_TYPES: ArmTypeFacts = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'arm-types', 'arm-types.json'), 'utf8'));

/** A Terraform expression: its value is known at apply only. */
const isExpression = (v: unknown) => typeof v === 'string' && v.includes('${');

/**
 * Every way `body` breaks the facts of `typeAtVersion` (empty when it conforms): unknown or
 * read-only properties, wrong types, values outside an enum, missing required properties.
 * `suppliedByAzapi` names root properties azapi fills from its own arguments (`name`).
 */
export function armViolations(facts: ArmTypeFacts, typeAtVersion: string, body: unknown, suppliedByAzapi: string[] = ['name']): string[] {
  return armCheck(facts, typeAtVersion, body, suppliedByAzapi).violations;
}

/**
 * As {@link armViolations}, plus `openEnumValues`: values outside the known values of an
 * extensible enum (the schema admits any string there, the service may not).
 */
export function armCheck(facts: ArmTypeFacts, typeAtVersion: string, body: unknown, suppliedByAzapi: string[] = ['name']) {
  const resource = facts.resources[typeAtVersion];
  if (!resource) throw new Error(`no ARM type facts for ${typeAtVersion}: add it to RESOURCE_TYPES in fixtures/arm-types/extract.mjs and rerun it`);
  const violations: string[] = [];
  const openEnumValues: string[] = [];
  check(facts, resource.body, body, '', violations, openEnumValues, new Set(suppliedByAzapi));
  return { violations, openEnumValues };
}

function check(facts: ArmTypeFacts, id: TypeId, value: unknown, path: string, errors: string[], notes: string[], supplied?: Set<string>): void {
  const t = facts.types[id];
  const at = path || '(body)';
  switch (t.kind) {
    case 'any': return;
    case 'null': if (value !== null) errors.push(`${at}: must be null`); return;
    case 'literal':
      if (!isExpression(value) && value !== t.value) errors.push(`${at}: ${JSON.stringify(value)} is not ${JSON.stringify(t.value)}`);
      return;
    case 'string':
      if (isExpression(value)) return;
      if (typeof value !== 'string') { errors.push(`${at}: must be a string, is ${JSON.stringify(value)}`); return; }
      if (t.minLength !== undefined && value.length < t.minLength) errors.push(`${at}: shorter than ${t.minLength}`);
      if (t.maxLength !== undefined && value.length > t.maxLength) errors.push(`${at}: longer than ${t.maxLength}`);
      if (t.pattern !== undefined && !new RegExp(t.pattern).test(value)) errors.push(`${at}: does not match ${t.pattern}`);
      return;
    case 'integer':
      if (isExpression(value)) return;
      if (!Number.isInteger(value)) { errors.push(`${at}: must be an integer, is ${JSON.stringify(value)}`); return; }
      if (t.minValue !== undefined && (value as number) < t.minValue) errors.push(`${at}: below ${t.minValue}`);
      if (t.maxValue !== undefined && (value as number) > t.maxValue) errors.push(`${at}: above ${t.maxValue}`);
      return;
    case 'boolean':
      if (!isExpression(value) && typeof value !== 'boolean') errors.push(`${at}: must be a boolean, is ${JSON.stringify(value)}`);
      return;
    case 'array':
      if (isExpression(value)) return;
      if (!Array.isArray(value)) { errors.push(`${at}: must be an array`); return; }
      if (t.minLength !== undefined && value.length < t.minLength) errors.push(`${at}: fewer than ${t.minLength} items`);
      if (t.maxLength !== undefined && value.length > t.maxLength) errors.push(`${at}: more than ${t.maxLength} items`);
      value.forEach((item, i) => check(facts, t.items, item, `${path}[${i}]`, errors, notes));
      return;
    case 'union': {
      const literals = t.of.map((m) => facts.types[m]).filter((m): m is { kind: 'literal'; value: string } => m.kind === 'literal');
      for (const member of t.of) {
        const attempt: string[] = [];
        const attemptNotes: string[] = [];
        check(facts, member, value, path, attempt, attemptNotes);
        if (attempt.length === 0) {
          notes.push(...attemptNotes);
          const open = literals.length > 0 && facts.types[member].kind === 'string';
          if (open && !isExpression(value)) notes.push(`${at}: ${JSON.stringify(value)} is not a known value (${literals.map((l) => l.value).join(', ')})`);
          return;
        }
      }
      errors.push(literals.length === t.of.length
        ? `${at}: ${JSON.stringify(value)} is not one of ${literals.map((l) => l.value).join(', ')}`
        : `${at}: ${JSON.stringify(value)} matches none of the ${t.of.length} allowed shapes`);
      return;
    }
    case 'object':
    case 'discriminated': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) { errors.push(`${at}: must be an object`); return; }
      let properties = t.properties;
      let additional = t.kind === 'object' ? t.additionalProperties : undefined;
      if (t.kind === 'discriminated') {
        const tag = (value as any)[t.discriminator];
        const chosen = t.cases[tag];
        if (chosen === undefined) {
          errors.push(`${path ? `${path}.` : ''}${t.discriminator}: ${JSON.stringify(tag)} is not one of ${Object.keys(t.cases).join(', ')}`);
          return;
        }
        const variant = facts.types[chosen] as { properties: { [name: string]: PropertyFact }; additionalProperties?: TypeId };
        properties = { ...properties, ...variant.properties };
        additional = variant.additionalProperties;
      }
      const prefix = path ? `${path}.` : '';
      for (const [name, v] of Object.entries(value)) {
        const fact = properties[name];
        if (fact === undefined) {
          if (additional !== undefined) check(facts, additional, v, `${prefix}${name}`, errors, notes);
          else errors.push(`${prefix}${name}: unknown property (known: ${Object.keys(properties).filter((n) => !properties[n].readOnly).join(', ')})`);
        } else if (fact.readOnly) {
          errors.push(`${prefix}${name}: read-only property`);
        } else {
          check(facts, fact.type, v, `${prefix}${name}`, errors, notes);
        }
      }
      for (const [name, fact] of Object.entries(properties)) {
        if (fact.required && !fact.readOnly && !(name in value) && !supplied?.has(name)) errors.push(`${prefix}${name}: required property missing`);
      }
      return;
    }
  }
}
