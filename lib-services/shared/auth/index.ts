/** Bearer-token validation shared by the Orders API and the Chat App. Nothing service-specific here. */
export { ConfigError, authSettingsFromEnv, checkAuthUrl, isGuid, listFromEnv, DEFAULT_AUDIENCE, DEFAULT_CLOCK_TOLERANCE_SEC, type AuthSettings } from './config.js';
export {
  AuthError, AuthUnavailableError, createTokenVerifier, ACCEPTED_ALGORITHMS, MAX_TOKEN_LENGTH,
  type AppPrincipal, type AppTokenExpectation, type AppTokenVerifier,
  type AuthErrorCode, type Principal, type TokenVerifier, type TokenVerifierOptions,
} from './verifier.js';
export {
  authFailure, bearerAuth, bearerChallenge, bearerTokenFrom, protectedResourceMetadata, protectedResourceMetadataUrl,
  publicBaseUrl, scopesSupported, type AuthVariables, type BearerAuthOptions, type ProtectedResourceMetadata,
} from './http.js';
