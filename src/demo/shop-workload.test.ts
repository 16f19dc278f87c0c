import { describe, expect, it } from 'vitest';
import { DEMO_SEED, planShopWorkload } from './shop-workload.js';

describe('planShopWorkload', () => {
  it('plans the demo seed to exact counts', () => {
    const w = planShopWorkload();
    expect(w.seed).toBe(DEMO_SEED);
    expect(w.transactions.length).toBe(37);
    expect(w.rotateBefore).toBe(18);
    expect(w.counts).toEqual({
      'shop.customers': { inserts: 17, updates: 3, deletes: 2, transactions: 17 },
      'shop.orders': { inserts: 15, updates: 15, deletes: 1, transactions: 25 },
    });
    // The last transaction (two order inserts and a payment) is the one the demo's cut removes.
    expect(w.countsBeforeLast).toEqual({
      'shop.customers': { inserts: 17, updates: 3, deletes: 2, transactions: 17 },
      'shop.orders': { inserts: 13, updates: 14, deletes: 1, transactions: 24 },
    });
    expect(w.transactions.at(-1)?.label).toBe('customer 1 places orders 14 and 15 and pays the first');
    expect(w.inFlight.label).toBe('customer 8 places order 16');
  });

  it('is a pure function of the seed', () => {
    expect(planShopWorkload(7)).toEqual(planShopWorkload(7));
    expect(planShopWorkload(7)).not.toEqual(planShopWorkload(8));
  });

  it('predicts consecutive AUTO_INCREMENT ids and changes at least one row per statement', () => {
    for (const seed of [1, 2, 3, DEMO_SEED]) {
      const w = planShopWorkload(seed);
      const ids = { customers: [] as number[], orders: [] as number[] };
      for (const tx of w.transactions) {
        for (const s of tx.statements) {
          expect(s.expectRows).toBeGreaterThan(0);
          if (s.expectInsertId === undefined) continue;
          (s.sql.includes('shop.customers') ? ids.customers : ids.orders).push(s.expectInsertId);
        }
      }
      expect(ids.orders).toEqual(ids.orders.map((_, i) => i + 1));
      expect(ids.customers[0]).toBe(1);
    }
  });
});
