// cdk app: `npm --prefix infra run synth|deploy|destroy` (see README "Deploy to AWS").
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig } from '../lib/config';
import { HeadcountStack } from '../lib/headcount-stack';

const app = new App();
const config = loadConfig((key) => app.node.tryGetContext(key));
new HeadcountStack(app, 'Headcount', {
  description: 'headcount: live viewer counts of IVS channels, minute by minute, as timed metadata',
  // The account of the CLI's credentials when it has some; none (synth offline)
  // leaves the stack account-agnostic. Region: -c region=..., else the CLI's.
  env: {
    account: process.env.CDK_DEFAULT_ACCOUNT,
    region: config.region ?? process.env.CDK_DEFAULT_REGION,
  },
  config,
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
