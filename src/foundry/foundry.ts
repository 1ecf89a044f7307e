import { CognitiveAccount } from '@cdktf/provider-azurerm/lib/cognitive-account';
import { CognitiveAccountProject } from '@cdktf/provider-azurerm/lib/cognitive-account-project';
import { CognitiveDeployment } from '@cdktf/provider-azurerm/lib/cognitive-deployment';
import { DataAzurermClientConfig } from '@cdktf/provider-azurerm/lib/data-azurerm-client-config';
import { DataAzurermCognitiveAccount } from '@cdktf/provider-azurerm/lib/data-azurerm-cognitive-account';
import { MonitorDiagnosticSetting } from '@cdktf/provider-azurerm/lib/monitor-diagnostic-setting';
import { RoleAssignment } from '@cdktf/provider-azurerm/lib/role-assignment';
import { RoleDefinition } from '@cdktf/provider-azurerm/lib/role-definition';
import { Construct } from 'constructs';
import { ROLE, roleDefinitionId } from './roles';
import { AzapiDataPlaneResource } from '../azapi/data-plane-resource';
import { AzapiResource } from '../azapi/resource';
import { AgentUsersGroup } from '../entra/agent-users';
import { checkFoundryValues } from '../internal/azure-values';
import { hyphenatedName } from '../internal/naming';
import { Annotations, Fn, ITerraformDependable, Token } from '../internal/tf';
import { rejectTogether, requireRange } from '../internal/validation';
import { Placement } from '../placement';

/** The six tools of the Orders MCP server (DESIGN §4.1). */
const ORDERS_MCP_TOOLS = ['list-orders', 'get-order', 'create-order', 'update-order', 'delete-order', 'health-check'];

const DEFAULT_INSTRUCTIONS = 'You are an assistant with access to backend systems. Use the Orders MCP tools to list, get, create, update, and delete orders. '
  + 'Always confirm destructive actions (updating or deleting an order) with the user before calling the tool.';

const AISERVICES = 'Microsoft.CognitiveServices/accounts/AIServices';
/**
 * What the project's Responses API with an agent reference checks (`agents/write` for POST
 * `/api/projects/<p>/openai/*`, `agents/read` for reads) and the project-endpoint inference the
 * run makes (`responses/*`).
 */
const AGENT_RUNNER_DATA_ACTIONS = [`${AISERVICES}/agents/read`, `${AISERVICES}/agents/write`, `${AISERVICES}/responses/*`];

const CONNECTIONS_TYPE = 'Microsoft.CognitiveServices/accounts/projects/connections@2025-04-01-preview';

/** The model the agent runs on. */
export interface FoundryModelOptions {
  /**
   * Model name.
   * @default 'gpt-4o'
   */
  readonly name?: string;
  /**
   * Model version.
   * @default '2024-08-06'
   */
  readonly version?: string;
  /**
   * Model format (publisher).
   * @default 'OpenAI'
   */
  readonly format?: string;
  /**
   * Deployment name.
   * @default - the model name
   */
  readonly deploymentName?: string;
  /**
   * Deployment SKU, e.g. `GlobalStandard`, `Standard`, `DataZoneStandard`.
   * @default 'GlobalStandard'
   */
  readonly skuName?: string;
  /**
   * Capacity in thousands of tokens per minute (1 to 10000).
   * @default 30
   */
  readonly capacity?: number;
  /**
   * Use this existing deployment of the account instead of creating one.
   * @default - a deployment is created
   */
  readonly existingDeploymentName?: string;
}

/** The agent. */
export interface FoundryAgentOptions {
  /**
   * Agent name (changing it replaces the agent).
   * @default 'orders-assistant'
   */
  readonly name?: string;
  /**
   * Instructions of the agent.
   * @default - use the Orders tools; always confirm destructive actions with the user
   */
  readonly instructions?: string;
  /**
   * Label of the MCP tool (letters, digits and underscores).
   * @default 'orders_mcp'
   */
  readonly serverLabel?: string;
  /**
   * Tools the agent may call.
   * @default - the six Orders tools
   */
  readonly allowedTools?: string[];
  /**
   * Tools whose every call waits for the user's approval; the others never do.
   * @default ['update-order', 'delete-order']
   */
  readonly approvalRequiredTools?: string[];
}

/** The role chat users get on the project. */
export enum AgentUserRole {
  /**
   * A custom role with only the agent data actions the Chat App's call needs: the project's
   * Responses API with an agent reference checks `agents/write` for every POST under `openai/*`,
   * so the role holds `agents/read`, `agents/write` and `responses/*`, and no `agents/delete`,
   * no model, file, index or evaluation data actions and no control-plane actions. No role can
   * run an agent on that path without `agents/write`: users can still change the agent.
   */
  AGENT_RUNNER = 'AGENT_RUNNER',
  /** The built-in Foundry User (formerly Azure AI User): every data action of the project, agent creation included. */
  FOUNDRY_USER = 'FOUNDRY_USER',
  /**
   * The built-in Foundry Agent Consumer: only `endpoints/interact/action`, which covers an agent's
   * own endpoint (`/agents/<name>/endpoint/protocols/...`), not the project Responses API the
   * Chat App calls; for clients of the agent endpoint.
   */
  FOUNDRY_AGENT_CONSUMER = 'FOUNDRY_AGENT_CONSUMER',
}

/** Who may chat with the agent. */
export interface AgentUsersOptions {
  /**
   * Object ids of existing users or groups that may chat.
   * @default - none
   */
  readonly principalIds?: string[];
  /**
   * Create an Entra security group (owned by the deployer) whose members may chat.
   * @default false
   */
  readonly createGroup?: boolean;
  /**
   * Display name of the new group.
   * @default `<baseName> agent users`
   */
  readonly groupDisplayName?: string;
  /**
   * Object ids of the new group's members.
   * @default - none (add members in Entra later)
   */
  readonly groupMembers?: string[];
  /**
   * The role they get on the project.
   * @default AgentUserRole.AGENT_RUNNER
   */
  readonly role?: AgentUserRole;
}

/** Foundry options of the stack: create, or bring an existing account or project. */
export interface FoundryOptions {
  /**
   * Name and custom subdomain of a new AIServices account.
   * @default `ai-<baseName>-<uniqueSuffix>`
   */
  readonly accountName?: string;
  /**
   * Use this existing AIServices account (project management on, custom subdomain set).
   * @default - a new account is created
   */
  readonly existingAccountName?: string;
  /**
   * Resource group of the existing account.
   * @default - the stack's resource group
   */
  readonly existingAccountResourceGroupName?: string;
  /**
   * Name of a new project.
   * @default `proj-<baseName>`
   */
  readonly projectName?: string;
  /**
   * Use this existing project of the existing account.
   * @default - a new project is created
   */
  readonly existingProjectName?: string;
  /**
   * The model deployment.
   * @default - gpt-4o 2024-08-06, GlobalStandard, capacity 30
   */
  readonly model?: FoundryModelOptions;
  /**
   * The agent.
   * @default - `orders-assistant` with the default instructions and approvals
   */
  readonly agent?: FoundryAgentOptions;
  /**
   * Name of the MCP project connection (`project_connection_id` of the tool).
   * @default 'mcp-entra'
   */
  readonly mcpConnectionName?: string;
  /**
   * Audience of the user token Foundry sends to the MCP server (UserEntraToken connection).
   * @default 'https://ai.azure.com'
   */
  readonly mcpAudience?: string;
  /**
   * Who may chat: the users and groups that run the agent with their own token (they get
   * {@link AgentUsersOptions.role} on the project). Synth warns when nobody but the deployer could.
   * @default - nobody but the deployer
   */
  readonly agentUsers?: AgentUsersOptions;
}

/** Props of {@link Foundry}. */
export interface FoundryProps extends FoundryOptions {
  /** Where the resources go. */
  readonly placement: Placement;
  /** The MCP endpoint the connection and the agent target, e.g. `https://<apim>.azure-api.net/orders-mcp/mcp`. */
  readonly mcpUrl: string;
  /**
   * Log Analytics workspace that receives the account's diagnostics (new accounts only).
   * @default - no diagnostic setting
   */
  readonly logAnalyticsWorkspaceId?: string;
  /**
   * Object id of the principal that deploys: it gets Foundry User on the project so that it
   * can create the agent.
   * @default - the identity running Terraform (`azurerm_client_config.object_id`)
   */
  readonly deployerPrincipalId?: string;
}

/** The API Management gateway behind the Foundry `ApiManagement` connection. */
export interface FoundryApiManagementConnection {
  /** Gateway URL, `https://<name>.azure-api.net`. */
  readonly gatewayUrl: string;
  /** Resource id of the API Management service. */
  readonly apiManagementId: string;
  /**
   * Connection name.
   * @default 'apim-gateway'
   */
  readonly name?: string;
}

/**
 * Foundry: the AIServices account (or an existing one), the project (or an existing one), the
 * model deployment, the MCP `RemoteTool` connection that forwards the signed-in user's
 * token (`UserEntraToken`), the agent itself as a Terraform resource, and the role
 * assignments that let the named users run it.
 */
export class Foundry extends Construct {
  /** Resource id of the AIServices account. */
  public readonly accountId: string;
  /** Name of the AIServices account. */
  public readonly accountName: string;
  /** Resource id of the project. */
  public readonly projectId: string;
  /** Name of the project. */
  public readonly projectName: string;
  /** Project endpoint, `https://<subdomain>.services.ai.azure.com/api/projects/<project>` (the Chat App's FOUNDRY_PROJECT_ENDPOINT). */
  public readonly projectEndpoint: string;
  /** Azure OpenAI endpoint of the account, `https://<subdomain>.openai.azure.com/openai` (the AI gateway's backend). */
  public readonly openAiEndpoint: string;
  /** Name of the model deployment the agent uses. */
  public readonly modelDeploymentName: string;
  /** Name of the agent. */
  public readonly agentName: string;
  /** Name of the MCP connection. */
  public readonly mcpConnectionName: string;
  /** The MCP endpoint the agent calls. */
  public readonly mcpUrl: string;
  /** Object ids that get the agent-user role (the new group's first); empty when nobody but the deployer may chat. */
  public readonly agentUserPrincipalIds: string[];
  /** Object id of the agent users' group; undefined unless `agentUsers.createGroup`. */
  public readonly agentUsersGroupObjectId?: string;

  private readonly projectDependency?: ITerraformDependable;

  constructor(scope: Construct, id: string, props: FoundryProps) {
    super(scope, id);
    const owner = 'Foundry';
    checkFoundryValues(owner, '', props);
    rejectTogether(owner, { accountName: props.accountName, existingAccountName: props.existingAccountName }, 'name a new account or an existing one, not both.');
    rejectTogether(owner, { projectName: props.projectName, existingProjectName: props.existingProjectName }, 'name a new project or an existing one, not both.');
    if (props.existingProjectName !== undefined && props.existingAccountName === undefined) {
      throw new Error('Foundry: existingProjectName needs existingAccountName: an existing project lives in an existing account.');
    }
    if (props.existingAccountResourceGroupName !== undefined && props.existingAccountName === undefined) {
      throw new Error('Foundry: existingAccountResourceGroupName needs existingAccountName.');
    }
    const model = props.model ?? {};
    const { existingDeploymentName, ...newDeploymentSettings } = model;
    for (const [key, value] of Object.entries(newDeploymentSettings)) {
      rejectTogether(owner, { 'model.existingDeploymentName': existingDeploymentName, [`model.${key}`]: value }, 'settings of a new deployment do not apply to an existing one.');
    }
    requireRange(owner, 'model.capacity', model.capacity, 1, 10000);
    const agent = props.agent ?? {};
    const serverLabel = agent.serverLabel ?? 'orders_mcp';
    if (!/^[a-zA-Z0-9_]+$/.test(serverLabel)) {
      throw new Error(`Foundry: agent.serverLabel "${serverLabel}" is invalid: use letters, digits and underscores only.`);
    }
    const allowedTools = agent.allowedTools ?? ORDERS_MCP_TOOLS;
    const approvalRequired = agent.approvalRequiredTools ?? ['update-order', 'delete-order'];
    const stray = approvalRequired.filter((t) => !allowedTools.includes(t));
    if (stray.length > 0) throw new Error(`Foundry: agent.approvalRequiredTools names ${stray.join(', ')}, which agent.allowedTools does not allow.`);
    const agentName = agent.name ?? 'orders-assistant';
    if (!Token.isUnresolved(agentName) && !/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/.test(agentName)) {
      throw new Error(`Foundry: agent.name "${agentName}" is invalid: use up to 63 letters, digits and hyphens, starting with a letter or digit.`);
    }

    const { placement } = props;
    this.mcpUrl = props.mcpUrl;

    // Account: new or existing. The subdomain gives every data-plane host name.
    let subdomain: string;
    let accountCreated: CognitiveAccount | undefined;
    let accountResourceGroupId = placement.resourceGroupId;
    if (props.existingAccountName !== undefined) {
      const existing = new DataAzurermCognitiveAccount(this, 'ExistingAccount', {
        name: props.existingAccountName,
        resourceGroupName: props.existingAccountResourceGroupName ?? placement.resourceGroupName,
      });
      this.accountId = existing.id;
      accountResourceGroupId = Fn.join('/', Fn.slice(Fn.split('/', existing.id), 0, 5));
      this.accountName = props.existingAccountName;
      // endpoint is https://<subdomain>.cognitiveservices.azure.com/
      subdomain = Fn.trimsuffix(Fn.trimsuffix(Fn.trimprefix(existing.endpoint, 'https://'), '/'), '.cognitiveservices.azure.com');
    } else {
      const name = props.accountName ?? hyphenatedName('ai', placement.baseName, placement.uniqueSuffix);
      accountCreated = new CognitiveAccount(this, 'Account', {
        name,
        location: placement.location,
        resourceGroupName: placement.resourceGroupName,
        kind: 'AIServices',
        skuName: 'S0',
        customSubdomainName: name,
        projectManagementEnabled: true,
        // Entra ID only: no keys (managed tenants force this anyway).
        localAuthEnabled: false,
        publicNetworkAccessEnabled: true,
        identity: { type: 'SystemAssigned' },
        tags: placement.tags,
      });
      this.accountId = accountCreated.id;
      this.accountName = name;
      subdomain = name;
      if (props.logAnalyticsWorkspaceId !== undefined) {
        new MonitorDiagnosticSetting(this, 'AccountDiagnostics', {
          name: 'to-log-analytics',
          targetResourceId: accountCreated.id,
          logAnalyticsWorkspaceId: props.logAnalyticsWorkspaceId,
          enabledLog: [{ categoryGroup: 'allLogs' }],
          enabledMetric: [{ category: 'AllMetrics' }],
        });
      }
    }

    // Project: new or existing.
    if (props.existingProjectName !== undefined) {
      this.projectName = props.existingProjectName;
      this.projectId = `${this.accountId}/projects/${props.existingProjectName}`;
    } else {
      this.projectName = props.projectName ?? `proj-${placement.baseName}`;
      const project = new CognitiveAccountProject(this, 'Project', {
        name: this.projectName,
        cognitiveAccountId: this.accountId,
        location: placement.location,
        displayName: `${placement.baseName} agents`,
        description: 'Agents that act as the signed-in user.',
        identity: { type: 'SystemAssigned' },
        tags: placement.tags,
      });
      this.projectId = project.id;
      this.projectDependency = project;
    }
    const dataPlaneParent = `${subdomain}.services.ai.azure.com/api/projects/${this.projectName}`;
    this.projectEndpoint = `https://${dataPlaneParent}`;
    this.openAiEndpoint = `https://${subdomain}.openai.azure.com/openai`;

    // Model deployment: new or existing.
    let deployment: CognitiveDeployment | undefined;
    if (model.existingDeploymentName !== undefined) {
      this.modelDeploymentName = model.existingDeploymentName;
    } else {
      const modelName = model.name ?? 'gpt-4o';
      deployment = new CognitiveDeployment(this, 'ModelDeployment', {
        name: model.deploymentName ?? modelName,
        cognitiveAccountId: this.accountId,
        model: { format: model.format ?? 'OpenAI', name: modelName, version: model.version ?? '2024-08-06' },
        sku: { name: model.skuName ?? 'GlobalStandard', capacity: model.capacity ?? 30 },
        // Keep the pinned version until it retires: a silent model change can break tool calling.
        versionUpgradeOption: 'OnceCurrentVersionExpired',
      });
      this.modelDeploymentName = deployment.name;
    }

    // The MCP connection: Foundry obtains a token for `audience` as the signed-in user and
    // sends it to `target`. `audience` must be top-level (else "Missing required query
    // parameter: audience") and in metadata. Schema validation stays off here only: the embedded
    // schema's authType variants lack UserEntraToken and its properties lack `audience`.
    const audience = props.mcpAudience ?? 'https://ai.azure.com';
    this.mcpConnectionName = props.mcpConnectionName ?? 'mcp-entra';
    const connection = new AzapiResource(this, 'McpConnection', {
      type: CONNECTIONS_TYPE,
      name: this.mcpConnectionName,
      parentId: this.projectId,
      schemaValidationEnabled: false,
      body: {
        properties: {
          category: 'RemoteTool',
          authType: 'UserEntraToken',
          target: props.mcpUrl,
          audience,
          isSharedToAll: true,
          metadata: { type: 'custom_MCP', audience },
        },
      },
      ...connectionFaultHandling(),
      dependsOn: this.projectDependency ? [this.projectDependency] : undefined,
    });

    // Role assignments on the project (data-plane role: agents are data-plane objects).
    const foundryUser = roleDefinitionId(placement.resourceGroupId, ROLE.foundryUser);
    const deployerPrincipalId = props.deployerPrincipalId ?? new DataAzurermClientConfig(this, 'Deployer').objectId;
    const deployerRole = new RoleAssignment(this, 'DeployerAgentAdmin', {
      scope: this.projectId,
      roleDefinitionId: foundryUser,
      principalId: deployerPrincipalId,
      description: 'Creates and updates the agent through the Foundry data plane.',
    });
    const granted = this.grantAgentUsers(props, accountResourceGroupId);
    this.agentUserPrincipalIds = granted.principalIds;
    this.agentUsersGroupObjectId = granted.groupObjectId;

    // The agent: a prompt agent (UserEntraToken MCP tools do not work from hosted agents).
    const requireApproval = approvalRequired.length === 0
      ? 'never'
      : approvalRequired.length === allowedTools.length
        ? 'always'
        : { always: { tool_names: approvalRequired }, never: { tool_names: allowedTools.filter((t) => !approvalRequired.includes(t)) } };
    this.agentName = agentName;
    new AzapiDataPlaneResource(this, 'Agent', {
      type: 'Microsoft.Foundry/agents@v1',
      name: agentName,
      parentId: dataPlaneParent,
      body: {
        name: agentName,
        description: 'Manages orders as the signed-in user through the Orders MCP server.',
        definition: {
          kind: 'prompt',
          model: this.modelDeploymentName,
          instructions: agent.instructions ?? DEFAULT_INSTRUCTIONS,
          tools: [{
            type: 'mcp',
            server_label: serverLabel,
            server_url: props.mcpUrl,
            allowed_tools: allowedTools,
            require_approval: requireApproval,
            project_connection_id: this.mcpConnectionName,
          }],
        },
      },
      responseExportValues: ['versions.latest.version'],
      retry: {
        // Role propagation after the assignment above, and a project that is not ready yet.
        errorMessageRegex: ['PermissionDenied', 'Unauthorized', 'AuthorizationFailed', 'authorization', 'context deadline exceeded', 'Project not found', 'ProjectNotFound'],
        intervalSeconds: 30,
        maxIntervalSeconds: 180,
      },
      dependsOn: [connection, deployerRole, ...(deployment ? [deployment] : [])],
    });
  }

  /** The agent users' role on the project, for the named principals and the new group; a warning when there are none. */
  private grantAgentUsers(props: FoundryProps, accountResourceGroupId: string): { principalIds: string[]; groupObjectId?: string } {
    const users = props.agentUsers ?? {};
    const owner = 'Foundry';
    if (!users.createGroup) {
      for (const [key, value] of Object.entries({ groupDisplayName: users.groupDisplayName, groupMembers: users.groupMembers })) {
        if (value !== undefined) throw new Error(`${owner}: agentUsers.${key} configures the new group; set agentUsers.createGroup to true.`);
      }
    }
    const { placement } = props;
    const principals: Array<[string, string]> = [];
    const group = users.createGroup
      ? new AgentUsersGroup(this, 'AgentUsers', { displayName: users.groupDisplayName ?? `${placement.baseName} agent users`, members: users.groupMembers })
      : undefined;
    if (group) principals.push(['Group', group.objectId]);
    // Literal ids name the assignment, so adding or removing one leaves the others in state.
    (users.principalIds ?? []).forEach((id, index) => principals.push([Token.isUnresolved(id) ? String(index) : id, id]));

    const nobody = principals.length === 0
      ? 'foundry.agentUsers names nobody'
      : users.createGroup && (users.groupMembers ?? []).length === 0 && principals.length === 1
        ? 'the new agent users\' group has no members yet'
        : undefined;
    if (nobody !== undefined) {
      Annotations.of(this).addWarning(`Foundry: ${nobody}, so nobody but the deployer can chat with the agent (everyone else gets 403). `
        + 'Set foundry.agentUsers.principalIds, or agentUsers.createGroup with groupMembers (or add members to the group in Entra).');
    }
    if (principals.length === 0) return { principalIds: [] };

    const role = users.role ?? AgentUserRole.AGENT_RUNNER;
    let roleId: string;
    if (role === AgentUserRole.AGENT_RUNNER) {
      // A custom role must be assignable where it is used: the account's resource group holds the project.
      const runner = new RoleDefinition(this, 'AgentRunnerRole', {
        name: `Agent runner (${placement.baseName}-${placement.uniqueSuffix})`,
        description: 'Runs the agents of a Foundry project with the caller\'s own token; cannot delete agents or use other project data.',
        scope: accountResourceGroupId,
        assignableScopes: [accountResourceGroupId],
        permissions: [{ actions: [], dataActions: AGENT_RUNNER_DATA_ACTIONS, notDataActions: [`${AISERVICES}/agents/delete`] }],
      });
      roleId = runner.roleDefinitionResourceId;
    } else {
      roleId = roleDefinitionId(placement.resourceGroupId, role === AgentUserRole.FOUNDRY_USER ? ROLE.foundryUser : ROLE.foundryAgentConsumer);
    }
    for (const [key, principalId] of principals) {
      new RoleAssignment(this, `AgentUser-${key}`, {
        scope: this.projectId,
        roleDefinitionId: roleId,
        principalId,
        description: 'Runs the agent with the user\'s own token.',
      });
    }
    return { principalIds: principals.map(([, id]) => id), groupObjectId: group?.objectId };
  }

  /**
   * Adds the `ApiManagement` project connection through which Foundry reaches models via
   * the gateway's `/openai` AI gateway (Entra ID auth).
   */
  public connectApiManagement(gateway: FoundryApiManagementConnection): void {
    new AzapiResource(this, 'ApiManagementConnection', {
      type: CONNECTIONS_TYPE,
      name: gateway.name ?? 'apim-gateway',
      parentId: this.projectId,
      // Validated (azapi's default): this body passes the embedded schema of its api-version
      // (authType AAD is a modelled variant, category an open string, metadata a string map).
      body: {
        properties: {
          category: 'ApiManagement',
          authType: 'AAD',
          target: `${gateway.gatewayUrl}/openai`,
          isSharedToAll: true,
          metadata: { ResourceId: gateway.apiManagementId, ApiType: 'azure' },
        },
      },
      ...connectionFaultHandling(),
      dependsOn: this.projectDependency ? [this.projectDependency] : undefined,
    });
  }
}

/**
 * Connection PUTs answer bare 500s now and then, and fail while a new project settles;
 * deletes can meet 412 without If-Match (azure-facts §6).
 */
function connectionFaultHandling() {
  return {
    retry: {
      errorMessageRegex: ['InternalServerError', 'Internal Server Error', 'StatusCode=500', 'ParentResourceNotFound', 'ResourceNotFound', 'Project not found', 'IfMatchPreconditionFailed'],
      intervalSeconds: 15,
      maxIntervalSeconds: 120,
    },
    deleteHeaders: { 'If-Match': '*' },
  };
}
