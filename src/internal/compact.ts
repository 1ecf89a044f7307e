/** Drops undefined values so that only what was set reaches the Terraform JSON. */
export function compact<T extends { [k: string]: unknown }>(attributes: T): { [k: string]: unknown } {
  const out: { [k: string]: unknown } = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined) out[key] = value;
  }
  return out;
}
