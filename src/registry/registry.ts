import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
import { alphanumericName } from '../internal/naming';
import { cachedContextArchive, ContextArchive } from '../internal/tar';
import { AssetType, Fn, TerraformAsset } from '../internal/tf';
import { rejectTogether } from '../internal/validation';
import { Placement } from '../placement';

/** The services whose images the library builds, by their folder in `lib-services/dist/`. */
const SERVICES = ['orders-api', 'chat-app'] as const;
type Service = typeof SERVICES[number];

const SKUS = ['Basic', 'Standard', 'Premium'];

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
 * service's folder becomes a deterministic `tar.gz` (a Terraform asset), is uploaded to a
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

  constructor(scope: Construct, id: string, props: ImageRegistryProps) {
    super(scope, id);
    const owner = 'ImageRegistry';
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
    const sas = new DataAzurermStorageAccountBlobContainerSas(this, 'BuildContextSas', {
      provider,
      connectionString: account.primaryConnectionString,
      containerName: container.name,
      httpsOnly: true,
      // Read-only and short-lived: valid from a little before the plan to two hours after it.
      start: Fn.timeadd(Fn.plantimestamp(), '-15m'),
      expiry: Fn.timeadd(Fn.plantimestamp(), '2h'),
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
    const staged = stage(service, archive);
    const id = pascal(service);

    const asset = new TerraformAsset(this, `${id}Context`, { path: staged, type: AssetType.FILE, assetHash: tag });
    const blob = new StorageBlob(this, `${id}ContextBlob`, {
      provider: context.provider,
      name: `${service}-${tag}.tar.gz`,
      storageAccountName: context.account.name,
      storageContainerName: context.container.name,
      type: 'Block',
      source: asset.path,
      contentType: 'application/gzip',
    });
    // The task's name carries the tag: a new context creates a new task (with a fresh SAS) and
    // a new run; an unchanged one plans no change although the SAS is re-signed on every plan.
    const task = new ContainerRegistryTask(this, `${id}BuildTask`, {
      name: `build-${service}-${tag}`,
      containerRegistryId: this.registryId,
      platform: { os: 'Linux', architecture: 'amd64' },
      dockerStep: {
        dockerfilePath: 'Dockerfile',
        contextPath: `${blob.url}?${context.token}`,
        contextAccessToken: context.token,
        imageNames: [`${service}:${tag}`],
        pushEnabled: true,
        cacheEnabled: false,
      },
      timeoutInSeconds: 1800,
      lifecycle: { ignoreChanges: ['docker_step[0].context_path', 'docker_step[0].context_access_token'] },
    });
    // Waits for the run; the apps wait for this construct (see ServiceContainerApps `waitFor`).
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

/** Writes the archive to a content-addressed staging folder (atomic, so concurrent synths agree). */
function stage(service: Service, archive: ContextArchive): string {
  const dir = join(tmpdir(), 'cdktf-identity-propagating-agent', 'build-contexts', archive.sha256);
  const file = join(dir, `${service}.tar.gz`);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, archive.gzip);
    renameSync(temporary, file);
  }
  return file;
}

function pascal(service: string): string {
  return service.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('');
}
