// First (imports run in order, before this module's body): the modules loaded after it are
// compiled through the project's compile cache.
import './internal/compile-cache-on';

export * from './identity-propagating-agent';
export * from './stack';
export * from './placement';
export * from './resource-group';
export * from './monitoring';
export * from './azapi';
export * from './storage';
export * from './registry';
export * from './container-apps';
export * from './entra';
export * from './foundry';
export * from './gateway';
export * from './guard';
export * from './orders-api-access';
