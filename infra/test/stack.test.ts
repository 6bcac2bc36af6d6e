// Assertion tests for the CDK app: every resource and property, the exact IAM
// statements, cdk-nag, and `cdk synth` through the CLI with no credentials.
// The real zip is built first (scripts/package-lambda; set
// HEADCOUNT_PACKAGE_BINARY to package an existing binary instead of building
// the release one, as scripts/test does).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { App, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_LAMBDA_DIR, loadConfig, REPO_ROOT } from '../lib/config';
import { HeadcountStack } from '../lib/headcount-stack';

const INFRA = path.join(REPO_ROOT, 'infra');
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const CH_A = `arn:aws:ivs:${REGION}:${ACCOUNT}:channel/AbCdEf123456`;
const CH_B = `arn:aws:ivs:${REGION}:${ACCOUNT}:channel/XyZ987654321`;

const EXPECTED_TYPES: Record<string, number> = {
  'AWS::DynamoDB::Table': 1,
  'AWS::Logs::LogGroup': 1,
  'AWS::IAM::Role': 1,
  'AWS::IAM::Policy': 1,
  'AWS::Lambda::Function': 1,
  'AWS::Lambda::EventInvokeConfig': 1,
  'AWS::Events::Rule': 1,
  'AWS::Lambda::Permission': 1,
  'AWS::CloudWatch::Alarm': 3,
};

// A zip newer than HEADCOUNT_PACKAGE_BINARY and the script, made from that
// binary (build/lambda/binary.txt), is reused; else scripts/package-lambda runs.
before(() => {
  const script = path.join(REPO_ROOT, 'scripts', 'package-lambda');
  const binary = process.env.HEADCOUNT_PACKAGE_BINARY;
  const zip = path.join(DEFAULT_LAMBDA_DIR, 'lambda.zip');
  const made = path.join(DEFAULT_LAMBDA_DIR, 'binary.txt');
  if (binary && fs.existsSync(zip) && fs.existsSync(made) && fs.existsSync(binary)) {
    const t = fs.statSync(zip).mtimeMs;
    if (
      fs.readFileSync(made, 'utf8').trim() === fs.realpathSync(binary) &&
      t > fs.statSync(binary).mtimeMs &&
      t > fs.statSync(script).mtimeMs
    ) {
      return;
    }
  }
  execFileSync(script, { stdio: ['ignore', 'inherit', 'inherit'], timeout: 30 * 60 * 1000 });
});

interface Synth {
  app: App;
  stack: HeadcountStack;
  template: Template;
}

// The template only (cdk-nag is checked separately, below).
function synth(context: Record<string, string> = {}, lambdaDir = DEFAULT_LAMBDA_DIR): Synth {
  const app = new App({ context });
  const config = loadConfig((k) => app.node.tryGetContext(k), lambdaDir);
  const stack = new HeadcountStack(app, 'Headcount', { env: { account: ACCOUNT, region: REGION }, config });
  return { app, stack, template: Template.fromStack(stack) };
}

function only(template: Template, type: string): { id: string; resource: any } {
  const found = template.findResources(type);
  const ids = Object.keys(found);
  assert.equal(ids.length, 1, `one ${type}`);
  return { id: ids[0], resource: found[ids[0]] };
}

function typeCounts(resources: Record<string, { Type: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of Object.values(resources)) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
  return counts;
}

describe('HeadcountStack', () => {
  test('has exactly the expected resources', () => {
    const { template } = synth();
    assert.deepEqual(typeCounts(template.toJSON().Resources), EXPECTED_TYPES);
  });

  test('DynamoDB table: channel/time keys, on demand, TTL expiresAt, PITR, retained', () => {
    const { template } = synth();
    const { resource } = only(template, 'AWS::DynamoDB::Table');
    assert.equal(resource.DeletionPolicy, 'Retain');
    assert.equal(resource.UpdateReplacePolicy, 'Retain');
    assert.deepEqual(resource.Properties, {
      KeySchema: [
        { AttributeName: 'channel', KeyType: 'HASH' },
        { AttributeName: 'time', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'channel', AttributeType: 'S' },
        { AttributeName: 'time', AttributeType: 'N' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  test('log group: one month, removed with the stack', () => {
    const { template } = synth();
    const { resource } = only(template, 'AWS::Logs::LogGroup');
    assert.deepEqual(resource.Properties, { RetentionInDays: 30 });
    assert.equal(resource.DeletionPolicy, 'Delete');
  });

  test('function: provided.al2023, bootstrap, the zip, arch, size, env, log group, concurrency 1', () => {
    const { template } = synth();
    const table = only(template, 'AWS::DynamoDB::Table').id;
    const logGroup = only(template, 'AWS::Logs::LogGroup').id;
    const role = only(template, 'AWS::IAM::Role').id;
    const { resource } = only(template, 'AWS::Lambda::Function');
    const p = resource.Properties;
    assert.equal(p.Runtime, 'provided.al2023');
    assert.equal(p.Handler, 'bootstrap');
    const arch = fs.readFileSync(path.join(DEFAULT_LAMBDA_DIR, 'arch.txt'), 'utf8').trim();
    assert.deepEqual(p.Architectures, [arch === 'aarch64' ? 'arm64' : 'x86_64']);
    assert.equal(p.MemorySize, 256);
    assert.equal(p.Timeout, 55);
    assert.equal(p.ReservedConcurrentExecutions, 1);
    assert.deepEqual(p.Role, { 'Fn::GetAtt': [role, 'Arn'] });
    assert.deepEqual(p.LoggingConfig, { LogGroup: { Ref: logGroup } });
    assert.deepEqual(p.Environment.Variables, {
      HEADCOUNT_SOURCE: 'ivs',
      HEADCOUNT_STORE: 'dynamodb',
      HEADCOUNT_DYNAMODB_TABLE: { Ref: table },
      HEADCOUNT_RETENTION: '30d',
      HEADCOUNT_IVS_INCLUDE_OFFLINE: 'false',
      HEADCOUNT_IVS_METADATA_FORMAT: 'v1',
    });
    // The code is the zip itself, uploaded as-is (same hash as the file).
    assert.match(p.Code.S3Key, /^[0-9a-f]{64}\.zip$/);
    assert.deepEqual(Object.keys(p).sort(), [
      'Architectures', 'Code', 'Description', 'Environment', 'Handler', 'LoggingConfig', 'MemorySize',
      'ReservedConcurrentExecutions', 'Role', 'Runtime', 'Timeout',
    ]);
    const invoke = only(template, 'AWS::Lambda::EventInvokeConfig').resource.Properties;
    assert.deepEqual(invoke, {
      FunctionName: { Ref: only(template, 'AWS::Lambda::Function').id },
      MaximumEventAgeInSeconds: 60,
      MaximumRetryAttempts: 0,
      Qualifier: '$LATEST',
    });
  });

  test('function environment from context', () => {
    const { template } = synth({
      retention: '7d',
      channels: ` ${CH_A} ,${CH_B},${CH_A}`,
      includeOffline: 'true',
      channelTag: 'team=live',
      metadataFormat: 'seed',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectEquals({
          HEADCOUNT_SOURCE: 'ivs',
          HEADCOUNT_STORE: 'dynamodb',
          HEADCOUNT_DYNAMODB_TABLE: Match.anyValue(),
          HEADCOUNT_RETENTION: '7d',
          HEADCOUNT_IVS_CHANNELS: `${CH_A},${CH_B}`,
          HEADCOUNT_IVS_INCLUDE_OFFLINE: 'true',
          HEADCOUNT_IVS_CHANNEL_TAG: 'team=live',
          HEADCOUNT_IVS_METADATA_FORMAT: 'seed',
        }),
      },
    });
  });

  test('architecture follows arch.txt', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'headcount-arch-'));
    try {
      fs.copyFileSync(path.join(DEFAULT_LAMBDA_DIR, 'lambda.zip'), path.join(dir, 'lambda.zip'));
      fs.writeFileSync(path.join(dir, 'arch.txt'), 'aarch64\n');
      synth({}, dir).template.hasResourceProperties('AWS::Lambda::Function', { Architectures: ['arm64'] });
      fs.writeFileSync(path.join(dir, 'arch.txt'), 'x86_64\n');
      synth({}, dir).template.hasResourceProperties('AWS::Lambda::Function', { Architectures: ['x86_64'] });
      fs.writeFileSync(path.join(dir, 'arch.txt'), 'mips\n');
      assert.throws(() => synth({}, dir), /neither x86_64 nor aarch64/);
      fs.rmSync(path.join(dir, 'lambda.zip'));
      assert.throws(() => synth({}, dir), /run scripts\/package-lambda first/);
      // `npm run destroy` synthesizes without a zip (or arch.txt).
      fs.rmSync(path.join(dir, 'arch.txt'));
      synth({ destroyOnly: 'true' }, dir).template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'provided.al2023',
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bad context fails the synth', () => {
    assert.throws(() => synth({ channels: 'my-channel' }), /"my-channel" is not an IVS channel ARN/);
    assert.throws(() => synth({ includeOffline: 'yes' }), /neither true nor false/);
    assert.throws(() => synth({ channelTag: 'team' }), /context channelTag: "team" is not key=value/);
    assert.throws(() => synth({ channelTag: '=live' }), /is not key=value/);
    assert.throws(() => synth({ metadataFormat: 'v2' }), /neither v1 nor seed/);
    assert.throws(() => synth({ retention: '30 days' }), /not a duration/);
    assert.throws(() => synth({ region: 'Mars' }), /not an AWS region/);
  });

  test('EventBridge rule: rate(1 minute) -> the function, no retries; permission to invoke', () => {
    const { template } = synth();
    const fn = only(template, 'AWS::Lambda::Function').id;
    const rule = only(template, 'AWS::Events::Rule');
    assert.equal(rule.resource.Properties.ScheduleExpression, 'rate(1 minute)');
    assert.equal(rule.resource.Properties.State, 'ENABLED');
    assert.deepEqual(rule.resource.Properties.Targets, [
      {
        Arn: { 'Fn::GetAtt': [fn, 'Arn'] },
        Id: 'Target0',
        RetryPolicy: { MaximumEventAgeInSeconds: 60, MaximumRetryAttempts: 0 },
      },
    ]);
    assert.deepEqual(only(template, 'AWS::Lambda::Permission').resource.Properties, {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] },
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [rule.id, 'Arn'] },
    });
  });

  test('alarms: errors, throttles, duration near the timeout', () => {
    const { template } = synth();
    const fn = only(template, 'AWS::Lambda::Function').id;
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a: any) => a.Properties);
    const byMetric = Object.fromEntries(alarms.map((a) => [a.MetricName, a]));
    assert.deepEqual(Object.keys(byMetric).sort(), ['Duration', 'Errors', 'Throttles']);
    for (const [metric, statistic, threshold] of [
      ['Errors', 'Sum', 1],
      ['Throttles', 'Sum', 1],
      ['Duration', 'Maximum', 49500],
    ] as const) {
      const a = byMetric[metric];
      assert.equal(a.Namespace, 'AWS/Lambda');
      assert.deepEqual(a.Dimensions, [{ Name: 'FunctionName', Value: { Ref: fn } }]);
      assert.equal(a.Statistic, statistic);
      assert.equal(a.Threshold, threshold);
      assert.equal(a.Period, 300);
      assert.equal(a.EvaluationPeriods, 1);
      assert.equal(a.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
      assert.equal(a.TreatMissingData, 'notBreaching');
    }
  });

  test('role: assumed by Lambda only, no managed policies', () => {
    const { template } = synth();
    const role = only(template, 'AWS::IAM::Role').resource.Properties;
    assert.deepEqual(role.AssumeRolePolicyDocument, {
      Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
      Version: '2012-10-17',
    });
    assert.equal(role.ManagedPolicyArns, undefined);
    assert.equal(role.Policies, undefined);
  });

  describe('IAM policy statements, exactly', () => {
    const cases: { name: string; context: Record<string, string>; channels: boolean; offline: boolean }[] = [
      { name: 'no channel filter, live channels only', context: {}, channels: false, offline: false },
      { name: 'no channel filter, include offline', context: { includeOffline: 'true' }, channels: false, offline: true },
      { name: 'channel filter', context: { channels: `${CH_A},${CH_B}` }, channels: true, offline: false },
      { name: 'tag filter (reads tags with ListChannels)', context: { channelTag: 'team=live' }, channels: false, offline: true },
      {
        name: 'channel filter, include offline',
        context: { channels: `${CH_A},${CH_B}`, includeOffline: 'true' },
        channels: true,
        offline: true,
      },
    ];
    for (const c of cases) {
      test(c.name, () => {
        const { template } = synth(c.context);
        const table = only(template, 'AWS::DynamoDB::Table').id;
        const logGroup = only(template, 'AWS::Logs::LogGroup').id;
        const role = only(template, 'AWS::IAM::Role').id;
        const policy = only(template, 'AWS::IAM::Policy').resource.Properties;
        assert.deepEqual(policy.Roles, [{ Ref: role }]);
        const channelResource = c.channels
          ? [CH_A, CH_B]
          : { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:ivs:${REGION}:${ACCOUNT}:channel/*`]] };
        assert.deepEqual(policy.PolicyDocument, {
          Version: '2012-10-17',
          Statement: [
            {
              Sid: 'Logs',
              Effect: 'Allow',
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logGroup, 'Arn'] }, ':*']] },
            },
            {
              Sid: 'IvsList',
              Effect: 'Allow',
              Action: c.offline ? ['ivs:ListStreams', 'ivs:ListChannels'] : 'ivs:ListStreams',
              Resource: '*',
            },
            {
              Sid: 'IvsChannels',
              Effect: 'Allow',
              Action: ['ivs:GetStream', 'ivs:PutMetadata'],
              Resource: channelResource,
            },
            {
              Sid: 'Samples',
              Effect: 'Allow',
              Action: ['dynamodb:BatchWriteItem', 'dynamodb:Query'],
              Resource: { 'Fn::GetAtt': [table, 'Arn'] },
            },
          ],
        });
      });
    }
  });

  // app.synth() runs the validation plugins (cdk-nag) and throws on a finding;
  // Template.fromStack would synthesize first and cache the result, so these
  // build their own app.
  function nagApp(context: Record<string, string>): { app: App; stack: HeadcountStack } {
    const app = new App({ context });
    const config = loadConfig((k) => app.node.tryGetContext(k));
    const stack = new HeadcountStack(app, 'Headcount', { env: { account: ACCOUNT, region: REGION }, config });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    return { app, stack };
  }

  test('cdk-nag AwsSolutions passes (each acknowledgment has a reason), with and without a filter', () => {
    for (const context of [{}, { channels: CH_A, includeOffline: 'true' }] as Record<string, string>[]) {
      assert.doesNotThrow(() => nagApp(context).app.synth());
    }
  });

  test('cdk-nag fails the synth on an unacknowledged finding', () => {
    const { app, stack } = nagApp({});
    stack.fn.role!.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ivs:*'], resources: ['*'] }));
    assert.throws(() => app.synth(), /Validation failed/);
  });
});

describe('cdk synth (CLI)', () => {
  test('works offline with no credentials and emits exactly the expected resources', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'headcount-cdk-out-'));
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'headcount-home-'));
    try {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(process.env)) {
        if (v !== undefined && !/^(AWS_|CDK_)/.test(k)) env[k] = v;
      }
      env.HOME = home; // no ~/.aws: no profile, no credentials
      env.CDK_DISABLE_CLI_TELEMETRY = 'true';
      const r = spawnSync(
        path.join(INFRA, 'node_modules', '.bin', 'cdk'),
        ['synth', '--no-notices', '--quiet', '--output', out, '-c', 'region=eu-central-1'],
        { cwd: INFRA, env, encoding: 'utf8', timeout: 180_000 },
      );
      assert.equal(r.status, 0, `cdk synth failed:\n${r.stdout}\n${r.stderr}`);
      const template = JSON.parse(fs.readFileSync(path.join(out, 'Headcount.template.json'), 'utf8'));
      assert.deepEqual(typeCounts(template.Resources), EXPECTED_TYPES);
      // Account-agnostic (no credentials), region from the context.
      const fn: any = Object.values(template.Resources).find((r: any) => r.Type === 'AWS::Lambda::Function');
      assert.deepEqual(fn.Properties.Code.S3Bucket, { 'Fn::Sub': 'cdk-hnb659fds-assets-${AWS::AccountId}-eu-central-1' });
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
