/**
 * Certificate revocation lists (`--ssl-crl`, `--ssl-crlpath`), checked against the server's
 * certificate chain after the handshake. The check is ours because mysql2 builds its TLS context
 * from ca/cert/key/ciphers/min-/maxVersion only and drops Node's `crl` option: handed over, it would
 * be ignored without a word. What it checks is what Node's `crl` (OpenSSL's X509_V_FLAG_CRL_CHECK |
 * CRL_CHECK_ALL) checks, with OpenSSL's reasons: every certificate of the chain, the root included,
 * needs a list from its issuer, signed by that issuer and current ("unable to get certificate
 * CRL", "CRL signature failure", "CRL has expired", "CRL is not yet valid"), and must not be on it
 * ("certificate revoked").
 *
 * Lists are X.509 CertificateList (RFC 5280 §5.1) in PEM; only the fields the check needs are read.
 */
import { verify, X509Certificate } from 'node:crypto';

/** One revocation list, as far as the check needs it. */
export interface RevocationList {
  /** The issuer Name, DER as written: compared byte for byte with a certificate's issuer. */
  readonly issuer: Buffer;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | null;
  /** Serial numbers of the revoked certificates: upper-case hex without leading zero bytes. */
  readonly revoked: ReadonlySet<string>;
  /** The signed part and its signature, checked against the issuer's key when the list is used. */
  readonly tbs: Buffer;
  readonly signatureOid: string;
  readonly signature: Buffer;
  /** Where it was read (a file of --ssl-crl or --ssl-crlpath), for messages. */
  readonly file: string;
}

/** A certificate of the peer's chain as Node gives it (`getPeerCertificate(true)`): DER and its issuer. */
export interface PeerCertificate {
  readonly raw: Buffer;
  readonly issuerCertificate?: PeerCertificate;
}

const PEM_CRL = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/g;

/** Whether `text` holds at least one PEM revocation list. */
export function holdsCrl(text: string): boolean {
  return text.includes('-----BEGIN X509 CRL-----');
}

/** The revocation lists of a PEM file's text; throws Error (the caller names the option) when one cannot be read. */
export function parseCrlPem(text: string, file: string): RevocationList[] {
  const lists: RevocationList[] = [];
  for (const m of text.matchAll(PEM_CRL)) lists.push(parseCrlDer(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'), file));
  if (lists.length === 0) throw new Error('no PEM revocation list (-----BEGIN X509 CRL-----) in it');
  return lists;
}

/**
 * Checks the chain (leaf first, each linked to its issuer, the root to itself) against `lists`;
 * returns null when it passes, else OpenSSL's reason and which certificate it concerns.
 */
export function revocationFailure(leaf: PeerCertificate, lists: readonly RevocationList[], now = new Date()): string | null {
  const seen = new Set<PeerCertificate>();
  for (let cert: PeerCertificate | undefined = leaf; cert !== undefined && !seen.has(cert); cert = cert.issuerCertificate) {
    seen.add(cert);
    const fields = certificateFields(cert.raw);
    const who = `${new X509Certificate(cert.raw).subject.replace(/\n/g, ', ')} (serial ${fields.serial})`;
    if (cert.issuerCertificate === undefined) return `unable to get issuer certificate of ${who}`;
    const issuerKey = new X509Certificate(cert.issuerCertificate.raw).publicKey;
    const fromIssuer = lists.filter((l) => l.issuer.equals(fields.issuer));
    if (fromIssuer.length === 0) return `unable to get certificate CRL: no revocation list from the issuer of ${who}`;
    const signed = fromIssuer.filter((l) => signedBy(l, issuerKey));
    if (signed.length === 0) return `CRL signature failure: the revocation list in ${fromIssuer[0]!.file} is not signed by the issuer of ${who}`;
    // The newest list of that issuer speaks for it, as OpenSSL picks the latest valid one.
    const list = signed.reduce((a, b) => (b.thisUpdate > a.thisUpdate ? b : a));
    if (list.thisUpdate > now) return `CRL is not yet valid: ${list.file} starts at ${list.thisUpdate.toISOString()}`;
    if (list.nextUpdate !== null && list.nextUpdate < now) return `CRL has expired: ${list.file} was due for renewal at ${list.nextUpdate.toISOString()}`;
    if (list.revoked.has(fields.serial)) return `certificate revoked: ${who} is on the revocation list in ${list.file}`;
  }
  return null;
}

/** Hash of each signature algorithm a CA signs lists with (null: the key type fixes it, Ed25519/Ed448). */
const SIGNATURE_HASH: Readonly<Record<string, string | null>> = {
  '1.2.840.113549.1.1.5': 'sha1', // sha1WithRSAEncryption
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha1', // ecdsa-with-SHA1
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.3.101.112': null, // Ed25519
  '1.3.101.113': null, // Ed448
};

function signedBy(list: RevocationList, key: X509Certificate['publicKey']): boolean {
  const hash = SIGNATURE_HASH[list.signatureOid];
  // An algorithm not in the table (RSASSA-PSS with its parameters) is not taken as signed.
  if (hash === undefined) return false;
  try {
    return verify(hash, list.tbs, key, list.signature);
  } catch {
    return false;
  }
}

/** One DER element: its tag, its content, and where the next one starts. */
interface Tlv {
  readonly tag: number;
  readonly body: Buffer;
  /** The whole element, header included (a Name is compared as written). */
  readonly whole: Buffer;
  readonly next: number;
}

function tlv(buf: Buffer, at: number): Tlv {
  if (at + 2 > buf.length) throw new Error(`DER ends inside an element header at byte ${at}`);
  const tag = buf[at]!;
  let len = buf[at + 1]!;
  let head = 2;
  if (len & 0x80) {
    // Long form: the low bits count the length bytes that follow (at most 4 here: lists stay < 4 GiB).
    const n = len & 0x7f;
    if (n === 0 || n > 4 || at + 2 + n > buf.length) throw new Error(`bad DER length at byte ${at}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i]!;
    head += n;
  }
  const end = at + head + len;
  if (end > buf.length) throw new Error(`DER element at byte ${at} runs past the end (${end} > ${buf.length})`);
  return { tag, body: buf.subarray(at + head, end), whole: buf.subarray(at, end), next: end };
}

function expect(t: Tlv, tag: number, what: string): Tlv {
  if (t.tag !== tag) throw new Error(`expected ${what} (tag 0x${tag.toString(16)}), found tag 0x${t.tag.toString(16)}`);
  return t;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

function parseCrlDer(der: Buffer, file: string): RevocationList {
  const outer = expect(tlv(der, 0), SEQUENCE, 'CertificateList');
  const tbs = expect(tlv(outer.body, 0), SEQUENCE, 'TBSCertList');
  const algorithm = expect(tlv(outer.body, tbs.next), SEQUENCE, 'signatureAlgorithm');
  const bits = expect(tlv(outer.body, algorithm.next), 0x03, 'signatureValue');
  let at = 0;
  let t = tlv(tbs.body, at);
  if (t.tag === INTEGER) t = tlv(tbs.body, (at = t.next)); // version (v2) is optional
  at = expect(t, SEQUENCE, 'signature').next;
  const issuer = expect(tlv(tbs.body, at), SEQUENCE, 'issuer');
  const thisUpdate = tlv(tbs.body, issuer.next);
  at = thisUpdate.next;
  let nextUpdate: Date | null = null;
  const revoked = new Set<string>();
  if (at < tbs.body.length) {
    t = tlv(tbs.body, at);
    if (t.tag === UTC_TIME || t.tag === GENERALIZED_TIME) {
      nextUpdate = time(t);
      at = t.next;
    }
  }
  if (at < tbs.body.length) {
    t = tlv(tbs.body, at);
    // revokedCertificates, absent when none is revoked; crlExtensions ([0]) are not needed.
    if (t.tag === SEQUENCE) {
      for (let e = 0; e < t.body.length; ) {
        const entry = expect(tlv(t.body, e), SEQUENCE, 'revoked certificate');
        revoked.add(serialHex(expect(tlv(entry.body, 0), INTEGER, 'userCertificate').body));
        e = entry.next;
      }
    }
  }
  return {
    issuer: Buffer.from(issuer.whole), // copied: the list outlives the decoded text
    thisUpdate: time(thisUpdate),
    nextUpdate,
    revoked,
    tbs: Buffer.from(tbs.whole),
    signatureOid: oid(expect(tlv(algorithm.body, 0), 0x06, 'algorithm OID').body),
    // A BIT STRING's first byte counts unused bits: 0 for a signature.
    signature: Buffer.from(bits.body.subarray(1)),
    file,
  };
}

/** A certificate's issuer Name (DER as written) and serial (hex), from tbsCertificate. */
function certificateFields(der: Buffer): { issuer: Buffer; serial: string } {
  const tbs = expect(tlv(expect(tlv(der, 0), SEQUENCE, 'Certificate').body, 0), SEQUENCE, 'TBSCertificate');
  let t = tlv(tbs.body, 0);
  if (t.tag === 0xa0) t = tlv(tbs.body, t.next); // [0] EXPLICIT version
  const serial = expect(t, INTEGER, 'serialNumber');
  const algorithm = expect(tlv(tbs.body, serial.next), SEQUENCE, 'signature');
  const issuer = expect(tlv(tbs.body, algorithm.next), SEQUENCE, 'issuer');
  return { issuer: issuer.whole, serial: serialHex(serial.body) };
}

function serialHex(bytes: Buffer): string {
  // A positive INTEGER gets a leading 0x00 when its top bit is set; the number is the same.
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i).toString('hex').toUpperCase();
}

function oid(bytes: Buffer): string {
  const parts: number[] = [];
  let n = 0;
  for (const b of bytes) {
    n = n * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (parts.length === 0) parts.push(n < 80 ? Math.floor(n / 40) : 2, n < 80 ? n % 40 : n - 80);
      else parts.push(n);
      n = 0;
    }
  }
  return parts.join('.');
}

/** UTCTime YYMMDDHHMMSSZ (years 50–99 are 19xx, RFC 5280 §4.1.2.5.1) or GeneralizedTime YYYYMMDDHHMMSSZ. */
function time(t: Tlv): Date {
  const s = t.body.toString('latin1');
  const m = t.tag === UTC_TIME ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s) : /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s);
  if (m === null) throw new Error(`bad time "${s}" in a revocation list`);
  const year = t.tag === UTC_TIME ? (Number(m[1]) >= 50 ? 1900 : 2000) + Number(m[1]) : Number(m[1]);
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}
