/**
 * Log redaction holds: secrets logged in every shape CertFleet handles (flat, nested, in headers, in
 * HTTP client errors, in child bindings), through the web's request logger (bearer token, session
 * cookie, token in the query, password in the body) and through the Temporal runtime logger, never
 * reach the output, while the fields needed to follow a request or a run (request id, path,
 * workflowId, runId, activityType) do.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { Context } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import express from 'express';
import { activityAwareLogger, activityLogFields, withActivityLog } from '../../activities/activity-log';
import { createLogger } from '../../config/logger';
import { apiErrors } from '../../web/api/support';
import { loggableUrl, requestLog } from '../../web/middleware/request-log';
import { temporalLoggerFor } from '../../worker/temporal-logger';

/** A logger writing into a string, as the processes' loggers do into stdout. */
function captured(level = 'trace') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const log = createLogger('redaction-test', level, stream);
  return { log, text: () => lines.join('\n'), lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function assertAbsent(output: string, secrets: Record<string, string>): void {
  for (const [what, secret] of Object.entries(secrets))
    assert.ok(!output.includes(secret), `${what} leaked into the log:\n${output}`);
}

const S = {
  password: 'pw-Sup3r-s3cret',
  token: 'fgt-token-0123456789abcdef',
  apiKey: 'panos-api-key-LUFRPT1',
  privateKey:
    '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n-----END PRIVATE KEY-----',
  keyPem: 'keypem-body-QUJDREVGRw',
  passphrase: 'key-passphrase-horse-battery',
  ftpPassword: 'ftp-drop-password-77',
  secret: 'client-secret-value-99',
  authorization: 'Bearer cft_header_secret_abc',
  cookie: 'certfleet.sid=s%3Acookie-session-secret',
  setCookie: 'certfleet.sid=s%3Aset-cookie-secret; Path=/; HttpOnly',
  credentialsPassword: 'credentials-object-password',
  deepCredentials: 'two-levels-down-credential',
  axiosAuthorization: 'Bearer axios-upstream-secret',
  axiosResponseAuthorization: 'Basic YXhpb3MtcmVzcG9uc2Utc2VjcmV0',
  childBinding: 'child-binding-token-secret',
  masterKey: 'master-key-base64-AAAAAAAA',
  apiToken: 'cft_api_token_value_secret',
};

describe('createLogger redaction', () => {
  it('redacts secrets in every shape we log, keeping the other fields', () => {
    const { log, text, lines } = captured();
    log.info(
      {
        password: S.password,
        token: S.token,
        apiKey: S.apiKey,
        privateKey: S.privateKey,
        keyPem: S.keyPem,
        passphrase: S.passphrase,
        ftpPassword: S.ftpPassword,
        secret: S.secret,
        masterKey: S.masterKey,
        apiToken: S.apiToken,
        workflowId: 'certificate:42',
      },
      'flat',
    );
    log.info(
      {
        target: {
          id: '7',
          vendor: 'sonicwall',
          credentials: { username: 'admin', password: S.credentialsPassword, ftpPassword: S.ftpPassword },
        },
      },
      'nested credentials',
    );
    log.info({ input: { target: { credentials: { token: S.deepCredentials } } } }, 'credentials two levels down');
    log.info(
      {
        settings: { smtp: { password: S.password } },
        provider: { token: S.token },
        ssh: { privateKey: S.privateKey, passphrase: S.passphrase },
      },
      'nested keys',
    );
    log.info({ authorization: S.authorization, cookie: S.cookie, 'set-cookie': S.setCookie }, 'headers at the top');
    log.info(
      {
        headers: {
          authorization: S.authorization,
          Authorization: S.authorization,
          cookie: S.cookie,
          'set-cookie': S.setCookie,
        },
      },
      'a headers object',
    );
    log.info(
      {
        req: {
          method: 'GET',
          url: '/x',
          headers: { authorization: S.authorization, cookie: S.cookie, host: 'console.example' },
        },
        res: { statusCode: 200, headers: { 'set-cookie': S.setCookie } },
      },
      'req/res',
    );
    const axiosError = Object.assign(new Error('Request failed with status code 401'), {
      config: {
        url: 'https://fw.example/api',
        headers: { Authorization: S.axiosAuthorization, Accept: 'application/json' },
        data: JSON.stringify({ password: S.password }),
      },
      response: {
        status: 401,
        config: { headers: { Authorization: S.axiosResponseAuthorization } },
        headers: { 'set-cookie': S.setCookie },
      },
    });
    log.error({ err: axiosError }, 'device call failed');
    log.warn({ error: axiosError }, 'Activity failed');
    log.child({ credentials: { token: S.childBinding }, deploymentId: '9' }).info('child bindings');
    log.child({ target: { credentials: { password: S.childBinding } } }).info('nested child bindings');

    assertAbsent(text(), S);
    const out = lines();
    assert.equal(out.length, 11);
    assert.equal(out[0]?.['workflowId'], 'certificate:42');
    assert.equal(out[0]?.['password'], '[redacted]');
    assert.deepEqual(out[1]?.['target'], { id: '7', vendor: 'sonicwall', credentials: '[redacted]' });
    assert.equal((out[6]?.['req'] as { headers: Record<string, string> }).headers['host'], 'console.example');
    assert.match(text(), /Request failed with status code 401/, 'the error message stays');
    assert.match(text(), /https:\/\/fw\.example\/api/, 'so does the URL');
    assert.equal(out[8]?.['msg'], 'Activity failed');
    assert.match(
      JSON.stringify(out[8]?.['error']),
      /Request failed with status code 401/,
      "the SDK's `error` is serialized like `err`",
    );
    assert.equal(out[9]?.['deploymentId'], '9');
  });
});

describe('request logger', () => {
  it('logs a request id, the path and safe query parameters; never the bearer token, the cookie, a token in the query or the body', async () => {
    const { log, text, lines } = captured('info');
    const app = express();
    app.use(requestLog(log));
    app.use(express.json());
    app.get('/api/v1/certificates', (req, res) => {
      req.log.info({ handler: 'list' }, 'listing');
      res.json([]);
    });
    app.post('/api/v1/login', (_req, _res) => {
      throw new Error('the store failed');
    });
    app.use(apiErrors(log));
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const secrets = {
      bearer: 'cft_secret_bearer_0123456789',
      query: 'cft_secret_in_query_987',
      session: 's%3Asession-cookie-secret',
      body: 'body-password-secret',
    };
    try {
      const listed = await fetch(`${url}/api/v1/certificates?token=${secrets.query}&page=2&api_key=${secrets.query}`, {
        headers: {
          authorization: `Bearer ${secrets.bearer}`,
          cookie: `certfleet.sid=${secrets.session}`,
          'x-request-id': 'req-test-0001',
        },
      });
      assert.equal(listed.status, 200);
      assert.equal(listed.headers.get('x-request-id'), 'req-test-0001');
      const failed = await fetch(`${url}/api/v1/login?password=${secrets.body}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${secrets.bearer}`,
          cookie: `certfleet.sid=${secrets.session}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ username: 'admin', password: secrets.body }),
      });
      assert.equal(failed.status, 500);
      const failedId = failed.headers.get('x-request-id') ?? '';
      assert.match(failedId, /^[0-9a-f-]{36}$/, 'generated when absent');
      await new Promise((resolve) => setImmediate(resolve));

      assertAbsent(text(), secrets);
      const out = lines();
      const handlerLine = out.find((l) => l['msg'] === 'listing');
      assert.equal(handlerLine?.['reqId'], 'req-test-0001', 'req.log carries the request id');
      const completed = out.find((l) => l['msg'] === 'request completed');
      assert.deepEqual(completed?.['req'], {
        id: 'req-test-0001',
        method: 'GET',
        url: '/api/v1/certificates?token=[redacted]&page=2&api_key=[redacted]',
        remoteAddress: '127.0.0.1',
      });
      assert.deepEqual(completed?.['res'], { statusCode: 200 });
      const errorLine = out.find((l) => l['msg'] === 'api request failed');
      assert.equal(errorLine?.['reqId'], failedId, 'the 5xx log line carries the request id');
      assert.equal(errorLine?.['url'], '/api/v1/login?password=[redacted]');
      assert.match(JSON.stringify(errorLine?.['err']), /the store failed/);
      assert.ok(
        out.some((l) => l['msg'] === 'request errored' && l['level'] === 50),
        'the failed request is logged at error',
      );
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('redacts secret-looking query parameters only', () => {
    assert.equal(loggableUrl('/certificates?q=cert-1&page=3'), '/certificates?q=cert-1&page=3');
    assert.equal(
      loggableUrl('/x?access_token=a&sessionId=b&Signature=c&next=%2Fhome'),
      '/x?access_token=[redacted]&sessionId=[redacted]&Signature=[redacted]&next=%2Fhome',
    );
    assert.equal(loggableUrl('/x?'), '/x');
  });
});

describe('Temporal runtime logger and activity logs', () => {
  it('redacts secrets in the SDK metadata and keeps the workflow ids', () => {
    const { log, text, lines } = captured();
    const temporal = temporalLoggerFor(log.child({ component: 'temporal' }));
    temporal.warn('Activity failed', {
      workflowId: 'deploy:3:9',
      workflowRunId: 'run-1',
      activityType: 'deployToTarget',
      password: S.password,
      details: { credentials: { apiKey: S.apiKey } },
    });
    temporal.info('Workflow started', { workflowId: 'certificate:3', runId: 'run-2', input: { token: S.token } });
    assertAbsent(text(), S);
    const [failed, started] = lines();
    assert.equal(failed?.['workflowId'], 'deploy:3:9');
    assert.equal(failed?.['activityType'], 'deployToTarget');
    assert.equal(failed?.['level'], 40);
    assert.equal(started?.['runId'], 'run-2');
    assert.equal(started?.['component'], 'temporal');
  });

  it('gives every line an activity writes its workflowId, runId and activityType', async () => {
    const { log, text, lines } = captured();
    const depsLog = activityAwareLogger(log);
    const env = new MockActivityEnvironment({
      activityType: 'deployToTarget',
      activityId: '5',
      workflowExecution: { workflowId: 'deploy:3:9', runId: 'run-3' },
    });
    await env.run(async () =>
      withActivityLog(log.child(activityLogFields(Context.current().info)), async () => {
        depsLog.info({ target: { credentials: { password: S.password } } }, 'inside the activity');
        depsLog.child({ step: 'stage' }).warn('from a child');
      }),
    );
    depsLog.info('outside any activity');
    assertAbsent(text(), S);
    const [inside, child, outside] = lines();
    for (const line of [inside, child]) {
      assert.equal(line?.['workflowId'], 'deploy:3:9');
      assert.equal(line?.['runId'], 'run-3');
      assert.equal(line?.['activityType'], 'deployToTarget');
    }
    assert.equal(child?.['step'], 'stage');
    assert.equal(outside?.['workflowId'], undefined);
  });
});
