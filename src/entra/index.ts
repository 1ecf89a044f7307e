export * from './spa';
