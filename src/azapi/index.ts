export * from './base';
export * from './common';
export * from './provider';
export * from './resource';
export * from './data-plane-resource';
