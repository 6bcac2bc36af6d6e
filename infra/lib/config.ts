// The app's settings: CDK context (cdk.json, or `-c key=value` on the command
// line) plus the two files scripts/package-lambda writes. Everything is checked
// here, at synth time, so a typo fails `cdk synth` instead of the first tick.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export type Arch = 'x86_64' | 'aarch64';
export type MetadataFormat = 'v1' | 'seed';

export interface HeadcountConfig {
  /** Region to deploy to; undefined: the region of the CLI's profile (env-agnostic). */
  region?: string;
  /** HEADCOUNT_RETENTION: how long samples stay in DynamoDB (e.g. 30d, 12h). */
  retention: string;
  /** IVS channel ARNs to count; empty: every channel of the account. */
  channels: string[];
  /** Also record channels that are not live (needs ivs:ListChannels). */
  includeOffline: boolean;
  /** Count only channels with this tag, "key=value" (needs ivs:ListChannels); undefined: no tag filter. */
  channelTag?: string;
  metadataFormat: MetadataFormat;
  /** build/lambda/lambda.zip, made by scripts/package-lambda. */
  zipPath: string;
  /** From build/lambda/arch.txt, the architecture of the packaged binary. */
  arch: Arch;
}

/** The repository root (this file is compiled to infra/dist/lib/config.js). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const DEFAULT_LAMBDA_DIR = path.join(REPO_ROOT, 'build', 'lambda');

// An IVS channel ARN, by the rule of the binary (src/core/samples.h,
// IsIvsChannelArn): the aws, aws-cn and aws-us-gov partitions, at most 128
// bytes. Both are tested against tests/data/ivs-channel-arns.json.
const CHANNEL_ARN = /^arn:(aws|aws-cn|aws-us-gov):ivs:[a-z0-9-]+:[0-9]+:channel\/[A-Za-z0-9-]+$/;
const MAX_CHANNEL_ARN_BYTES = 128;

/** Whether `arn` is an IVS channel ARN that `headcount lambda` accepts in HEADCOUNT_IVS_CHANNELS. */
export function isChannelArn(arn: string): boolean {
  return arn.length <= MAX_CHANNEL_ARN_BYTES && CHANNEL_ARN.test(arn);
}
// Whole units, as src/cli/config.cc parses them; the binary checks the range (1h..3660d).
const DURATION = /^[1-9][0-9]*(s|m|h|d)$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-[0-9]+$/;
// key=value, as src/ivs/ivs_options.cc accepts it: AWS tag keys 1..128, values 0..256 characters.
const CHANNEL_TAG = /^[^=]{1,128}=[^=]{0,256}$/;

export type ContextReader = (key: string) => unknown;

function text(get: ContextReader, key: string, fallback: string): string {
  const v = get(key);
  if (v === undefined || v === null) return fallback;
  return String(v).trim();
}

export function loadConfig(get: ContextReader, lambdaDir: string = DEFAULT_LAMBDA_DIR): HeadcountConfig {
  const region = text(get, 'region', '') || undefined;
  if (region !== undefined && !REGION.test(region)) {
    throw new Error(`context region: "${region}" is not an AWS region name`);
  }

  const retention = text(get, 'retention', '30d');
  if (!DURATION.test(retention)) {
    throw new Error(`context retention: "${retention}" is not a duration like 30d, 12h or 90m`);
  }

  const channels = text(get, 'channels', '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  for (const c of channels) {
    if (!isChannelArn(c)) {
      throw new Error(
        `context channels: "${c}" is not an IVS channel ARN (arn:<aws|aws-cn|aws-us-gov>:ivs:<region>:<account>:channel/<id>)`,
      );
    }
  }

  const offline = text(get, 'includeOffline', 'false').toLowerCase();
  if (offline !== 'true' && offline !== 'false') {
    throw new Error(`context includeOffline: "${offline}" is neither true nor false`);
  }

  const channelTag = text(get, 'channelTag', '') || undefined;
  if (channelTag !== undefined && !CHANNEL_TAG.test(channelTag)) {
    throw new Error(`context channelTag: "${channelTag}" is not key=value (a tag key of 1 to 128 characters)`);
  }

  const metadataFormat = text(get, 'metadataFormat', 'v1');
  if (metadataFormat !== 'v1' && metadataFormat !== 'seed') {
    throw new Error(`context metadataFormat: "${metadataFormat}" is neither v1 nor seed`);
  }

  let zipPath = path.join(lambdaDir, 'lambda.zip');
  const archPath = path.join(lambdaDir, 'arch.txt');
  let arch: string;
  if (text(get, 'destroyOnly', 'false') === 'true' && !fs.existsSync(zipPath)) {
    // `npm run destroy` (-c destroyOnly=true) needs no real zip: the template
    // only names the stack to delete.
    zipPath = fs.mkdtempSync(path.join(os.tmpdir(), 'headcount-destroy-'));
    fs.writeFileSync(path.join(zipPath, 'bootstrap'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    arch = fs.existsSync(archPath) ? fs.readFileSync(archPath, 'utf8').trim() : 'x86_64';
  } else {
    if (!fs.existsSync(zipPath) || !fs.existsSync(archPath)) {
      throw new Error(`${zipPath} or ${archPath} is missing: run scripts/package-lambda first`);
    }
    arch = fs.readFileSync(archPath, 'utf8').trim();
  }
  if (arch !== 'x86_64' && arch !== 'aarch64') {
    throw new Error(`${archPath}: "${arch}" is neither x86_64 nor aarch64`);
  }

  return {
    region,
    retention,
    channels: [...new Set(channels)],
    includeOffline: offline === 'true',
    channelTag,
    metadataFormat,
    zipPath,
    arch,
  };
}
