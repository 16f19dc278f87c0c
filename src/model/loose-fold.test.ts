import { describe, expect, it } from 'vitest';
import { looseFold, looseFolder } from './loose-fold.js';

describe('looseFold', () => {
  it('folds alike what collations equate: case, accents, ß and ss, æ, trailing spaces', () => {
    for (const [a, b] of [['josé@x', 'JOSE@x'], ['straße', 'STRASSE'], ['straße', 'strase'], ['Æsir ', 'aesir'], ['Øre', 'ore']]) expect(looseFold(a)).toBe(looseFold(b));
  });

  it('keeps apart different letters, types and NULL', () => {
    expect(looseFold('jose@x')).not.toBe(looseFold('josh@x'));
    expect(looseFold('1')).not.toBe(looseFold(1));
    expect(looseFold(null)).not.toBe(looseFold(''));
    expect(looseFold(Buffer.from('ab'))).not.toBe(looseFold('ab'));
  });
});

describe('looseFolder', () => {
  it('gives the exact fold for a measured collation, where looseFold is not looser than it', () => {
    expect(looseFold('😀')).not.toBe(looseFold('🙂'));
    expect(looseFolder('utf8mb4_general_ci')('😀')).toBe(looseFolder('utf8mb4_general_ci')('🙂'));
    expect(looseFolder('latin1_swedish_ci')('Æ')).toBe(looseFolder('latin1_swedish_ci')('ä'));
    expect(looseFolder('utf8mb4_general_ci')('1')).not.toBe(looseFolder('utf8mb4_general_ci')(1));
  });

  it('is looseFold for the others', () => {
    expect(looseFolder('utf8mb4_uca1400_ai_ci')).toBe(looseFold);
    expect(looseFolder(null)).toBe(looseFold);
  });
});
