// The CDK app's context checks (lib/config.ts) alone: no zip is built, no
// stack is synthesized.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isChannelArn, loadConfig, REPO_ROOT } from '../lib/config';

// A lambda dir with the two files loadConfig requires (their content is not read).
let lambdaDir = '';
before(() => {
  lambdaDir = fs.mkdtempSync(path.join(os.tmpdir(), 'headcount-config-'));
  fs.writeFileSync(path.join(lambdaDir, 'lambda.zip'), '');
  fs.writeFileSync(path.join(lambdaDir, 'arch.txt'), 'x86_64\n');
});
after(() => fs.rmSync(lambdaDir, { recursive: true, force: true }));

function load(context: Record<string, string>) {
  return loadConfig((key) => context[key], lambdaDir);
}

describe('channels context', () => {
  // The same cases src/core/samples_test.cc checks the binary's rule against.
  const cases = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'tests', 'data', 'ivs-channel-arns.json'), 'utf8'));

  test('accepts what the binary accepts and refuses what it refuses', () => {
    assert.ok(cases.valid.length > 0 && cases.invalid.length > 0);
    for (const arn of cases.valid) {
      assert.ok(isChannelArn(arn), arn);
      assert.deepEqual(load({ channels: arn }).channels, [arn]);
    }
    for (const arn of cases.invalid) {
      assert.ok(!isChannelArn(arn), arn);
      if (arn !== '') assert.throws(() => load({ channels: arn }), /is not an IVS channel ARN/, arn);
    }
  });

  test('a China or GovCloud channel passes, another partition does not', () => {
    const cn = 'arn:aws-cn:ivs:cn-north-1:123456789012:channel/AbCdEf123456';
    const gov = 'arn:aws-us-gov:ivs:us-gov-west-1:123456789012:channel/AbCdEf123456';
    assert.deepEqual(load({ channels: `${cn},${gov}`, region: 'cn-north-1' }).channels, [cn, gov]);
    assert.throws(
      () => load({ channels: 'arn:aws-iso:ivs:us-iso-east-1:123456789012:channel/AbCdEf123456' }),
      /context channels: .* is not an IVS channel ARN/,
    );
  });
});
