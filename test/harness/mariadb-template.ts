/**
 * The cached template data directory (src/demo/mariadb-template.ts), for this process and the
 * programs on its PATH.
 */
import { processAlive as alive } from '../../src/demo/host-process.js';
import { mariadbTemplateDir as templateFor } from '../../src/demo/mariadb-template.js';
import { harnessBinaries } from './mariadb-binaries.js';

export { TEMPLATE_LOG_FILE_SIZE } from '../../src/demo/mariadb-template.js';

/** Path of the ready template data directory (built on first use, then cached per process and per machine). */
export function mariadbTemplateDir(): Promise<string> {
  return templateFor(harnessBinaries(), process);
}

/** True when `pid` names a live process (EPERM still means it exists). */
export function processAlive(pid: number): boolean {
  return alive(process, pid);
}
