/**
 * What the throwaway-server code needs from the running process, passed in as a value: only
 * src/cli/ (and the test harness) name the global `process` (DESIGN.md, "Layout"), and each
 * hands it over here. Cleanup that must run when the process ends — a Ctrl-C, an uncaught
 * error, a plain exit — is registered once per host through `onHostExit`.
 */

/** The part of Node's `process` used here; `process` itself satisfies it. */
export type HostProcess = Pick<NodeJS.Process, 'pid' | 'kill' | 'on' | 'off' | 'listenerCount'>;

/** True when `pid` names a live process (EPERM still means it exists). */
export function processAlive(host: HostProcess, pid: number): boolean {
  try {
    host.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

type Task = () => void;

interface HostCleanup {
  readonly tasks: Set<Task>;
}

const byHost = new WeakMap<HostProcess, HostCleanup>();

/**
 * Runs `task` (synchronous, best effort) if the process exits or gets SIGINT/SIGTERM before
 * the returned function is called; calling it unregisters the task without running it.
 */
export function onHostExit(host: HostProcess, task: Task): () => void {
  let entry = byHost.get(host);
  if (entry === undefined) {
    entry = { tasks: new Set() };
    byHost.set(host, entry);
    install(host, entry);
  }
  const tasks = entry.tasks;
  tasks.add(task);
  return () => {
    tasks.delete(task);
  };
}

function install(host: HostProcess, entry: HostCleanup): void {
  const runAll = (): void => {
    const tasks = [...entry.tasks];
    entry.tasks.clear();
    for (const task of tasks) {
      try {
        task();
      } catch {
        // best effort while the process is going away
      }
    }
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    runAll();
    host.off(signal, onSignal);
    // Re-raise so the default action (or other listeners' decision) still ends the process.
    if (host.listenerCount(signal) === 0) host.kill(host.pid, signal);
  };
  host.on('exit', runAll);
  host.on('SIGINT', onSignal);
  host.on('SIGTERM', onSignal);
}
