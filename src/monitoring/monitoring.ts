import { ApplicationInsights } from '@cdktf/provider-azurerm/lib/application-insights';
import { LogAnalyticsWorkspace } from '@cdktf/provider-azurerm/lib/log-analytics-workspace';
import { Construct } from 'constructs';
import { checkPlacement } from '../internal/azure-values';
import { rejectTogether, requireRange } from '../internal/validation';
import { Placement } from '../placement';

/** Monitoring options of the stack. */
export interface MonitoringOptions {
  /**
   * Resource id of an existing Log Analytics workspace to send logs to.
   * @default - a new workspace `log-<baseName>` is created
   */
  readonly existingLogAnalyticsWorkspaceId?: string;
  /**
   * Retention of a new workspace, in days (30 to 730).
   * @default 30
   */
  readonly retentionInDays?: number;
  /**
   * Daily ingestion cap of a new workspace, in GB.
   * @default - no cap
   */
  readonly dailyQuotaGb?: number;
  /**
   * Percentage of telemetry Application Insights keeps (0 to 100).
   * @default 100
   */
  readonly samplingPercentage?: number;
}

/** Props of {@link Monitoring}. */
export interface MonitoringProps extends MonitoringOptions {
  /** Where the resources go. */
  readonly placement: Placement;
}

/**
 * Log Analytics workspace (new or existing) and a workspace-based Application Insights
 * that the services' OpenTelemetry, Container Apps, APIM and Foundry diagnostics write to.
 */
export class Monitoring extends Construct {
  /** Resource id of the Log Analytics workspace. */
  public readonly logAnalyticsWorkspaceId: string;
  /** Resource id of Application Insights. */
  public readonly applicationInsightsId: string;
  /** Application Insights connection string (sensitive: pass it as a secret). */
  public readonly applicationInsightsConnectionString: string;
  /** Application Insights instrumentation key (sensitive). */
  public readonly applicationInsightsInstrumentationKey: string;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const owner = 'Monitoring';
    checkPlacement(owner, props.placement);
    rejectTogether(owner, { existingLogAnalyticsWorkspaceId: props.existingLogAnalyticsWorkspaceId, retentionInDays: props.retentionInDays },
      'retention is a setting of a new workspace; set it on your existing workspace instead.');
    rejectTogether(owner, { existingLogAnalyticsWorkspaceId: props.existingLogAnalyticsWorkspaceId, dailyQuotaGb: props.dailyQuotaGb },
      'the daily quota is a setting of a new workspace; set it on your existing workspace instead.');
    requireRange(owner, 'retentionInDays', props.retentionInDays, 30, 730);
    requireRange(owner, 'samplingPercentage', props.samplingPercentage, 0, 100);
    const { placement } = props;

    if (props.existingLogAnalyticsWorkspaceId !== undefined) {
      this.logAnalyticsWorkspaceId = props.existingLogAnalyticsWorkspaceId;
    } else {
      const workspace = new LogAnalyticsWorkspace(this, 'Workspace', {
        name: `log-${placement.baseName}`,
        location: placement.location,
        resourceGroupName: placement.resourceGroupName,
        sku: 'PerGB2018',
        retentionInDays: props.retentionInDays ?? 30,
        dailyQuotaGb: props.dailyQuotaGb,
        tags: placement.tags,
      });
      this.logAnalyticsWorkspaceId = workspace.id;
    }

    const applicationInsights = new ApplicationInsights(this, 'ApplicationInsights', {
      name: `appi-${placement.baseName}`,
      location: placement.location,
      resourceGroupName: placement.resourceGroupName,
      applicationType: 'web',
      workspaceId: this.logAnalyticsWorkspaceId,
      samplingPercentage: props.samplingPercentage,
      tags: placement.tags,
    });
    this.applicationInsightsId = applicationInsights.id;
    this.applicationInsightsConnectionString = applicationInsights.connectionString;
    this.applicationInsightsInstrumentationKey = applicationInsights.instrumentationKey;
  }
}
