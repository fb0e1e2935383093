/**
 * AWS Signature Version 4 checked as AWS documents it ("Create a signed AWS API request",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html): canonical request
 * (method, URI with each segment encoded again, sorted canonical query, signed headers trimmed and
 * lower-cased, hex SHA-256 of the payload), string to sign with the credential scope, and the
 * HMAC-SHA256 signing key derived from "AWS4"+secret, date, region, service, "aws4_request".
 * Written from the documentation, not from the SDK's signer, so the SDK is checked rather than mirrored.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export type SigV4Result =
  | { ok: true; accessKeyId: string }
  | {
      ok: false;
      code: 'MissingAuthenticationToken' | 'IncompleteSignature' | 'InvalidClientTokenId' | 'SignatureDoesNotMatch';
      message: string;
    };

const rfc3986 = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

function canonicalQuery(rawQuery: string): string {
  if (!rawQuery) return '';
  return rawQuery
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf('=');
      const key = decodeURIComponent((at < 0 ? pair : pair.slice(0, at)).replace(/\+/g, '%20'));
      const value = at < 0 ? '' : decodeURIComponent(pair.slice(at + 1).replace(/\+/g, '%20'));
      return [rfc3986(key), rfc3986(value)] as const;
    })
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

export function verifySigV4(input: {
  method: string;
  /** Path and query exactly as received (req.url). */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  service: string;
  secretFor: (accessKeyId: string) => string | undefined;
}): SigV4Result {
  const auth = input.headers['authorization'];
  if (!auth) return { ok: false, code: 'MissingAuthenticationToken', message: 'Missing Authentication Token' };
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  const amzDate = input.headers['x-amz-date'];
  if (!m || typeof amzDate !== 'string' || !m[2] || !amzDate.startsWith(m[2]))
    return {
      ok: false,
      code: 'IncompleteSignature',
      message: 'Authorization header requires Credential, SignedHeaders and Signature, and X-Amz-Date.',
    };
  const [, accessKeyId = '', date = '', region = '', service = '', signedHeaders = '', signature = ''] = m;
  const secret = input.secretFor(accessKeyId);
  if (secret === undefined)
    return {
      ok: false,
      code: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
    };
  const [rawPath = '/', rawQuery = ''] = input.url.split('?', 2);
  const canonicalUri = rawPath.split('/').map(rfc3986).join('/');
  const headerLines = signedHeaders
    .split(';')
    .map((h) => {
      const raw = input.headers[h];
      const value = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).trim().replace(/\s+/g, ' ');
      return `${h}:${value}\n`;
    })
    .join('');
  const payloadHash = (input.headers['x-amz-content-sha256'] as string | undefined) ?? sha256(input.body);
  const canonicalRequest = [
    input.method,
    canonicalUri,
    canonicalQuery(rawQuery),
    headerLines,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest();
  const given = Buffer.from(signature, 'hex');
  if (
    service !== input.service ||
    !signedHeaders.split(';').includes('host') ||
    given.length !== expected.length ||
    !timingSafeEqual(given, expected)
  )
    return {
      ok: false,
      code: 'SignatureDoesNotMatch',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    };
  return { ok: true, accessKeyId };
}
