// The browserless sign-in moved to lib-services/local/sign-in.ts (verify and `npm run local:token` use it too).
export * from '../../lib-services/local/sign-in';
