import { describe, expect, it } from 'vitest';
import { parseTablePattern, splitTablePatterns } from './table-pattern.js';

describe('parseTablePattern', () => {
  it('matches each part on its own, case-sensitively, globs within a part only', () => {
    const p = parseTablePattern('shop.T*')!;
    expect(p.matches('shop', 'Tup')).toBe(true);
    expect(p.matches('shop', 'tup')).toBe(false);
    expect(p.matches('Shop', 'Tup')).toBe(false);
    expect(p.matchesSchema('shop')).toBe(true);
    const dotted = parseTablePattern('a.*')!;
    expect(dotted.matches('a', 'b.c')).toBe(true);
    expect(dotted.matches('a.b', 'c')).toBe(false);
  });

  it('reads backtick-quoted parts literally', () => {
    const p = parseTablePattern('`a.b`.`c*`')!;
    expect(p.matches('a.b', 'c*')).toBe(true);
    expect(p.matches('a.b', 'cd')).toBe(false);
    expect(p.matches('a', 'b.c*')).toBe(false);
  });

  it('is null for anything but two parts', () => {
    for (const written of ['a.b.c', 'shop', '*', 'a.', '`a.b`']) expect(parseTablePattern(written), written).toBeNull();
  });
});

describe('splitTablePatterns', () => {
  it('splits at commas outside backticks and drops empty entries', () => {
    expect(splitTablePatterns(' shop.*, `a,b`.`c``,d`,,x.y ')).toEqual(['shop.*', '`a,b`.`c``,d`', 'x.y']);
  });
});
