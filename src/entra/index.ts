export * from './spa';
export * from './agent-users';
