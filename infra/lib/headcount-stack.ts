// The cloud pipeline of the seed article, with headcount's C++ Lambda:
//   EventBridge rate(1 minute) -> Lambda `headcount lambda` (one tick per invocation)
//     -> IVS ListStreams (+ GetStream, ListChannels) -> DynamoDB -> IVS PutMetadata.
import { Duration, RemovalPolicy, Stack, StackProps, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { HeadcountConfig } from './config';

export interface HeadcountStackProps extends StackProps {
  config: HeadcountConfig;
}

// Not measured yet: the binary is small and a tick is network-bound (a few
// IVS and DynamoDB calls), so 256 MB is a guess with room to spare. The
// timeout stays under the 1-minute schedule so ticks never pile up; the
// runtime loop stops starting new work before Lambda-Runtime-Deadline-Ms.
// Revisit both with the REPORT lines (Max Memory Used, Duration) of a real
// deployment.
export const MEMORY_MB = 256;
export const TIMEOUT = Duration.seconds(55);

export class HeadcountStack extends Stack {
  readonly table: dynamodb.Table;
  readonly fn: lambda.Function;

  constructor(scope: Construct, id: string, props: HeadcountStackProps) {
    super(scope, id, props);
    const { config } = props;

    // docs/dynamodb.md: one item per (channel, minute); expiresAt = time + retention.
    this.table = new dynamodb.Table(this, 'Samples', {
      partitionKey: { name: 'channel', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'time', type: dynamodb.AttributeType.NUMBER },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The counts are the product: `cdk destroy` leaves the table behind.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // Explicit, so the retention is ours and `cdk destroy` removes it.
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Our own role instead of AWSLambdaBasicExecutionRole: it may write to
    // this log group only.
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'headcount lambda: IVS viewer counts to DynamoDB and IVS timed metadata',
    });
    for (const statement of policyStatements(this, config, this.table.tableArn, logGroup.logGroupArn)) {
      role.addToPolicy(statement);
    }

    const environment: Record<string, string> = {
      HEADCOUNT_SOURCE: 'ivs',
      HEADCOUNT_STORE: 'dynamodb',
      HEADCOUNT_DYNAMODB_TABLE: this.table.tableName,
      HEADCOUNT_RETENTION: config.retention,
      HEADCOUNT_IVS_INCLUDE_OFFLINE: String(config.includeOffline),
      HEADCOUNT_IVS_METADATA_FORMAT: config.metadataFormat,
    };
    if (config.channels.length > 0) environment.HEADCOUNT_IVS_CHANNELS = config.channels.join(',');
    if (config.channelTag !== undefined) environment.HEADCOUNT_IVS_CHANNEL_TAG = config.channelTag;

    this.fn = new lambda.Function(this, 'Ticker', {
      description: 'headcount lambda: one tick per invocation',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(config.zipPath),
      architecture: config.arch === 'aarch64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
      memorySize: MEMORY_MB,
      timeout: TIMEOUT,
      role,
      logGroup,
      environment,
      // One tick at a time: two overlapping ticks would race on PutMetadata quotas.
      reservedConcurrentExecutions: 1,
      // A failed tick is not retried: the next minute's tick comes anyway, and a
      // late retry would hold the only slot. (Creates an EventInvokeConfig.)
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
    });
    // The role's policy must exist before the function can start.
    this.fn.node.addDependency(role);

    new events.Rule(this, 'EveryMinute', {
      description: 'headcount: one tick a minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.fn, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });

    // Alarms (no actions: wire them to an SNS topic or a dashboard as you like).
    const fiveMinutes = Duration.minutes(5);
    new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription: 'headcount lambda: a tick failed (invocation error or init error)',
      metric: this.fn.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    new cloudwatch.Alarm(this, 'ThrottlesAlarm', {
      alarmDescription: 'headcount lambda: a tick was throttled (the previous one still ran)',
      metric: this.fn.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    new cloudwatch.Alarm(this, 'DurationAlarm', {
      alarmDescription: 'headcount lambda: a tick took over 90% of the timeout',
      metric: this.fn.metricDuration({ period: fiveMinutes, statistic: 'Maximum' }),
      threshold: TIMEOUT.toMilliseconds() * 0.9,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });


    // cdk-nag (AwsSolutions) flags only these wildcards; each is the narrowest
    // resource IAM allows for what the function does.
    const logsId = this.getLogicalId(logGroup.node.defaultChild as logs.CfnLogGroup);
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logsId}.Arn>:*]`,
      reason: 'CloudWatch Logs: the function writes log streams it names itself, in its own log group only.',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ivs:ListStreams and ivs:ListChannels support no resource-level permissions: "*" is the only ' +
        'possible resource (Service Authorization Reference, Amazon IVS).',
    });
    if (config.channels.length === 0) {
      const region = Token.isUnresolved(this.region) ? '<AWS::Region>' : this.region;
      const account = Token.isUnresolved(this.account) ? '<AWS::AccountId>' : this.account;
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ivs:${region}:${account}:channel/*]`,
        reason:
          'No channel filter (context "channels") was given, so the function counts every channel of the ' +
          'account: GetStream and PutMetadata on any channel of this account and region. Give the ARNs to ' +
          'narrow it.',
      });
    }
  }
}

/** The function's policy, statement by statement (Sids keep the order readable). */
export function policyStatements(
  stack: Stack,
  config: HeadcountConfig,
  tableArn: string,
  logGroupArn: string,
): iam.PolicyStatement[] {
  const channelArns =
    config.channels.length > 0
      ? config.channels
      : [stack.formatArn({ service: 'ivs', resource: 'channel', resourceName: '*' })];
  const listActions = ['ivs:ListStreams'];
  // ListChannels: offline channels are read from it, and so are the tags the filter matches.
  if (config.includeOffline || config.channelTag !== undefined) listActions.push('ivs:ListChannels');
  return [
    new iam.PolicyStatement({
      sid: 'Logs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [`${logGroupArn}:*`],
    }),
    // List* take no resource: "*" is the only possible value.
    new iam.PolicyStatement({ sid: 'IvsList', actions: listActions, resources: ['*'] }),
    // GetStream re-reads a channel whose ListStreams viewerCount was -1.
    new iam.PolicyStatement({
      sid: 'IvsChannels',
      actions: ['ivs:GetStream', 'ivs:PutMetadata'],
      resources: channelArns,
    }),
    // docs/dynamodb.md: Record = BatchWriteItem, Window/History/HasChannel = Query.
    new iam.PolicyStatement({
      sid: 'Samples',
      actions: ['dynamodb:BatchWriteItem', 'dynamodb:Query'],
      resources: [tableArn],
    }),
  ];
}
