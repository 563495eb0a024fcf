import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load';
import { ErrorCode, isRedisMedicError } from '../../../src/errors';
import { silentLogger } from '../../../src/logging/logger';
import { buttonKey, createButtonSigner, type ButtonPayload } from '../../../src/slack/button-value';

describe('slack button values', () => {
  const signer = createButtonSigner('secret-key');
  const approve: ButtonPayload = { kind: 'approve', approvalId: 'abc123', cluster: 'payments', planId: 'plan-1' };

  const refused = (value: string): void => {
    assert.throws(
      () => signer.verify(value),
      (err: unknown) => isRedisMedicError(err, ErrorCode.BadSignature),
    );
  };

  it('round-trips every kind', () => {
    assert.deepEqual(signer.verify(signer.sign(approve)), approve);
    const dry: ButtonPayload = { ...approve, kind: 'dry-run' };
    assert.deepEqual(signer.verify(signer.sign(dry)), dry);
    const re: ButtonPayload = { kind: 'rediagnose', cluster: 'cache' };
    assert.deepEqual(signer.verify(signer.sign(re)), re);
  });

  it("stays well under Slack's 2000-character value limit", () => {
    assert.ok(signer.sign({ ...approve, planId: 'p'.repeat(200), cluster: 'c'.repeat(63) }).length < 600);
  });

  it('refuses any altered field, another kind, another key, or junk', () => {
    const wire = JSON.parse(signer.sign(approve)) as Record<string, unknown>;
    refused(JSON.stringify({ ...wire, p: 'plan-2' }));
    refused(JSON.stringify({ ...wire, c: 'cache' }));
    refused(JSON.stringify({ ...wire, a: 'other' }));
    refused(JSON.stringify({ ...wire, k: 'd' }));
    refused(JSON.stringify({ ...wire, s: 'AAAA' }));
    refused(JSON.stringify({ ...wire, v: 2 }));
    refused(createButtonSigner('another-key').sign(approve));
    refused('not json');
    refused('null');
    refused('{}');
  });

  it('uses approvalSecret, or derives a key from the signing secret, or refuses to start', () => {
    const withSecret = parseConfig({ approvalSecret: 'x', slack: { signingSecret: 'y' } });
    assert.equal(buttonKey(withSecret, silentLogger).toString(), 'x');
    const derived = buttonKey(parseConfig({ slack: { signingSecret: 'y' } }), silentLogger);
    assert.equal(derived.length, 32);
    assert.notEqual(derived.toString('hex'), Buffer.from('y').toString('hex'));
    assert.throws(() => buttonKey(parseConfig({}), silentLogger), /APPROVAL_SECRET/);
  });
});
