export * from './types';
export * from './security-checks';
