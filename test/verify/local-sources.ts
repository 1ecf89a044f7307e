// Token sources over the real local chain, as verify's --local gets them: the demo user signed in
// as the SPA, and (audience-bound mode) that token exchanged with the agent runtime's credentials.
// Every token handed out is recorded, so a test can prove none reaches verify's output.
import type { LocalChain } from '../../lib-services/local/chain';
import { agentRuntimeCredentials } from '../../lib-services/local/outputs';
import { demoOrdersApiToken, demoUserToken, type DemoTokenRequest } from '../../lib-services/local/token';
import type { TokenSource } from '../../lib-services/verify/tokens';

function signInOf(chain: LocalChain, username: string, scopes: string[]): DemoTokenRequest {
  const { issuer, caCertPath, spaClientId } = chain.oidc;
  return { issuer, caCertPath, spaClientId, chatAppUrl: chain.urls.chatApp, username, scopes };
}

export interface SourceOptions {
  /** Receives every token handed out. */
  issued: string[];
  /** Replaces the scopes verify asks for (a token source that ignores them). */
  scopes?: string[];
  /** Receives the scopes verify asked for. */
  seen?: string[][];
}

/** The demo user's own token, as the SPA gets it. */
export function userSource(chain: LocalChain, username: string, o: SourceOptions): TokenSource {
  return {
    describe: `local sign-in of ${username}`,
    async get(requested) {
      o.seen?.push(requested);
      const token = await demoUserToken(signInOf(chain, username, o.scopes ?? requested));
      o.issued.push(token);
      return token;
    },
  };
}

/** The demo user's token for the Orders API, obtained as the agent runtime obtains it (npm run local:token -- --for orders-api). */
export function ordersApiSource(chain: LocalChain, username: string, o: SourceOptions): TokenSource {
  return {
    describe: `token exchange for ${username}`,
    async get(requested) {
      o.seen?.push(requested);
      const user = signInOf(chain, username, chain.oidc.scopes);
      const token = await demoOrdersApiToken({ user, agentRuntime: agentRuntimeCredentials(chain), scopes: o.scopes ?? requested });
      o.issued.push(token);
      return token;
    },
  };
}
