/**
 * TLS to the DR and to a live source, as the mysql client names it: `--ssl-mode`
 * DISABLED | PREFERRED | REQUIRED | VERIFY_CA | VERIFY_IDENTITY, with `--ssl-ca`, `--ssl-cert` and
 * `--ssl-key` files. PREFERRED, the default, encrypts whenever the server offers TLS and falls back
 * to a plain connection when it does not, without checking the certificate (what the mysql client
 * does); REQUIRED insists on TLS; VERIFY_CA also checks the server's certificate against the CA;
 * VERIFY_IDENTITY also checks that the certificate names the host connected to.
 *
 * Files are named in the settings and read when a connection opens, so a private key's contents
 * never sit in an object that could be printed.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { EngineError } from '../errors.js';

/** The modes, in order of strength. */
export const TLS_MODES = ['DISABLED', 'PREFERRED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

/** How a connection uses TLS; every file is a path to a PEM file. */
export interface TlsSettings {
  readonly mode: TlsMode;
  /** The CA certificate(s) the server's certificate must chain to (VERIFY_CA, VERIFY_IDENTITY). */
  readonly ca?: string;
  /** A client certificate and its key, for accounts that REQUIRE X509 / SUBJECT. */
  readonly cert?: string;
  readonly key?: string;
  /**
   * The prefix of the command-line flags these settings came from (`--source-` for
   * `--source-ssl-mode` …), so a failure names the flag to change; `--` (the DR's) when absent.
   */
  readonly flagPrefix?: string;
}

/** Stable codes of TLS failures. */
export const TlsErrorCode = {
  /** A TLS option names a file that cannot be read. */
  BadFile: 'TLS_BAD_FILE',
  /** Options that do not go together (a mode without TLS given a CA; a verifying mode without one). */
  BadOption: 'TLS_BAD_OPTION',
} as const;
export type TlsErrorCode = (typeof TlsErrorCode)[keyof typeof TlsErrorCode];

export class TlsError extends EngineError {}

/** The socket options a driver connection takes (mysql2's and zongji's `ssl`): PEM contents, and what to verify. */
export interface TlsSocketOptions {
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Check the certificate chain against `ca` (or the system's CAs). */
  readonly rejectUnauthorized: boolean;
  /** Also check the host name (or IP) against the certificate. */
  readonly verifyIdentity: boolean;
}

/** Whether `text` is a mode name (case-insensitive, as the mysql client takes it). */
export function parseTlsMode(text: string): TlsMode | undefined {
  const upper = text.trim().toUpperCase();
  return (TLS_MODES as readonly string[]).includes(upper) ? (upper as TlsMode) : undefined;
}

/**
 * Checks that the settings go together and that each file can be read (the option's name in the
 * error: `--ssl-ca`, or `--source-ssl-ca` with prefix `--source-`).
 */
export function checkTlsSettings(settings: TlsSettings, prefix = '--'): void {
  const { mode } = settings;
  if ((mode === 'VERIFY_CA' || mode === 'VERIFY_IDENTITY') && settings.ca === undefined) {
    throw new TlsError(TlsErrorCode.BadOption, `${prefix}ssl-mode ${mode} checks the server's certificate against a CA: give it with ${prefix}ssl-ca FILE`, { option: `${prefix}ssl-ca` });
  }
  if (mode === 'DISABLED' && (settings.ca !== undefined || settings.cert !== undefined || settings.key !== undefined)) {
    throw new TlsError(TlsErrorCode.BadOption, `${prefix}ssl-mode DISABLED turns TLS off: leave out ${prefix}ssl-ca, ${prefix}ssl-cert and ${prefix}ssl-key, or choose another mode`, { option: `${prefix}ssl-mode` });
  }
  if ((settings.cert === undefined) !== (settings.key === undefined)) {
    throw new TlsError(TlsErrorCode.BadOption, `a client certificate needs its key: give both ${prefix}ssl-cert and ${prefix}ssl-key`, { option: `${prefix}ssl-${settings.cert === undefined ? 'cert' : 'key'}` });
  }
  for (const [name, path] of [['ca', settings.ca], ['cert', settings.cert], ['key', settings.key]] as const) {
    if (path !== undefined) readPem(path, `${prefix}ssl-${name}`);
  }
}

/**
 * The driver's socket options for `settings` (default PREFERRED), or null for a plain connection.
 * `offered` is whether the server offers TLS, when the caller knows it (PREFERRED then encrypts
 * only if it does); unknown, PREFERRED asks for TLS and the caller falls back when the server has none.
 *
 * `host`: for an IP address the driver's own identity check is left off, because mysql2 checks an
 * IP host against the name "localhost" (it passes no servername for IPs, and Node falls back to
 * it); the caller checks the IP itself (sql-session.ts), or relies on the CA check (a dump
 * connection, whose control session on the same host:port had its identity checked).
 */
export function tlsSocketOptions(settings: TlsSettings | undefined, offered?: boolean, host?: string): TlsSocketOptions | null {
  const mode = settings?.mode ?? 'PREFERRED';
  if (mode === 'DISABLED' || (mode === 'PREFERRED' && offered === false)) return null;
  const verify = mode === 'VERIFY_CA' || mode === 'VERIFY_IDENTITY';
  return {
    ...(settings?.ca === undefined ? {} : { ca: readPem(settings.ca, `${flags(settings)}ssl-ca`) }),
    ...(settings?.cert === undefined ? {} : { cert: readPem(settings.cert, `${flags(settings)}ssl-cert`) }),
    ...(settings?.key === undefined ? {} : { key: readPem(settings.key, `${flags(settings)}ssl-key`) }),
    rejectUnauthorized: verify,
    verifyIdentity: mode === 'VERIFY_IDENTITY' && (host === undefined || isIP(host) === 0),
  };
}

/** Whether a failed connect with these settings may be tried again without TLS (PREFERRED, and the server offered none). */
export function mayFallBackToPlain(settings: TlsSettings | undefined, driverCode: string | undefined): boolean {
  return (settings?.mode ?? 'PREFERRED') === 'PREFERRED' && driverCode === 'HANDSHAKE_NO_SSL_SUPPORT';
}

/**
 * What a TLS handshake failure means, for the person who reads it; null when `driverCode` is not
 * one. The driver's codes: HANDSHAKE_NO_SSL_SUPPORT (the server offers no TLS), HANDSHAKE_SSL_ERROR
 * (the handshake or the certificate check failed; Node's reason is in the message).
 */
export function describeTlsFailure(settings: TlsSettings | undefined, driverCode: string | undefined, reason: string): string | null {
  const mode = settings?.mode ?? 'PREFERRED';
  const f = flags(settings);
  if (driverCode === 'HANDSHAKE_NO_SSL_SUPPORT') {
    return `the server offers no TLS (have_ssl is not YES) and ${f}ssl-mode is ${mode}: configure ssl_cert and ssl_key on the server, or connect with ${f}ssl-mode PREFERRED or DISABLED`;
  }
  if (driverCode !== 'HANDSHAKE_SSL_ERROR') return null;
  if (/certificate|self[- ]signed|issuer|verify|Hostname|IP: .* is not in the cert/i.test(reason)) {
    const what = /Hostname|IP: .* is not in the cert|altnames/i.test(reason)
      ? `the server's certificate does not name the host connected to (${f}ssl-mode VERIFY_IDENTITY): connect by a name the certificate holds, or use VERIFY_CA`
      : `the server's certificate is not signed by the CA in ${f}ssl-ca${settings?.ca === undefined ? '' : ` (${settings.ca})`} (${f}ssl-mode ${mode}): give the CA that signed the server's certificate`;
    return `TLS: ${what}; ${reason}`;
  }
  return `TLS handshake failed (${f}ssl-mode ${mode}): ${reason}`;
}

/** The flags' prefix settings came from, for messages: the DR's (`--ssl-…`) unless they say otherwise. */
function flags(settings: TlsSettings | undefined): string {
  return settings?.flagPrefix ?? '--';
}

function readPem(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new TlsError(TlsErrorCode.BadFile, `${option}: cannot read ${path}: ${(e as Error).message}`, { option, file: path }, { cause: e });
  }
}
