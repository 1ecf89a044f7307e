export * from './environment';
export * from './identities';
export * from './apps';
