/** JSON logs with request ids and W3C trace context, shared by both services. */
import { randomBytes, randomUUID } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

/** One JSON object per line to `write` (default stdout). Callers pass fields, never headers or bodies. */
export function createLogger(service: string, write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  const log = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    write(`${JSON.stringify({ time: new Date().toISOString(), level, service, msg, ...fields })}\n`);
  };
  return {
    log,
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
  };
}

export interface RequestContextVariables {
  requestId: string;
  traceId: string;
  spanId: string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Parses a W3C traceparent; undefined when absent or invalid (all-zero ids are invalid). */
export function parseTraceparent(value: string | undefined): { traceId: string; parentId: string; flags: string } | undefined {
  const m = value ? TRACEPARENT.exec(value.trim()) : null;
  if (!m || /^0+$/.test(m[1]) || /^0+$/.test(m[2])) return undefined;
  return { traceId: m[1], parentId: m[2], flags: m[3] };
}

/**
 * Request id (accepted from X-Request-ID when sane, else generated; echoed back), trace context
 * (continues an incoming traceparent, else starts one; the response carries this hop's
 * traceparent), and one access log line per request: path without the query string, no header
 * values, no bodies.
 */
export function requestContext(logger: Logger): MiddlewareHandler<{ Variables: RequestContextVariables }> {
  return createMiddleware<{ Variables: RequestContextVariables }>(async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const parent = parseTraceparent(c.req.header('traceparent'));
    const traceId = parent?.traceId ?? randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    c.set('requestId', requestId);
    c.set('traceId', traceId);
    c.set('spanId', spanId);
    await next();
    c.res.headers.set('X-Request-ID', requestId);
    c.res.headers.set('traceparent', `00-${traceId}-${spanId}-${parent?.flags ?? '01'}`);
    const principal = (c.var as { principal?: { oid: string; tokenId?: string } }).principal;
    const status = c.res.status;
    logger.log(status >= 500 ? 'error' : 'info', 'request', {
      request_id: requestId,
      trace_id: traceId,
      span_id: spanId,
      parent_span_id: parent?.parentId,
      method: c.req.method,
      path: c.req.path,
      status,
      duration_ms: Math.round((performance.now() - started) * 100) / 100,
      caller_oid: principal?.oid,
      // Which token reached the service (its id, never the token): proves passthrough end to end.
      token_id: principal?.tokenId,
    });
  });
}

/**
 * Starts OpenTelemetry export to Application Insights only when a connection string is set.
 * The exporter is loaded lazily so that services without it pay nothing at start-up.
 */
export async function startTelemetry(connectionString: string | undefined, logger: Logger): Promise<boolean> {
  if (!connectionString) return false;
  try {
    const { useAzureMonitor } = await import('@azure/monitor-opentelemetry');
    useAzureMonitor({ azureMonitorExporterOptions: { connectionString } });
    logger.info('telemetry on', { exporter: 'azure-monitor' });
    return true;
  } catch (err) {
    logger.warn('telemetry could not start', { reason: err instanceof Error ? err.message : String(err) });
    return false;
  }
}
