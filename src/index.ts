export * from './stack';
export * from './placement';
export * from './resource-group';
export * from './monitoring';
export * from './azapi';
export * from './guard';
