// Floor: bare node:http answering BODY (the JSON of GET /orders) on every request.
import { createServer } from 'node:http';

const orders = JSON.parse(process.env.BODY ?? '[]');
createServer((req, res) => {
  const body = JSON.stringify(orders);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
