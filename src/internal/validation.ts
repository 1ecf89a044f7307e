/**
 * Rejects props that contradict each other, naming them, before anything is synthesized.
 * `given` maps a prop path (as the user wrote it) to its value.
 */
export function rejectTogether(owner: string, given: { [path: string]: unknown }, why: string): void {
  const set = Object.entries(given).filter(([, v]) => v !== undefined).map(([k]) => k);
  if (set.length > 1) {
    throw new Error(`${owner}: ${set.join(' and ')} cannot be used together: ${why}`);
  }
}

/** Throws when a number prop is outside its range, naming the prop. */
export function requireRange(owner: string, path: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${owner}: ${path} is ${value}; it must be a whole number from ${min} to ${max}.`);
  }
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Entra tenant, object and client ids are GUIDs. */
export function isGuid(value: string): boolean {
  return GUID.test(value);
}
