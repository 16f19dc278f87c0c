import { describe, expect, it } from 'vitest';
import { schemaCandidates } from './table-schema.js';

describe('schemaCandidates', () => {
  it('gives every split a dotted name allows, so the catalog can pick the one that exists', () => {
    expect(schemaCandidates('shop.orders')).toEqual(['shop']);
    expect(schemaCandidates('shop.v2.cust.tbl')).toEqual(['shop', 'shop.v2', 'shop.v2.cust']);
    expect(schemaCandidates('shop.orders.id', 3)).toEqual(['shop']);
    expect(schemaCandidates('shop.v2.kinds.id', 3)).toEqual(['shop', 'shop.v2']);
    expect(schemaCandidates('orders')).toEqual([]);
    expect(schemaCandidates('a.b', 3)).toEqual([]);
  });
});
