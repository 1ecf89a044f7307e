import { Fn } from './tf';

/** Lower-case letters and digits, hyphens inside; short enough for every Azure name derived from it. */
const BASE_NAME = /^[a-z][a-z0-9-]{1,12}[a-z0-9]$/;

export function validateBaseName(owner: string, baseName: string, path = 'baseName'): void {
  if (!BASE_NAME.test(baseName) || baseName.includes('--')) {
    throw new Error(`${owner}: ${path} "${baseName}" is invalid: use 3 to 14 lower-case letters, digits and single hyphens, starting with a letter and not ending with a hyphen.`);
  }
}

const SUFFIX = /^[a-z0-9]{3,8}$/;

export function validateUniqueSuffix(owner: string, suffix: string, path = 'uniqueSuffix'): void {
  if (!SUFFIX.test(suffix)) {
    throw new Error(`${owner}: ${path} "${suffix}" is invalid: use 3 to 8 lower-case letters and digits.`);
  }
}

/**
 * A short token that makes globally unique Azure names stable per subscription and resource
 * group (the Terraform counterpart of Bicep's uniqueString(resourceGroup().id)).
 */
export function derivedUniqueSuffix(subscriptionId: string, resourceGroupName: string): string {
  return Fn.substr(Fn.sha1(Fn.join('/', [subscriptionId, resourceGroupName])), 0, 6);
}

/** `<prefix><base><suffix>` with hyphens removed, for names that allow only letters and digits. */
export function alphanumericName(prefix: string, baseName: string, uniqueSuffix: string): string {
  return `${prefix}${baseName.replace(/-/g, '')}${uniqueSuffix}`;
}

/** `<prefix>-<base>-<suffix>`, for globally unique names that allow hyphens. */
export function hyphenatedName(prefix: string, baseName: string, uniqueSuffix: string): string {
  return `${prefix}-${baseName}-${uniqueSuffix}`;
}
