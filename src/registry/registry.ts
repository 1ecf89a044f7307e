import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerRegistry } from '@cdktf/provider-azurerm/lib/container-registry';
import { ContainerRegistryTask } from '@cdktf/provider-azurerm/lib/container-registry-task';
import { ContainerRegistryTaskScheduleRunNow } from '@cdktf/provider-azurerm/lib/container-registry-task-schedule-run-now';
import { DataAzurermContainerRegistry } from '@cdktf/provider-azurerm/lib/data-azurerm-container-registry';
import { DataAzurermStorageAccountBlobContainerSas } from '@cdktf/provider-azurerm/lib/data-azurerm-storage-account-blob-container-sas';
import { AzurermProvider } from '@cdktf/provider-azurerm/lib/provider';
import { StorageAccount } from '@cdktf/provider-azurerm/lib/storage-account';
import { StorageBlob } from '@cdktf/provider-azurerm/lib/storage-blob';
import { StorageContainer } from '@cdktf/provider-azurerm/lib/storage-container';
import { Construct } from 'constructs';
import { checkImageValues } from '../internal/azure-values';
import { alphanumericName } from '../internal/naming';
import { archiveBytes, cachedContextArchive, ContextArchive } from '../internal/tar';
import { App, Fn, TerraformStack, Token } from '../internal/tf';
import { rejectTogether } from '../internal/validation';
import { Placement } from '../placement';

/** The services whose images the library builds, by their folder in `lib-services/dist/`. */
const SERVICES = ['orders-api', 'chat-app'] as const;
type Service = typeof SERVICES[number];

const SKUS = ['Basic', 'Standard', 'Premium'];

/** registry/path/name, then `:tag` and/or `@sha256:<digest>` (the distribution reference grammar, simplified). */
const IMAGE_REFERENCE = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;

/** Container registry and image options of the stack. */
export interface ImageOptions {
  /**
   * SKU of a new registry: `Basic`, `Standard` or `Premium`.
   * @default Basic
   */
  readonly sku?: string;
  /**
   * Name of an existing container registry to build into and pull from, instead of creating one.
   * @default - a new registry `cr<baseName><uniqueSuffix>` is created
   */
  readonly existingRegistryName?: string;
  /**
   * Resource group of the existing registry.
   * @default - the stack's resource group
   */
  readonly existingRegistryResourceGroupName?: string;
  /**
   * Folder holding each service's build context (`<dir>/orders-api/`, `<dir>/chat-app/`, each with a `Dockerfile`).
   * @default - `lib-services/dist` of this package (built by `npm run build:services`)
   */
  readonly servicesDistDir?: string;
  /**
   * Base image of the images built from the bundled services (the `BASE_IMAGE` build argument of
   * their Dockerfiles): a Node.js 24 image that runs `node server.mjs` as uid 1000. It must be
   * pullable by the ACR build agent: anonymously, or from this registry.
   * @default - `mcr.microsoft.com/azurelinux/base/nodejs:24` (Microsoft's registry: no anonymous pull rate limit, unlike Docker Hub)
   */
  readonly baseImage?: string;
  /**
   * Your own Orders API image (full reference, e.g. `myregistry.azurecr.io/orders-api:1.4`):
   * nothing is built for it. It must be pullable anonymously or from this registry.
   * @default - built in Azure from the bundled Orders API
   */
  readonly ordersApiImage?: string;
  /**
   * Your own Chat App image (full reference): nothing is built for it.
   * It must be pullable anonymously or from this registry.
   * @default - built in Azure from the bundled Chat App
   */
  readonly chatAppImage?: string;
}

/** Props of {@link ImageRegistry}. */
export interface ImageRegistryProps extends ImageOptions {
  /** Where the resources go. */
  readonly placement: Placement;
  /**
   * Subscription of the provider that manages the build-context storage (the stack's subscription).
   * @default - from the environment, as the stack's azurerm provider
   */
  readonly subscriptionId?: string;
  /**
   * Tenant of that provider.
   * @default - from the environment, as the stack's azurerm provider
   */
  readonly tenantId?: string;
  /**
   * Whether there is a Chat App image: false for the Orders API alone (only its image is built
   * or taken; `chatAppImage` must be unset).
   * @default true
   */
  readonly chatApp?: boolean;
}

/** One service's build: what the task reads and the tag it pushes. */
interface Build {
  readonly image: string;
  readonly tag: string;
}

/**
 * A container registry (admin user off) and the services' images, built INSIDE Azure: each
 * service's folder becomes a deterministic tar in the stack's synth output, is uploaded to a
 * private blob container of a separate build-context account, and an ACR task builds it
 * through a short-lived read-only SAS. The tag is a hash of the context, so a code change
 * builds and rolls a new image, and no change builds nothing. No Docker, no Azure CLI.
 */
export class ImageRegistry extends Construct {
  /** Resource id of the registry (scope of the apps' AcrPull). */
  public readonly registryId: string;
  /** Login server, e.g. `crorders1a2b3c.azurecr.io`. */
  public readonly loginServer: string;
  /** Image the Orders API runs (built or yours). */
  public readonly ordersApiImage: string;
  /** Image the Chat App runs (built or yours); undefined when `chatApp` is false. */
  public readonly chatAppImage?: string;
  /** Tag of the built Orders API image (a hash of its build context); undefined for your own image. */
  public readonly ordersApiImageTag?: string;
  /** Tag of the built Chat App image; undefined for your own image. */
  public readonly chatAppImageTag?: string;
  /** Name of the build-context storage account; undefined when nothing is built. */
  public readonly buildContextStorageAccountName?: string;
  private readonly baseImage?: string;

  constructor(scope: Construct, id: string, props: ImageRegistryProps) {
    super(scope, id);
    const owner = 'ImageRegistry';
    checkImageValues(owner, '', props);
    rejectTogether(owner, { sku: props.sku, existingRegistryName: props.existingRegistryName },
      'the SKU is a setting of a new registry; set it on your existing registry instead.');
    if (props.existingRegistryResourceGroupName !== undefined && props.existingRegistryName === undefined) {
      throw new Error(`${owner}: existingRegistryResourceGroupName needs existingRegistryName.`);
    }
    if (props.sku !== undefined && !SKUS.includes(props.sku)) {
      throw new Error(`${owner}: sku "${props.sku}" is invalid: use one of ${SKUS.join(', ')}.`);
    }
    if (props.chatApp === false && props.chatAppImage !== undefined) {
      throw new Error(`${owner}: chatApp is false, so chatAppImage has nothing to configure.`);
    }
    const services = SERVICES.filter((s) => s !== 'chat-app' || props.chatApp !== false);
    const own: Record<Service, string | undefined> = { 'orders-api': props.ordersApiImage, 'chat-app': props.chatAppImage };
    const toBuild = services.filter((s) => own[s] === undefined);
    if (props.servicesDistDir !== undefined && toBuild.length === 0) {
      throw new Error(`${owner}: servicesDistDir and ordersApiImage and chatAppImage cannot be used together: with both images your own, nothing is built.`);
    }
    if (props.baseImage !== undefined && toBuild.length === 0) {
      throw new Error(`${owner}: baseImage and ordersApiImage and chatAppImage cannot be used together: with both images your own, nothing is built.`);
    }
    if (props.baseImage !== undefined && !Token.isUnresolved(props.baseImage) && !IMAGE_REFERENCE.test(props.baseImage)) {
      throw new Error(`${owner}: baseImage "${props.baseImage}" is not an image reference (registry/repository:tag or @sha256:digest, lower case, no spaces).`);
    }
    this.baseImage = props.baseImage;
    const { placement } = props;

    if (props.existingRegistryName !== undefined) {
      const existing = new DataAzurermContainerRegistry(this, 'ExistingRegistry', {
        name: props.existingRegistryName,
        resourceGroupName: props.existingRegistryResourceGroupName ?? placement.resourceGroupName,
      });
      this.registryId = existing.id;
      this.loginServer = existing.loginServer;
    } else {
      const registry = new ContainerRegistry(this, 'Registry', {
        name: alphanumericName('cr', placement.baseName, placement.uniqueSuffix),
        location: placement.location,
        resourceGroupName: placement.resourceGroupName,
        sku: props.sku ?? 'Basic',
        // Apps pull with their managed identities (AcrPull); no admin password exists.
        adminEnabled: false,
        anonymousPullEnabled: false,
        tags: placement.tags,
      });
      this.registryId = registry.id;
      this.loginServer = registry.loginServer;
    }

    const builds: Partial<Record<Service, Build>> = {};
    if (toBuild.length > 0) {
      const distDir = props.servicesDistDir ?? defaultServicesDistDir();
      this.buildContextStorageAccountName = alphanumericName('sb', placement.baseName, placement.uniqueSuffix);
      const context = this.buildContextStorage(props, this.buildContextStorageAccountName);
      for (const service of toBuild) {
        builds[service] = this.build(service, distDir, context);
      }
    }
    this.ordersApiImage = own['orders-api'] ?? builds['orders-api']!.image;
    this.chatAppImage = own['chat-app'] ?? builds['chat-app']?.image;
    this.ordersApiImageTag = builds['orders-api']?.tag;
    this.chatAppImageTag = builds['chat-app']?.tag;
  }

  /** The build-context account, its private container and the read-only SAS the tasks read through. */
  private buildContextStorage(props: ImageRegistryProps, name: string): BuildContext {
    const { placement } = props;
    // This account needs its key (only to sign the SAS), so its resources use a provider that
    // talks to storage with the key; application data lives elsewhere, with keys off.
    const provider = new AzurermProvider(this, 'BuildContextProvider', {
      alias: 'image_build_context',
      features: [{}],
      subscriptionId: props.subscriptionId,
      tenantId: props.tenantId,
      storageUseAzuread: false,
    });
    const account = new StorageAccount(this, 'BuildContextAccount', {
      provider,
      name,
      location: placement.location,
      resourceGroupName: placement.resourceGroupName,
      accountKind: 'StorageV2',
      accountTier: 'Standard',
      accountReplicationType: 'LRS',
      httpsTrafficOnlyEnabled: true,
      minTlsVersion: 'TLS1_2',
      allowNestedItemsToBePublic: false,
      sharedAccessKeyEnabled: true,
      tags: placement.tags,
    });
    const container = new StorageContainer(this, 'BuildContextContainer', {
      provider,
      name: 'build-contexts',
      storageAccountId: account.id,
      containerAccessType: 'private',
    });
    // Read-only, and valid for the UTC day of the plan and the day after (from 15 min before
    // that day's midnight, for clock skew). The signature is an HMAC of these fields, so every
    // plan of one day computes the same SAS: the tasks plan no change within a day, change in
    // place once on a later day, and a rerun of a failed build always gets a SAS that is valid
    // for at least 24 h (the run's own timeout is 30 min).
    const day = Fn.formatdate("YYYY-MM-DD'T'00:00:00'Z'", Fn.plantimestamp());
    const sas = new DataAzurermStorageAccountBlobContainerSas(this, 'BuildContextSas', {
      provider,
      connectionString: account.primaryConnectionString,
      containerName: container.name,
      httpsOnly: true,
      start: Fn.timeadd(day, '-15m'),
      expiry: Fn.timeadd(day, '48h'),
      permissions: { read: true, add: false, create: false, write: false, delete: false, list: false },
    });
    // The SAS query string without its leading `?` (whether or not the provider adds one).
    return { provider, account, container, token: Fn.trimprefix(sas.sas, '?') };
  }

  private build(service: Service, distDir: string, context: BuildContext): Build {
    const folder = join(distDir, service);
    if (!existsSync(join(folder, 'Dockerfile'))) {
      throw new Error(`ImageRegistry: no build context for ${service} at ${folder} (a Dockerfile is missing): run \`npm run build:services\` first, or set servicesDistDir, or bring your own image.`);
    }
    const archive = cachedContextArchive(folder);
    const tag = archive.sha256.slice(0, 12);
    // In the stack's working directory (where Terraform runs), named relative to it.
    const stack = TerraformStack.of(this);
    const source = stage(join(App.of(this).outdir, 'stacks', stack.node.id), service, archive, tag);
    const id = pascal(service);

    const blob = new StorageBlob(this, `${id}ContextBlob`, {
      provider: context.provider,
      name: `${service}-${tag}.tar`,
      storageAccountName: context.account.name,
      storageContainerName: context.container.name,
      type: 'Block',
      source,
      contentType: 'application/x-tar',
    });
    // The task's name carries the tag: a new context creates a new task and a new run. The step
    // has the documented shape (ARM TaskStepProperties, 2019-06-01-preview, the api-version of
    // azurerm's task resource): `contextPath` is the URL of the context, `contextAccessToken`
    // "the token (git PAT or SAS token of storage account blob)".
    const task = new ContainerRegistryTask(this, `${id}BuildTask`, {
      name: `build-${service}-${tag}`,
      containerRegistryId: this.registryId,
      platform: { os: 'Linux', architecture: 'amd64' },
      dockerStep: {
        dockerfilePath: 'Dockerfile',
        contextPath: blob.url,
        contextAccessToken: context.token,
        imageNames: [`${service}:${tag}`],
        pushEnabled: true,
        cacheEnabled: false,
        arguments: this.baseImage === undefined ? undefined : { BASE_IMAGE: this.baseImage },
      },
      timeoutInSeconds: 1800,
    });
    // Waits for the run; the apps wait for this construct (see ServiceContainerApps `waitFor`).
    // A failed run leaves nothing in state, so the next apply schedules it again, through a SAS
    // valid that day (see the SAS above).
    new ContainerRegistryTaskScheduleRunNow(this, `${id}BuildRun`, { containerRegistryTaskId: task.id });
    return { image: `${this.loginServer}/${service}:${tag}`, tag };
  }
}

interface BuildContext {
  readonly provider: AzurermProvider;
  readonly account: StorageAccount;
  readonly container: StorageContainer;
  readonly token: string;
}

/** `lib-services/dist` of this package, from `src/registry` (tsx) or `lib/registry` (compiled). */
function defaultServicesDistDir(): string {
  return join(__dirname, '..', '..', 'lib-services', 'dist');
}

/**
 * Writes the archive into the stack's working directory in the synth output
 * (`build-contexts/<service>-<tag>.tar`, the path returned, relative to that directory), from the
 * sources, on every synth: nothing is read back, from there or from anywhere outside the synth
 * output, so a planted or stale file is overwritten, never uploaded. (Writing 7 MB costs less than
 * reading and comparing a copy; not a TerraformAsset, which would copy the file once more.)
 */
function stage(stackDir: string, service: Service, archive: ContextArchive, tag: string): string {
  const relative = `build-contexts/${service}-${tag}.tar`;
  const dir = join(stackDir, 'build-contexts');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // One staged context per service: older ones (and anything else under its name) go.
  for (const name of readdirSync(dir)) {
    if (name.startsWith(`${service}-`)) rmSync(join(dir, name), { recursive: true, force: true });
  }
  const temporary = join(dir, `${service}-${process.pid}.tmp`);
  writeFileSync(temporary, archiveBytes(archive), { mode: 0o600, flag: 'wx' });
  renameSync(temporary, join(stackDir, relative));
  return relative;
}

function pascal(service: string): string {
  return service.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('');
}
