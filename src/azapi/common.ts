/**
 * Retry of an azapi request whose error message matches one of the patterns
 * (for example role propagation delays or a service answering 500 while it settles).
 */
export interface AzapiRetry {
  /** Regular expressions matched against the error message; a match retries the request. */
  readonly errorMessageRegex: string[];
  /**
   * Seconds before the first retry.
   * @default - provider default (10)
   */
  readonly intervalSeconds?: number;
  /**
   * Upper bound of the back-off interval in seconds.
   * @default - provider default (180)
   */
  readonly maxIntervalSeconds?: number;
  /**
   * Factor by which the interval grows.
   * @default - provider default (1.5)
   */
  readonly multiplier?: number;
  /**
   * Randomization applied to each interval (0 to 1).
   * @default - provider default (0.5)
   */
  readonly randomizationFactor?: number;
}

/** Operation timeouts, as Terraform durations such as `30m`. */
export interface AzapiTimeouts {
  /** @default - provider default (30m) */
  readonly create?: string;
  /** @default - provider default (5m) */
  readonly read?: string;
  /** @default - provider default (30m) */
  readonly update?: string;
  /** @default - provider default (30m) */
  readonly delete?: string;
}

/** Arguments shared by `azapi_resource` and `azapi_data_plane_resource`. */
export interface AzapiCommonProps {
  /** Resource type and API version, `<type>@<api-version>`, e.g. `Microsoft.CognitiveServices/accounts/projects/connections@2025-04-01-preview`. */
  readonly type: string;
  /** Request body as a JSON object; it is passed to azapi as a dynamic value, keys verbatim. */
  readonly body?: { [key: string]: any };
  /**
   * Paths of the response exposed under `output`, e.g. `['properties.endpoint']`.
   * @default - nothing exported
   */
  readonly responseExportValues?: string[];
  /**
   * Retry on matching errors.
   * @default - no retry
   */
  readonly retry?: AzapiRetry;
  /**
   * Compare property values case-insensitively when planning.
   * @default - provider default (false)
   */
  readonly ignoreCasing?: boolean;
  /**
   * Ignore properties the service does not return (write-only values such as secrets).
   * @default - provider default (false)
   */
  readonly ignoreMissingProperty?: boolean;
  /**
   * Values that force replacement when they change.
   * @default - none
   */
  readonly replaceTriggersExternalValues?: any;
  /**
   * Mutex names: resources sharing a lock name are changed one at a time.
   * @default - none
   */
  readonly locks?: string[];
  /** @default - none */
  readonly createHeaders?: { [name: string]: string };
  /** @default - none */
  readonly createQueryParameters?: { [name: string]: string[] };
  /** @default - none */
  readonly readHeaders?: { [name: string]: string };
  /** @default - none */
  readonly readQueryParameters?: { [name: string]: string[] };
  /** @default - none */
  readonly updateHeaders?: { [name: string]: string };
  /** @default - none */
  readonly updateQueryParameters?: { [name: string]: string[] };
  /** @default - none */
  readonly deleteHeaders?: { [name: string]: string };
  /** @default - none */
  readonly deleteQueryParameters?: { [name: string]: string[] };
  /**
   * Operation timeouts.
   * @default - provider defaults
   */
  readonly timeouts?: AzapiTimeouts;
}

export function commonAttributes(props: AzapiCommonProps): { [k: string]: unknown } {
  return {
    type: props.type,
    body: props.body,
    response_export_values: props.responseExportValues,
    retry: props.retry && {
      error_message_regex: props.retry.errorMessageRegex,
      interval_seconds: props.retry.intervalSeconds,
      max_interval_seconds: props.retry.maxIntervalSeconds,
      multiplier: props.retry.multiplier,
      randomization_factor: props.retry.randomizationFactor,
    },
    ignore_casing: props.ignoreCasing,
    ignore_missing_property: props.ignoreMissingProperty,
    replace_triggers_external_values: props.replaceTriggersExternalValues,
    locks: props.locks,
    create_headers: props.createHeaders,
    create_query_parameters: props.createQueryParameters,
    read_headers: props.readHeaders,
    read_query_parameters: props.readQueryParameters,
    update_headers: props.updateHeaders,
    update_query_parameters: props.updateQueryParameters,
    delete_headers: props.deleteHeaders,
    delete_query_parameters: props.deleteQueryParameters,
    timeouts: props.timeouts,
  };
}
