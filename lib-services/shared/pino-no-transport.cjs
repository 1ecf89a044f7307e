// Stands in for pino's lib/transport.js in the service bundles: transports run in worker threads
// loaded from files the bundle does not ship, so the services log through pino.destination only.
module.exports = function transport() {
  throw new Error('pino transports are not available in the service bundle; log to pino.destination()');
};
