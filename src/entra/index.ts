export * from './spa';
export * from './agent-users';
export * from './orders-api-registration';
