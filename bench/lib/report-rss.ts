/**
 * Preloaded (`node --import report-rss.js …`) into a Node child when GNU time is missing:
 * on exit it writes the process's peak RSS in KiB to the file named by BENCH_RSS_FILE.
 */
import { writeFileSync } from 'node:fs';

const target = process.env['BENCH_RSS_FILE'];
if (target !== undefined) {
  process.on('exit', () => {
    writeFileSync(target, String(process.resourceUsage().maxRSS));
  });
}
