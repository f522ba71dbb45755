import { Router } from 'express';
import type { Container } from '../container.js';

export function healthRoutes(c: Container): Router {
  const r = Router();
  r.get('/healthz', async (_req, res) => {
    try {
      await c.db.raw('select 1');
      res.json({ status: 'ok' });
    } catch {
      res.status(503).json({ status: 'unavailable' });
    }
  });
  return r;
}
