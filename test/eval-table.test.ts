/** The Table-1 summary: bold best, underlined second, direction per metric, ties, references, NaN. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatValue, markdownTable, meanRows, rankColumn } from '../src/eval/table.js';

test('rankColumn: higher/lower is better, ties share a mark, unranked rows and NaN get none', () => {
  assert.deepEqual(rankColumn([1, 3, 2], [true, true, true], true), [null, 'best', 'second']);
  assert.deepEqual(rankColumn([1, 3, 2], [true, true, true], false), ['best', null, 'second']);
  // 6.7121 and 6.7124 print as 6.712: same mark.
  assert.deepEqual(rankColumn([6.7121, 6.7124, 5], [true, true, true], true), ['best', 'best', 'second']);
  assert.deepEqual(rankColumn([9, 3, 2], [false, true, true], true), [null, 'best', 'second']);
  assert.deepEqual(rankColumn([NaN, 3, 2], [true, true, true], true), [null, 'best', 'second']);
  assert.deepEqual(rankColumn([Infinity, 3], [true, true], true), ['best', 'second']);
  assert.deepEqual(rankColumn([4], [true], true), ['best']);
});

test('markdownTable: header arrows, bold/underline per column, MSE lower is better, source rows unranked', () => {
  const rows = [
    { method: 'IR', reference: true, means: { EN: 9, MSE: 0 } },
    { method: 'A', reference: false, means: { EN: 6.5, MSE: 100.25 } },
    { method: 'B', reference: false, means: { EN: 7.25, MSE: 300 } },
    { method: 'C', reference: false, means: { EN: 7, MSE: 200 } },
  ];
  const lines = markdownTable(rows, ['EN', 'MSE']).split('\n');
  assert.deepEqual(lines, [
    '| Method | EN ↑ | MSE ↓ |',
    '|---|---:|---:|',
    '| IR (source) | 9.000 | 0.000 |',
    '| A | 6.500 | **100.250** |',
    '| B | **7.250** | 300.000 |',
    '| C | <u>7.000</u> | <u>200.000</u> |',
  ]);
});

test('meanRows and formatValue', () => {
  assert.deepEqual(meanRows([{ EN: 1, SD: 2 }, { EN: 2, SD: 5 }], ['EN', 'SD']), { EN: 1.5, SD: 3.5 });
  assert.equal(meanRows([{ PSNR: Infinity }, { PSNR: 3 }], ['PSNR']).PSNR, Infinity);
  assert.equal(formatValue(1.23456), '1.235');
  assert.equal(formatValue(NaN), 'nan');
  assert.equal(formatValue(-Infinity), '-inf');
});
