// Floor: bare Hono on @hono/node-server answering BODY (the JSON of GET /orders) on every request.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const orders = JSON.parse(process.env.BODY ?? '[]');
const app = new Hono();
app.get('*', (c) => c.json(orders));
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' }, () => console.log('listening'));
