// Runs the checks in order, one progress line per check; a check whose prerequisites failed is
// skipped, so the first failure names the hop to fix. Every line it emits is scrubbed of tokens.
import { buildChecks, mcpScopes, userScopes, type Check, type Outcome, type VerifyContext } from './checks';
import type { StackOutputs } from './outputs';
import { JWT_PATTERN, type TokenSource } from './tokens';

export interface VerifyOptions {
  outputs: StackOutputs;
  /** Where the user's token comes from; without one the token checks are skipped. */
  tokenSource?: TokenSource;
  /**
   * Audience-bound mode: where the token for the Orders API's audience comes from (one the agent's
   * client obtained for the user). Without it the direct MCP checks are skipped, saying why: the
   * user's own token source cannot give one the endpoint accepts.
   */
  mcpTokenSource?: TokenSource;
  /** @default 'list my orders' */
  chatMessage?: string;
  /** @default 120000 */
  chatTimeoutMs?: number;
  /** Receives one line per check as it completes. */
  progress?: (line: string) => void;
}

export interface CheckResult extends Outcome {
  id: string;
  hop: string;
  title: string;
  ms: number;
}

export interface VerifyReport {
  ok: boolean;
  /** The first check that failed: the hop to fix first. */
  firstFailure?: CheckResult;
  results: CheckResult[];
  counts: Record<Outcome['status'], number>;
}

const MARK: Record<Outcome['status'], string> = { pass: 'ok  ', fail: 'FAIL', warn: 'warn', skip: 'skip' };

export async function runVerify(options: VerifyOptions): Promise<VerifyReport> {
  const { outputs } = options;
  const secrets = new Set<string>();
  const scrub = (s: string) => {
    let out = s;
    for (const t of secrets) out = out.split(t).join('[token]');
    return out.replace(JWT_PATTERN, '[token]');
  };
  const memo = (source: TokenSource | undefined, scopes: string[]) => {
    if (!source) return undefined;
    let pending: Promise<string> | undefined;
    return () => (pending ??= source.get(scopes).then((t) => { secrets.add(t); return t; }));
  };
  const userToken = memo(options.tokenSource, userScopes(outputs));
  const mcpToken = outputs.mcpAuthMode === 'audience-bound'
    ? memo(options.mcpTokenSource, mcpScopes(outputs))
    : userToken;
  const ctx: VerifyContext = {
    outputs,
    userToken,
    mcpToken,
    chatMessage: options.chatMessage ?? 'list my orders',
    chatTimeoutMs: options.chatTimeoutMs ?? 120_000,
    state: {},
  };

  const checks: Check[] = buildChecks(outputs);
  const results: CheckResult[] = [];
  const byId = new Map<string, CheckResult>();
  for (const [index, check] of checks.entries()) {
    const started = Date.now();
    const blocked = (check.needs ?? []).map((id) => byId.get(id)).find((r) => r && (r.status === 'fail' || r.status === 'skip'));
    let outcome: Outcome;
    const reason = check.skip?.(ctx);
    if (reason) outcome = { status: 'skip', detail: reason };
    else if (blocked) outcome = { status: 'skip', detail: `needs "${blocked.title}", which ${blocked.status === 'fail' ? 'failed' : 'was skipped'}` };
    else outcome = await check.run(ctx);
    const result: CheckResult = {
      id: check.id,
      hop: check.hop,
      title: check.title,
      ...outcome,
      detail: scrub(outcome.detail),
      hint: outcome.hint === undefined ? undefined : scrub(outcome.hint),
      ms: Date.now() - started,
    };
    results.push(result);
    byId.set(check.id, result);
    options.progress?.(scrub(`[${String(index + 1).padStart(2)}/${checks.length}] ${MARK[result.status]} ${result.hop}: ${result.title} (${result.ms} ms)`));
  }
  const counts = { pass: 0, fail: 0, warn: 0, skip: 0 };
  for (const r of results) counts[r.status]++;
  const firstFailure = results.find((r) => r.status === 'fail');
  return { ok: !firstFailure, firstFailure, results, counts };
}
