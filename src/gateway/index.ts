export * from './gateway';
export * from './gateway-proof';
