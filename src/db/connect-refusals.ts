/**
 * Server refusals at connect that no retry cures: access denied (1045, 1698), no access to the
 * database (1044), an unknown database (1049), a host not allowed (1130) or blocked (1129), an
 * authentication method the driver lacks (1251). A caller that retries DB_CONNECT on `retryable`
 * would otherwise loop on a wrong password.
 */
const REFUSED_AT_CONNECT: ReadonlySet<number> = new Set([1044, 1045, 1049, 1129, 1130, 1251, 1698]);

/** Whether a failed connect's error (the driver's) is a refusal no retry cures; false when it carries no server errno. */
export function refusedAtConnect(e: unknown): boolean {
  const errno = (e as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' && REFUSED_AT_CONNECT.has(errno);
}
