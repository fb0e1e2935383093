/**
 * checkDeployerConfig (activities/deployers/config-check.ts): a deployer's stored configuration parsed
 * once by its vendor's typed parsers. Typed values out, every bad field named in one VALIDATION error,
 * and the binding not needed for the target-only steps ("Test connection", cleanup).
 *
 *   npx tsx --test test/unit/deployer-config-check.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  asParseResult,
  checkDeployerConfig,
  refusingDeployer,
  type Parsed,
  type VendorParsers,
} from '../../activities/deployers/config-check';
import type { CertificateMaterial, DeployerContext } from '../../activities/deployers/types';
import { ClassifiedError } from '../../activities/errors';
import { FailureType } from '../../temporal/contract';
import { rejection } from '../support/assertions';

interface Login {
  user: string;
}
interface Options {
  port: number;
}
interface Binding {
  services: string[];
}

const parsers: VendorParsers<Login, Options, Binding> = {
  parseCredentials(input): Parsed<Login> {
    const user = typeof input['user'] === 'string' ? input['user'] : '';
    return user ? { value: { user }, errors: {} } : { errors: { user: 'Enter the user.' } };
  },
  parseOptions(input): Parsed<Options> {
    const port = Number(input['port'] ?? 443);
    return Number.isInteger(port) && port > 0 ? { value: { port }, errors: {} } : { errors: { port: 'Enter a port.' } };
  },
  parseBinding(input): Parsed<Binding> {
    const services = Array.isArray(input['services']) ? input['services'].map(String) : [];
    return services.length > 0 ? { value: { services }, errors: {} } : { errors: { services: 'Choose a service.' } };
  },
};

const ctx = (
  credentials: Record<string, string>,
  options: Record<string, unknown>,
  binding: Record<string, unknown>,
): DeployerContext => ({
  target: {
    id: 't1',
    name: 'fw',
    host: '192.0.2.1',
    port: 443,
    trust: { fingerprintSha256: 'ab'.repeat(32) },
    credentials,
    options,
  },
  binding,
});

const validationError = (run: () => unknown): ClassifiedError => {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ClassifiedError, String(error));
    assert.equal(error.type, FailureType.validation);
    return error;
  }
  assert.fail('expected a VALIDATION error');
};

describe('checkDeployerConfig', () => {
  it('returns the typed credentials, options and binding', () => {
    const config = checkDeployerConfig(
      'demo',
      parsers,
      ctx({ user: 'admin' }, { port: '8443' }, { services: ['web'] }),
    );
    const all = config.all();
    assert.equal(all.credentials.user, 'admin');
    assert.equal(all.options.port, 8443);
    assert.deepEqual(all.binding.services, ['web']);
    assert.deepEqual(config.target(), { credentials: { user: 'admin' }, options: { port: 8443 } });
    assert.equal(config.targetValid, true);
    assert.equal(config.bindingValid, true);
    assert.deepEqual(config.binding, { services: ['web'] });
    assert.deepEqual(config.bindingErrors, {});
  });

  it('names every bad field, prefixed with its part, in one non-retryable VALIDATION error', () => {
    const config = checkDeployerConfig('demo', parsers, ctx({}, { port: 'x' }, {}));
    assert.equal(config.targetValid, false);
    const error = validationError(() => config.all());
    assert.equal(
      error.message,
      'demo: invalid target configuration: credentials.user: Enter the user.; options.port: Enter a port.; binding.services: Choose a service.',
    );
    assert.equal(
      validationError(() => config.target()).message,
      'demo: invalid target configuration: credentials.user: Enter the user.; options.port: Enter a port.',
    );
    assert.equal(validationError(() => config.ready()).message, error.message);
  });

  it('the target alone needs no binding ("Test connection" before any deployment exists)', () => {
    const config = checkDeployerConfig('demo', parsers, ctx({ user: 'admin' }, {}, {}));
    assert.deepEqual(config.target(), { credentials: { user: 'admin' }, options: { port: 443 } });
    config.ready(false);
    assert.equal(config.bindingValid, false);
    assert.equal(config.binding, undefined);
    assert.deepEqual(config.bindingErrors, { services: 'Choose a service.' });
    assert.equal(
      validationError(() => config.all()).message,
      'demo: invalid target configuration: binding.services: Choose a service.',
    );
  });

  it('a value that came with errors is never handed out', () => {
    const lenient: VendorParsers<Login, Options, Binding> = {
      ...parsers,
      parseOptions: () => ({ value: { port: 443 }, errors: { port: 'Enter a port.' } }),
    };
    const config = checkDeployerConfig('demo', lenient, ctx({ user: 'admin' }, {}, { services: ['web'] }));
    assert.equal(config.targetValid, false);
    assert.match(validationError(() => config.target()).message, /options\.port: Enter a port\./);
  });

  it('asParseResult gives the descriptor its untyped value (empty when there is none)', () => {
    assert.deepEqual(asParseResult({ value: { port: 1 }, errors: {} }), { value: { port: 1 }, errors: {} });
    assert.deepEqual(asParseResult({ errors: { port: 'bad' } }), { value: {}, errors: { port: 'bad' } });
  });

  it("refusingDeployer: every step throws the validation error (the binding's too where the step needs one), close does nothing", async () => {
    const config = checkDeployerConfig('demo', parsers, ctx({}, {}, {}));
    const deployer = refusingDeployer(config);
    const material: CertificateMaterial = {
      versionId: 'v1',
      commonName: 'x.example',
      serialHex: '01',
      fingerprintSha256: 'ab',
      notAfter: new Date(),
      keyType: 'ecdsa-p256',
      certPem: '',
      chainPems: [],
      keyPem: '',
    };
    const targetOnly = 'demo: invalid target configuration: credentials.user: Enter the user.';
    const withBinding = `${targetOnly}; binding.services: Choose a service.`;
    const steps: [() => Promise<unknown>, string][] = [
      [() => deployer.preflight(), targetOnly],
      [() => deployer.stage(material), withBinding],
      [() => deployer.activate({}), withBinding],
      [() => deployer.rollback({}), targetOnly],
      [() => deployer.removeSuperseded([], []), targetOnly],
    ];
    for (const [step, message] of steps) assert.equal((await rejection(step(), ClassifiedError)).message, message);
    assert.equal(
      (await rejection(refusingDeployer(config, ['preflight']).preflight(), ClassifiedError)).message,
      withBinding,
    );
    await deployer.close();
  });
});
