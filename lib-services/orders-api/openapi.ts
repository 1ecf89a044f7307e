/** The OpenAPI 3.1 document, generated from the zod schemas (API Management imports it at synth). */
import { z } from 'zod';
import { ApiError, CreateOrderRequest, Health, Order, UpdateOrderRequest, orderIdSchema } from './schemas.js';

export const API_TITLE = 'Orders API';
export const API_VERSION = '2.0.0';

type JsonSchema = Record<string, unknown>;

function schema(s: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(s, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref(name) } });
const errorResponse = (description: string) => ({ description, content: json('Error') });
const etagHeader = { ETag: { description: 'Strong entity tag of this version; send it in If-Match', schema: { type: 'string' } } };
const orderIdParam = { name: 'id', in: 'path', required: true, schema: schema(orderIdSchema, 'input') };
const ifMatchParam = {
  name: 'If-Match',
  in: 'header',
  required: false,
  schema: { type: 'string' },
  description: 'ETag from a previous read; the change is refused with 412 if the order changed since',
};
const authErrors = {
  401: errorResponse('Missing or invalid bearer token (see the WWW-Authenticate challenge)'),
  403: errorResponse('The token lacks a required scope'),
};

export interface OpenApiOptions {
  /** Base URL to list in `servers` (omitted when undefined). */
  serverUrl?: string;
}

export function buildOpenApiDocument(options: OpenApiOptions = {}): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: API_TITLE,
      version: API_VERSION,
      description: 'Orders of the signed-in user. Every call acts as the caller (Entra ID bearer token); '
        + 'an owner sees and changes only their own orders.',
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    security: [{ bearer: [] }],
    paths: {
      '/health': {
        get: {
          operationId: 'health',
          summary: 'Liveness',
          security: [],
          responses: { 200: { description: 'Healthy', content: json('Health') } },
        },
      },
      '/orders': {
        get: {
          operationId: 'listOrders',
          summary: 'List the caller\'s orders (all orders for an admin)',
          responses: { 200: { description: 'Orders', content: { 'application/json': { schema: { type: 'array', items: ref('Order') } } } }, ...authErrors },
        },
        post: {
          operationId: 'createOrder',
          summary: 'Create an order owned by the caller',
          requestBody: { required: true, content: json('CreateOrderRequest') },
          responses: {
            201: { description: 'Created', headers: etagHeader, content: json('Order') },
            400: errorResponse('Invalid input (the message names the field)'),
            ...authErrors,
            413: errorResponse('Body over 64 KiB'),
          },
        },
      },
      '/orders/{id}': {
        parameters: [orderIdParam],
        get: {
          operationId: 'getOrder',
          summary: 'Get one of the caller\'s orders',
          responses: { 200: { description: 'The order', headers: etagHeader, content: json('Order') }, ...authErrors, 404: errorResponse('Absent or not the caller\'s') },
        },
        put: {
          operationId: 'updateOrder',
          summary: 'Change some fields of one of the caller\'s orders',
          parameters: [ifMatchParam],
          requestBody: { required: true, content: json('UpdateOrderRequest') },
          responses: {
            200: { description: 'The updated order', headers: etagHeader, content: json('Order') },
            400: errorResponse('Invalid input or no known field'),
            ...authErrors,
            404: errorResponse('Absent or not the caller\'s'),
            412: errorResponse('If-Match is stale'),
            413: errorResponse('Body over 64 KiB'),
          },
        },
        delete: {
          operationId: 'deleteOrder',
          summary: 'Delete one of the caller\'s orders',
          parameters: [ifMatchParam],
          responses: {
            204: { description: 'Deleted' }, ...authErrors, 404: errorResponse('Absent or not the caller\'s'), 412: errorResponse('If-Match is stale'),
          },
        },
      },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Entra ID access token of the signed-in user' } },
      schemas: {
        Order: schema(Order, 'output'),
        CreateOrderRequest: schema(CreateOrderRequest, 'input'),
        UpdateOrderRequest: { ...schema(UpdateOrderRequest, 'input'), minProperties: 1 },
        Error: schema(ApiError, 'output'),
        Health: schema(Health, 'output'),
      },
    },
  };
}
