import { isIP } from 'node:net';
import { AZURE_REGIONS } from './azure-regions';
import { validateBaseName, validateUniqueSuffix } from './naming';
import { Token } from './tf';
import { isGuid } from './validation';
import type { AppOptions, ServiceContainerAppsProps } from '../container-apps/apps';
import type { EnvironmentOptions } from '../container-apps/environment';
import type { EntraOptions } from '../entra/spa';
import type { FoundryOptions } from '../foundry/foundry';
import type { GatewayOptions } from '../gateway/gateway';
import type { IdentityPropagatingAgentProps } from '../identity-propagating-agent';
import type { Placement } from '../placement';
import type { ImageOptions } from '../registry/registry';

// Values Azure (or the pinned providers) refuse, refused at synth instead of at apply.
// Each check names the prop as the user wrote it, the value and the rule, and throws before
// anything is created. Unresolved tokens are not known until apply and pass unchecked.

/** A rule a literal value must satisfy, worded for the error message. */
export interface ValueRule {
  readonly test: (value: string) => boolean;
  readonly text: string;
}

const LETTERS_DIGITS_HYPHENS = (min: number, max: number, first: string) =>
  new RegExp(`^${first}(?:[a-zA-Z0-9-]{${Math.max(min - 2, 0)},${max - 2}}[a-zA-Z0-9])${min <= 1 ? '?' : ''}$`);

/**
 * The rules, each backed by Microsoft's "Naming rules and restrictions for Azure resources"
 * (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules)
 * and the validation of the pinned azurerm v4.55.0 (file named per rule).
 */
export const AZURE_RULES = {
  /** Docs: Microsoft.ApiManagement/service, global, 1-50, alphanumerics and hyphens, start with a letter, end alphanumeric. azurerm: apimanagement/validate/api_management.go ApiManagementServiceName. */
  apiManagementName: regexRule(LETTERS_DIGITS_HYPHENS(1, 50, '[a-zA-Z]'),
    'use 1 to 50 letters, digits and hyphens, starting with a letter and ending with a letter or digit (it is the gateway host name)'),
  /** Docs (templates/microsoft.cognitiveservices/accounts): 2-64, alphanumerics and hyphens, start and end alphanumeric; the name is also the custom subdomain (a DNS label). */
  cognitiveAccountName: regexRule(LETTERS_DIGITS_HYPHENS(2, 64, '[a-zA-Z0-9]'),
    'use 2 to 64 letters, digits and hyphens, starting and ending with a letter or digit (it is also the custom subdomain)'),
  /** azurerm: cognitive/validate/account_name.go AccountName (what the data source accepts for an account that exists), at most 64 as in the docs. */
  existingCognitiveAccountName: regexRule(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}$/,
    'use 2 to 64 letters, digits, periods, hyphens and underscores, starting with a letter or digit'),
  /** azurerm: cognitive/cognitive_account_project_resource.go `name`. */
  foundryProjectName: regexRule(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{1,63}$/,
    'use 2 to 64 letters, digits, periods, hyphens and underscores, starting with a letter or digit'),
  /** Docs: resourcegroups 1-90, alphanumerics, underscores, parentheses, hyphens, periods, not ending in a period. azurerm: go-azure-helpers resourcegroups.ValidateName (ASCII word characters). */
  resourceGroupName: {
    test: (v: string) => v.length >= 1 && v.length <= 90 && /^[-\w.()]+$/.test(v) && !v.endsWith('.'),
    text: 'use 1 to 90 letters, digits, underscores, hyphens, periods and parentheses, not ending with a period',
  } as ValueRule,
  /** Docs: storageAccounts 3-24, lower-case letters and numbers. azurerm: storage/validate/storage_account_name.go. */
  storageAccountName: regexRule(/^[a-z0-9]{3,24}$/, 'use 3 to 24 lower-case letters and digits'),
  /** Docs: registries 5-50, alphanumerics. azurerm: containers/validate/container_registry_name.go. */
  containerRegistryName: regexRule(/^[a-zA-Z0-9]{5,50}$/, 'use 5 to 50 letters and digits'),
  /** Docs: Microsoft.App/containerApps 2-32, lower-case letters, numbers and hyphens, start with a letter, end alphanumeric, no `--`. azurerm: containerapps/validate/validate.go ContainerAppName. */
  containerAppName: {
    test: (v: string) => /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/.test(v) && !v.includes('--'),
    text: 'use 2 to 32 lower-case letters, digits and single hyphens, starting with a letter and ending with a letter or digit',
  } as ValueRule,
  /** Docs: Microsoft.App/managedEnvironments 2-60, alphanumerics and hyphens, start with a letter, end alphanumeric. azurerm: containerapps/validate/validate.go ManagedEnvironmentName. */
  managedEnvironmentName: regexRule(LETTERS_DIGITS_HYPHENS(2, 60, '[a-zA-Z]'),
    'use 2 to 60 letters, digits and hyphens, starting with a letter and ending with a letter or digit'),
  /** Entra tenant, subscription, object (principal), client and role definition ids. */
  guid: { test: isGuid, text: 'it must be a GUID such as 00000000-0000-0000-0000-000000000000' } as ValueRule,
  /** azurerm: containerapps/helpers/container_apps.go ip_address_range, `validation.Any(IsCIDR, IsIPAddress)`. */
  ipRange: { test: isIpOrCidr, text: 'it must be an IPv4 or IPv6 address or a CIDR range such as 203.0.113.0/24' } as ValueRule,
  /** The OCI distribution reference grammar (github.com/distribution/reference, reference.go): `[host[:port]/]path[:tag][@digest]`, lower-case path, at most 255 characters in the name. */
  imageReference: { test: isImageReference, text: 'it must be an image reference such as myregistry.azurecr.io/orders-api:1.4 (lower-case repository path, optional :tag and @sha256:digest)' } as ValueRule,
  /** Audiences are joined with commas into AUTH_AUDIENCES and compared exactly with `aud`. */
  audience: regexRule(/^[^\s,]+$/, 'it must be one non-empty audience without whitespace or commas, e.g. https://ai.azure.com or api://<client id>'),
  /** Scopes are joined with commas into AUTH_REQUIRED_SCOPES and compared with the space-separated `scp`. */
  scope: regexRule(/^[^\s,]+$/, 'it must be one non-empty scope name without whitespace or commas'),
  /** The Orders API's PUBLIC_BASE_URL / PUBLIC_REST_BASE_URL (lib-services/orders-api/config.ts): anything else stops its start-up. */
  publicUrl: { test: isPublicUrl, text: 'it must be an http(s) URL without query or fragment, e.g. https://apim.azure-api.net/orders-api' } as ValueRule,
  /** azurerm: apimanagement/validate/api_management.go ApiManagementServicePublisherName (1 to 100 characters). */
  publisherName: { test: (v: string) => v.length >= 1 && v.length <= 100, text: 'use 1 to 100 characters' } as ValueRule,
  /** azurerm: ApiManagementServicePublisherEmail (1 to 100 non-space characters); ARM expects an e-mail address. */
  email: { test: (v: string) => v.length <= 100 && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v), text: 'it must be an e-mail address of at most 100 characters' } as ValueRule,
} as const;

function regexRule(pattern: RegExp, text: string): ValueRule {
  return { test: (v) => pattern.test(v), text };
}

function isPublicUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'https:' || url.protocol === 'http:') && url.search === '' && url.hash === '';
}

function isIpOrCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

// Grammar of github.com/distribution/reference (reference.go), written out here.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const IMAGE_REFERENCE = new RegExp(`^(${NAME})(?::[\\w][\\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`);

function isImageReference(value: string): boolean {
  const match = IMAGE_REFERENCE.exec(value);
  return match !== null && match[1].length <= 255;
}

const isLiteral = (value: unknown): value is string => typeof value === 'string' && !Token.isUnresolved(value);

/** Throws when a literal value breaks the rule, naming the prop, the value and the rule. */
export function requireRule(owner: string, path: string, value: string | undefined, rule: ValueRule): void {
  if (!isLiteral(value) || rule.test(value)) return;
  throw new Error(`${owner}: ${path} ${JSON.stringify(value)} is invalid: ${rule.text}.`);
}

/**
 * Checks every entry of a list prop (`path[i]` in the message). With `nonEmpty`, an empty list
 * is refused with that reason (a list the part cannot work without).
 */
export function requireEach(owner: string, path: string, values: string[] | undefined, rule: ValueRule, nonEmpty?: string): void {
  if (values === undefined || Token.isUnresolved(values)) return;
  if (nonEmpty !== undefined && values.length === 0) throw new Error(`${owner}: ${path} is empty: ${nonEmpty}.`);
  values.forEach((value, i) => requireRule(owner, `${path}[${i}]`, value, rule));
}

/** Azure compares regions case-insensitively without spaces (azurerm and azapi normalize `West Europe` to `westeurope`). */
function normalizeRegion(value: string): string {
  return value.toLowerCase().replace(/\s+/g, '');
}

/** Throws when a literal region is not an Azure region, listing the closest names. */
export function requireRegion(owner: string, path: string, value: string | undefined): void {
  if (!isLiteral(value)) return;
  const normalized = normalizeRegion(value);
  if (AZURE_REGIONS.includes(normalized)) return;
  const close = closeRegions(normalized);
  const hint = close.length > 0 ? `did you mean ${close.join(', ')}?` : 'use a programmatic region name such as swedencentral (az account list-locations -o table)';
  throw new Error(`${owner}: ${path} ${JSON.stringify(value)} is invalid: it is not an Azure region; ${hint}`);
}

function closeRegions(value: string): string[] {
  return AZURE_REGIONS
    .map((region) => ({ region, distance: editDistance(value, region) }))
    .filter(({ region, distance }) => distance <= 3 || (value.length >= 4 && region.startsWith(value)))
    .sort((a, b) => a.distance - b.distance || a.region.localeCompare(b.region))
    .slice(0, 3)
    .map(({ region }) => region);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * Tag limits (https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations;
 * azurerm: go-azure-helpers tags.Validate): at most 50 tags; names of at most 128 characters (the
 * storage accounts' limit; 512 elsewhere) without `< > % & \ ? /`; values of at most 256 characters.
 */
export function requireTags(owner: string, path: string, tags: { [key: string]: string } | undefined): void {
  if (tags === undefined || Token.isUnresolved(tags)) return;
  const entries = Object.entries(tags);
  if (entries.length > 50) throw new Error(`${owner}: ${path} has ${entries.length} tags; Azure allows at most 50 per resource.`);
  for (const [key, value] of entries) {
    if (!Token.isUnresolved(key) && (key.length === 0 || key.length > 128 || /[<>%&\\?/]/.test(key))) {
      throw new Error(`${owner}: ${path} name ${JSON.stringify(key)} is invalid: use 1 to 128 characters without < > % & \\ ? /.`);
    }
    if (isLiteral(value) && value.length > 256) {
      throw new Error(`${owner}: ${path}.${key} is ${value.length} characters long; a tag value may have at most 256.`);
    }
  }
}

const join = (prefix: string, name: string) => `${prefix}${name}`;

/** The placement a part was given (`placement.*`): region, base name, suffix, resource group, tags. */
export function checkPlacement(owner: string, placement: Placement, prefix = 'placement.'): void {
  requireRegion(owner, join(prefix, 'location'), placement.location);
  if (isLiteral(placement.baseName)) validateBaseName(owner, placement.baseName, join(prefix, 'baseName'));
  if (isLiteral(placement.uniqueSuffix)) validateUniqueSuffix(owner, placement.uniqueSuffix, join(prefix, 'uniqueSuffix'));
  requireRule(owner, join(prefix, 'resourceGroupName'), placement.resourceGroupName, AZURE_RULES.resourceGroupName);
  requireTags(owner, join(prefix, 'tags'), placement.tags);
}

/** Props of the whole system (and, with their prefixes, of every part it is given options for). */
export function checkAgentValues(owner: string, props: IdentityPropagatingAgentProps): void {
  requireRegion(owner, 'location', props.location);
  requireRule(owner, 'subscriptionId', props.subscriptionId, AZURE_RULES.guid);
  requireRule(owner, 'tenantId', props.tenantId, AZURE_RULES.guid);
  requireRule(owner, 'resourceGroupName', props.resourceGroupName, AZURE_RULES.resourceGroupName);
  requireRule(owner, 'existingResourceGroupName', props.existingResourceGroupName, AZURE_RULES.resourceGroupName);
  requireTags(owner, 'tags', props.tags);
  checkImageValues(owner, 'images.', props.images);
  checkEnvironmentValues(owner, 'containerApps.', props.containerApps);
  checkAppValues(owner, 'containerApps.', props.containerApps);
  checkEntraValues(owner, 'entra.', props.entra);
  checkFoundryValues(owner, 'foundry.', props.foundry);
  checkGatewayValues(owner, 'gateway.', props.gateway);
}

/** A part's placement, when it has one. */
function checkPartPlacement(owner: string, props: object): void {
  const placement = (props as { placement?: Placement }).placement;
  if (placement !== undefined) checkPlacement(owner, placement);
}

/** Registry and image options (`images.*` at the top level). */
export function checkImageValues(owner: string, prefix: string,
  o: (ImageOptions & { placement?: Placement; subscriptionId?: string; tenantId?: string }) | undefined): void {
  if (o === undefined) return;
  checkPartPlacement(owner, o);
  requireRule(owner, join(prefix, 'existingRegistryName'), o.existingRegistryName, AZURE_RULES.containerRegistryName);
  requireRule(owner, join(prefix, 'existingRegistryResourceGroupName'), o.existingRegistryResourceGroupName, AZURE_RULES.resourceGroupName);
  requireRule(owner, join(prefix, 'ordersApiImage'), o.ordersApiImage, AZURE_RULES.imageReference);
  requireRule(owner, join(prefix, 'chatAppImage'), o.chatAppImage, AZURE_RULES.imageReference);
  requireRule(owner, join(prefix, 'subscriptionId'), o.subscriptionId, AZURE_RULES.guid);
  requireRule(owner, join(prefix, 'tenantId'), o.tenantId, AZURE_RULES.guid);
}

/** Container Apps environment options (`containerApps.*`). */
export function checkEnvironmentValues(owner: string, prefix: string, o: (EnvironmentOptions & { placement?: Placement }) | undefined): void {
  if (o === undefined) return;
  checkPartPlacement(owner, o);
  requireRule(owner, join(prefix, 'existingEnvironmentName'), o.existingEnvironmentName, AZURE_RULES.managedEnvironmentName);
  requireRule(owner, join(prefix, 'existingEnvironmentResourceGroupName'), o.existingEnvironmentResourceGroupName, AZURE_RULES.resourceGroupName);
}

/** The two apps' settings (`containerApps.*`), and the ids and images the apps part is given. */
export function checkAppValues(owner: string, prefix: string, o: (AppOptions & Partial<ServiceContainerAppsProps>) | undefined): void {
  if (o === undefined) return;
  requireEach(owner, join(prefix, 'audiences'), o.audiences, AZURE_RULES.audience, 'the services would accept no token; leave it unset for https://ai.azure.com');
  requireEach(owner, join(prefix, 'ordersApiAllowedClientIds'), o.ordersApiAllowedClientIds, AZURE_RULES.guid);
  requireEach(owner, join(prefix, 'ordersApiRequiredScopes'), o.ordersApiRequiredScopes, AZURE_RULES.scope);
  requireEach(owner, join(prefix, 'ordersApiAllowedIpRanges'), o.ordersApiAllowedIpRanges, AZURE_RULES.ipRange,
    'it would refuse every caller; leave it unset to accept any source');
  requireEach(owner, join(prefix, 'ordersAdminObjectIds'), o.ordersAdminObjectIds, AZURE_RULES.guid);
  requireRule(owner, join(prefix, 'ordersApiPublicBaseUrl'), o.ordersApiPublicBaseUrl, AZURE_RULES.publicUrl);
  requireRule(owner, join(prefix, 'ordersApiPublicRestBaseUrl'), o.ordersApiPublicRestBaseUrl, AZURE_RULES.publicUrl);
  requireRule(owner, join(prefix, 'ordersSeedOwnerObjectId'), o.ordersSeedOwnerObjectId, AZURE_RULES.guid);
  requireRule(owner, join(prefix, 'ordersApiImage'), o.ordersApiImage, AZURE_RULES.imageReference);
  requireRule(owner, join(prefix, 'chatAppImage'), o.chatAppImage, AZURE_RULES.imageReference);
  requireRule(owner, join(prefix, 'tenantId'), o.tenantId, AZURE_RULES.guid);
  requireRule(owner, join(prefix, 'spaClientId'), o.spaClientId, AZURE_RULES.guid);
  requireRule(owner, join(prefix, 'names.ordersApi'), o.names?.ordersApi, AZURE_RULES.containerAppName);
  requireRule(owner, join(prefix, 'names.chatApp'), o.names?.chatApp, AZURE_RULES.containerAppName);
  checkPartPlacement(owner, o);
}

/** SPA registration options (`entra.*`). */
export function checkEntraValues(owner: string, prefix: string, o: (EntraOptions & { placement?: Placement }) | undefined): void {
  if (o === undefined) return;
  checkPartPlacement(owner, o);
  requireRule(owner, join(prefix, 'existingSpaClientId'), o.existingSpaClientId, AZURE_RULES.guid);
}

/** Foundry options (`foundry.*`), and the principal the part is given. */
export function checkFoundryValues(owner: string, prefix: string,
  o: (FoundryOptions & { placement?: Placement; deployerPrincipalId?: string }) | undefined): void {
  if (o === undefined) return;
  checkPartPlacement(owner, o);
  requireRule(owner, join(prefix, 'accountName'), o.accountName, AZURE_RULES.cognitiveAccountName);
  requireRule(owner, join(prefix, 'existingAccountName'), o.existingAccountName, AZURE_RULES.existingCognitiveAccountName);
  requireRule(owner, join(prefix, 'existingAccountResourceGroupName'), o.existingAccountResourceGroupName, AZURE_RULES.resourceGroupName);
  requireRule(owner, join(prefix, 'projectName'), o.projectName, AZURE_RULES.foundryProjectName);
  requireRule(owner, join(prefix, 'existingProjectName'), o.existingProjectName, AZURE_RULES.foundryProjectName);
  requireRule(owner, join(prefix, 'mcpAudience'), o.mcpAudience, AZURE_RULES.audience);
  requireEach(owner, join(prefix, 'agentUsers.principalIds'), o.agentUsers?.principalIds, AZURE_RULES.guid);
  requireEach(owner, join(prefix, 'agentUsers.groupMembers'), o.agentUsers?.groupMembers, AZURE_RULES.guid);
  requireRule(owner, join(prefix, 'deployerPrincipalId'), o.deployerPrincipalId, AZURE_RULES.guid);
  requireEach(owner, join(prefix, 'agent.allowedTools'), o.agent?.allowedTools, regexRule(/^\S+$/, 'it must be a tool name'),
    'the agent could call no tool; leave it unset for the six Orders tools');
}

/** API Management options (`gateway.*`), and the tenant, audiences and ids the gateway part is given. */
export function checkGatewayValues(owner: string, prefix: string, o: (GatewayOptions & {
  placement?: Placement; tenantId?: string; audiences?: string[]; allowedClientIds?: string[]; requiredScopes?: string[];
}) | undefined): void {
  if (o === undefined) return;
  checkPartPlacement(owner, o);
  requireRule(owner, join(prefix, 'name'), o.name, AZURE_RULES.apiManagementName);
  requireRule(owner, join(prefix, 'existingName'), o.existingName, AZURE_RULES.apiManagementName);
  requireRule(owner, join(prefix, 'existingResourceGroupName'), o.existingResourceGroupName, AZURE_RULES.resourceGroupName);
  requireRule(owner, join(prefix, 'publisherName'), o.publisherName, AZURE_RULES.publisherName);
  requireRule(owner, join(prefix, 'publisherEmail'), o.publisherEmail, AZURE_RULES.email);
  requireEach(owner, join(prefix, 'aiGatewayAudiences'), o.aiGatewayAudiences, AZURE_RULES.audience,
    '/openai would accept no token; leave it unset for the defaults');
  requireRule(owner, join(prefix, 'tenantId'), o.tenantId, AZURE_RULES.guid);
  requireEach(owner, join(prefix, 'audiences'), o.audiences, AZURE_RULES.audience, 'validate-jwt would accept no token');
  requireEach(owner, join(prefix, 'allowedClientIds'), o.allowedClientIds, AZURE_RULES.guid);
  requireEach(owner, join(prefix, 'requiredScopes'), o.requiredScopes, AZURE_RULES.scope);
}

/** Resource group part: its region and names. */
export function checkResourceGroupValues(owner: string,
  o: { location: string; name?: string; existingName?: string; baseName: string; tags?: { [key: string]: string } }): void {
  requireRegion(owner, 'location', o.location);
  if (isLiteral(o.baseName)) validateBaseName(owner, o.baseName);
  requireRule(owner, 'name', o.name, AZURE_RULES.resourceGroupName);
  requireRule(owner, 'existingName', o.existingName, AZURE_RULES.resourceGroupName);
  requireTags(owner, 'tags', o.tags);
}
