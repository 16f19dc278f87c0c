/**
 * TLS to the DR and to a live source, as the mysql client names it: `--ssl-mode`
 * DISABLED | PREFERRED | REQUIRED | VERIFY_CA | VERIFY_IDENTITY, with `--ssl-ca`, `--ssl-capath`,
 * `--ssl-cert` and `--ssl-key`, `--ssl-cipher`, `--ssl-crl`, `--ssl-crlpath` and `--tls-version`. PREFERRED, the default, encrypts whenever the server offers TLS and falls back
 * to a plain connection when it does not, without checking the certificate (what the mysql client
 * does); REQUIRED insists on TLS; VERIFY_CA also checks the server's certificate against the CA;
 * VERIFY_IDENTITY also checks that the certificate names the host connected to.
 *
 * Files are named in the settings and read when a connection opens, so a private key's contents
 * never sit in an object that could be printed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createSecureContext, type SecureVersion } from 'node:tls';
import { EngineError } from '../errors.js';
import { holdsCrl, parseCrlPem, type RevocationList } from './crl.js';

/** The modes, in order of strength. */
export const TLS_MODES = ['DISABLED', 'PREFERRED', 'REQUIRED', 'VERIFY_CA', 'VERIFY_IDENTITY'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

/** The protocol versions `--tls-version` takes: Node's (tls minVersion/maxVersion), oldest first. */
export const TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const satisfies readonly SecureVersion[];
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/** How a connection uses TLS; every file is a path to a PEM file. */
export interface TlsSettings {
  readonly mode: TlsMode;
  /** The CA certificate(s) the server's certificate must chain to (VERIFY_CA, VERIFY_IDENTITY). */
  readonly ca?: string;
  /** A directory of CA certificates: every PEM certificate in its files is trusted, with `ca`'s. */
  readonly capath?: string;
  /** The cipher list offered (OpenSSL names; TLS_… for TLSv1.3 suites): Node's tls `ciphers`. */
  readonly cipher?: string;
  /** Revocation lists (a PEM file; a directory of them) the server's chain is checked against (src/db/crl.ts). */
  readonly crl?: string;
  readonly crlpath?: string;
  /** The protocol versions allowed, oldest first, without a gap (Node takes a range). */
  readonly tlsVersions?: readonly TlsVersion[];
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
  /** `--ssl-ca`'s file and each certificate file of `--ssl-capath`, one after the other (Node reads every PEM certificate in it). */
  readonly ca?: string;
  readonly ciphers?: string;
  readonly minVersion?: TlsVersion;
  readonly maxVersion?: TlsVersion;
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
 * `--tls-version`'s list (`TLSv1.2,TLSv1.3`, case as the mysql client takes it, or not) as the
 * versions it allows, oldest first; throws BAD_OPTION naming `option` for a version Node does not
 * speak, or a list with a gap (Node's tls allows a range, minVersion to maxVersion).
 */
export function parseTlsVersions(text: string, option: string): readonly TlsVersion[] {
  const names = text.split(',').map((v) => v.trim()).filter((v) => v !== '');
  if (names.length === 0) throw new TlsError(TlsErrorCode.BadOption, `${option} takes a list of ${TLS_VERSIONS.join(', ')}, got "${text}"`, { option });
  const indexes = new Set<number>();
  for (const name of names) {
    const i = TLS_VERSIONS.findIndex((v) => v.toLowerCase() === name.toLowerCase());
    if (i < 0) throw new TlsError(TlsErrorCode.BadOption, `${option}: ${name} is not a TLS version Node supports (${TLS_VERSIONS.join(', ')})`, { option });
    indexes.add(i);
  }
  const sorted = [...indexes].sort((a, b) => a - b);
  if (sorted[sorted.length - 1]! - sorted[0]! + 1 !== sorted.length) {
    const gap = TLS_VERSIONS.slice(sorted[0]!, sorted[sorted.length - 1]! + 1).filter((_, i) => !indexes.has(i + sorted[0]!));
    throw new TlsError(TlsErrorCode.BadOption, `${option} ${text}: Node allows a range of versions, and this one leaves out ${gap.join(', ')}: list it too, or leave out the versions around it`, { option });
  }
  return sorted.map((i) => TLS_VERSIONS[i]!);
}

/**
 * Checks that the settings go together and that each file can be read (the option's name in the
 * error: `--ssl-ca`, or `--source-ssl-ca` with prefix `--source-`).
 */
export function checkTlsSettings(settings: TlsSettings, prefix = '--'): void {
  const { mode } = settings;
  const verify = mode === 'VERIFY_CA' || mode === 'VERIFY_IDENTITY';
  if (verify && settings.ca === undefined && settings.capath === undefined) {
    throw new TlsError(TlsErrorCode.BadOption, `${prefix}ssl-mode ${mode} checks the server's certificate against a CA: give it with ${prefix}ssl-ca FILE (or ${prefix}ssl-capath DIR)`, { option: `${prefix}ssl-ca` });
  }
  const given = (['ca', 'capath', 'cert', 'key', 'cipher', 'crl', 'crlpath'] as const).filter((name) => settings[name] !== undefined);
  if (mode === 'DISABLED' && (given.length > 0 || settings.tlsVersions !== undefined)) {
    throw new TlsError(TlsErrorCode.BadOption, `${prefix}ssl-mode DISABLED turns TLS off: leave out ${andList([...given.map((n) => `${prefix}ssl-${n}`), ...(settings.tlsVersions === undefined ? [] : [`${prefix}tls-version`])])}, or choose another mode`, { option: `${prefix}ssl-mode` });
  }
  if (!verify && mode !== 'DISABLED') {
    const crl = given.find((n) => n === 'crl' || n === 'crlpath');
    // Revocation is part of the certificate check, which PREFERRED and REQUIRED do not make: the list would be ignored.
    if (crl !== undefined) throw new TlsError(TlsErrorCode.BadOption, `${prefix}ssl-${crl} checks the server's certificate, which ${prefix}ssl-mode ${mode} does not check: use VERIFY_CA or VERIFY_IDENTITY with ${prefix}ssl-ca`, { option: `${prefix}ssl-${crl}` });
  }
  if ((settings.cert === undefined) !== (settings.key === undefined)) {
    throw new TlsError(TlsErrorCode.BadOption, `a client certificate needs its key: give both ${prefix}ssl-cert and ${prefix}ssl-key`, { option: `${prefix}ssl-${settings.cert === undefined ? 'cert' : 'key'}` });
  }
  if (settings.cipher !== undefined) {
    try {
      createSecureContext({ ciphers: settings.cipher });
    } catch (e) {
      throw new TlsError(TlsErrorCode.BadOption, `${prefix}ssl-cipher ${settings.cipher}: ${(e as Error).message} (OpenSSL cipher names, e.g. ECDHE-RSA-AES128-GCM-SHA256, or TLS_AES_128_GCM_SHA256 for TLSv1.3)`, { option: `${prefix}ssl-cipher` }, { cause: e });
    }
  }
  for (const [name, path] of [['ca', settings.ca], ['cert', settings.cert], ['key', settings.key]] as const) {
    if (path !== undefined) readPem(path, `${prefix}ssl-${name}`);
  }
  if (settings.capath !== undefined) readCaPath(settings.capath, `${prefix}ssl-capath`);
  revocationLists({ ...settings, flagPrefix: prefix });
}

/**
 * The driver's socket options for `settings` (default PREFERRED), or null for a plain connection.
 * `offered` is whether the server offers TLS, when the caller knows it (PREFERRED then encrypts
 * only if it does); unknown, PREFERRED asks for TLS and the caller falls back when the server has none.
 * Revocation lists are not among them (the driver would drop them): see revocationLists.
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
  const ca = [
    ...(settings?.ca === undefined ? [] : [readPem(settings.ca, `${flags(settings)}ssl-ca`)]),
    ...(settings?.capath === undefined ? [] : readCaPath(settings.capath, `${flags(settings)}ssl-capath`)),
  ];
  const versions = settings?.tlsVersions;
  return {
    ...(ca.length === 0 ? {} : { ca: ca.join('\n') }),
    ...(settings?.cert === undefined ? {} : { cert: readPem(settings.cert, `${flags(settings)}ssl-cert`) }),
    ...(settings?.key === undefined ? {} : { key: readPem(settings.key, `${flags(settings)}ssl-key`) }),
    ...(settings?.cipher === undefined ? {} : { ciphers: settings.cipher }),
    ...(versions === undefined || versions.length === 0 ? {} : { minVersion: versions[0]!, maxVersion: versions[versions.length - 1]! }),
    rejectUnauthorized: verify,
    verifyIdentity: mode === 'VERIFY_IDENTITY' && (host === undefined || isIP(host) === 0),
  };
}

/**
 * The revocation lists of `--ssl-crl` and every file of `--ssl-crlpath` that holds one, read now;
 * null when neither is given or the mode checks no certificate.
 */
export function revocationLists(settings: TlsSettings | undefined): readonly RevocationList[] | null {
  if (settings === undefined || (settings.crl === undefined && settings.crlpath === undefined)) return null;
  if (settings.mode !== 'VERIFY_CA' && settings.mode !== 'VERIFY_IDENTITY') return null;
  const lists: RevocationList[] = [];
  if (settings.crl !== undefined) lists.push(...readCrl(settings.crl, readPem(settings.crl, `${flags(settings)}ssl-crl`), `${flags(settings)}ssl-crl`));
  if (settings.crlpath !== undefined) {
    const option = `${flags(settings)}ssl-crlpath`;
    const files = pemFiles(settings.crlpath, option).filter((f) => holdsCrl(f.text));
    if (files.length === 0) throw new TlsError(TlsErrorCode.BadFile, `${option}: no PEM revocation list (-----BEGIN X509 CRL-----) in ${settings.crlpath}`, { option, file: settings.crlpath });
    for (const f of files) lists.push(...readCrl(f.path, f.text, option));
  }
  return lists;
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
  if (/^(certificate revoked|unable to get certificate CRL|CRL )/.test(reason)) {
    const lists = [settings?.crl === undefined ? null : `${f}ssl-crl (${settings.crl})`, settings?.crlpath === undefined ? null : `${f}ssl-crlpath (${settings.crlpath})`].filter((l) => l !== null);
    return `TLS: the server's certificate fails the revocation check against ${lists.join(' and ') || 'the revocation lists'} (${f}ssl-mode ${mode}); ${reason}`;
  }
  if (/certificate|self[- ]signed|issuer|verify|Hostname|IP: .* is not in the cert/i.test(reason)) {
    const what = /Hostname|IP: .* is not in the cert|altnames/i.test(reason)
      ? `the server's certificate does not name the host connected to (${f}ssl-mode VERIFY_IDENTITY): connect by a name the certificate holds, or use VERIFY_CA`
      : `the server's certificate is not signed by ${caNamed(settings, f)} (${f}ssl-mode ${mode}): give the CA that signed the server's certificate`;
    return `TLS: ${what}; ${reason}`;
  }
  return `TLS handshake failed (${f}ssl-mode ${mode}): ${reason}`;
}

/** The flags' prefix settings came from, for messages: the DR's (`--ssl-…`) unless they say otherwise. */
function flags(settings: TlsSettings | undefined): string {
  return settings?.flagPrefix ?? '--';
}

/** `a`, `a and b`, `a, b and c`. */
function andList(items: readonly string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]!}`;
}

/** The CAs a failure names: `the CA in --ssl-ca (F)`, and/or `the CAs in --ssl-capath (DIR)`. */
function caNamed(settings: TlsSettings | undefined, f: string): string {
  const named = [
    settings?.ca === undefined && settings?.capath !== undefined ? null : `the CA in ${f}ssl-ca${settings?.ca === undefined ? '' : ` (${settings.ca})`}`,
    settings?.capath === undefined ? null : `the CAs in ${f}ssl-capath (${settings.capath})`,
  ].filter((n) => n !== null);
  return named.join(' or ');
}

/** The CA certificates of a `--ssl-capath` directory: each file holding a PEM certificate (others, keys or notes, are passed over). */
function readCaPath(dir: string, option: string): string[] {
  const certs = pemFiles(dir, option).filter((f) => f.text.includes('-----BEGIN CERTIFICATE-----'));
  if (certs.length === 0) throw new TlsError(TlsErrorCode.BadFile, `${option}: no PEM certificate (-----BEGIN CERTIFICATE-----) in ${dir}`, { option, file: dir });
  return certs.map((f) => f.text);
}

/** The regular files of `dir` (symbolic links followed, as OpenSSL's hashed c_rehash names are), in name order. */
function pemFiles(dir: string, option: string): { path: string; text: string }[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    throw new TlsError(TlsErrorCode.BadFile, `${option}: cannot read the directory ${dir}: ${(e as Error).message}`, { option, file: dir }, { cause: e });
  }
  const files: { path: string; text: string }[] = [];
  for (const name of names) {
    const path = join(dir, name);
    let isFile: boolean;
    try {
      isFile = statSync(path).isFile();
    } catch {
      continue; // a dangling link: nothing to read, as OpenSSL finds nothing there either
    }
    if (isFile) files.push({ path, text: readPem(path, option) });
  }
  return files;
}

function readCrl(path: string, text: string, option: string): RevocationList[] {
  try {
    return parseCrlPem(text, path);
  } catch (e) {
    throw new TlsError(TlsErrorCode.BadFile, `${option}: cannot read a revocation list from ${path}: ${(e as Error).message}`, { option, file: path }, { cause: e });
  }
}

function readPem(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new TlsError(TlsErrorCode.BadFile, `${option}: cannot read ${path}: ${(e as Error).message}`, { option, file: path }, { cause: e });
  }
}
