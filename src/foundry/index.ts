export * from './foundry';
