export * from './resource-group';
