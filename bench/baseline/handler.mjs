// The seed's Lambda function (src/ivs-viewers-count-function.handler.ts of
// matsuihidetoshi/ivs-viewers-count-cdk, as printed in the seed article), in
// Node.js 20 with the AWS SDK for JavaScript v3, kept as close to the original
// as possible. Changed only so that it works past one page and 25 channels;
// every change is marked "bench:" and listed in README.md.
import {
  IvsClient,
  ListChannelsCommand,
  ListStreamsCommand,
  PutMetadataCommand,
} from '@aws-sdk/client-ivs';
import {
  DynamoDB,
  BatchWriteItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';

let response;
const dynamodb = new DynamoDB({});
const ivs = new IvsClient({});

// bench: BatchWriteItem takes at most 25 items.
const BATCH_WRITE_MAX_ITEMS = 25;

export const handler = async () => {
  const tableName = process.env.TABLE_NAME;
  const time = Date.now();
  const counts = {};

  try {
    // ① Every channel, its viewer count initialised to 0.
    // bench: follows nextToken (the seed read the first page only).
    let channelsToken;
    do {
      const listChannels = new ListChannelsCommand({ nextToken: channelsToken });
      const resListChannels = await ivs.send(listChannels);
      if (resListChannels.channels) {
        resListChannels.channels.forEach((channel) => {
          if (channel.arn) {
            counts[channel.arn] = 0;
          }
        });
      }
      channelsToken = resListChannels.nextToken;
    } while (channelsToken);

    // ② The streams that are live, and their viewer counts.
    // bench: follows nextToken (the seed read the first page only).
    let streamsToken;
    do {
      const listStreams = new ListStreamsCommand({ nextToken: streamsToken });
      const resListStreams = await ivs.send(listStreams);
      if (resListStreams.streams) {
        resListStreams.streams.forEach((stream) => {
          if (stream.channelArn && stream.viewerCount) {
            counts[stream.channelArn] += stream.viewerCount;
          }
        });
      }
      streamsToken = resListStreams.nextToken;
    } while (streamsToken);

    // ③ The items to write.
    const requestItems = Object.entries(counts).map((item) => ({
      PutRequest: {
        Item: {
          channel: { S: item[0] },
          time: { N: String(time) },
          count: { N: String(item[1]) },
        },
      },
    }));

    // ④ Write them.
    // bench: in BatchWriteItem calls of 25 items (the seed sent one call with
    // every item, which DynamoDB refuses past 25), all awaited together.
    const chunks = [];
    for (let i = 0; i < requestItems.length; i += BATCH_WRITE_MAX_ITEMS) {
      chunks.push(requestItems.slice(i, i + BATCH_WRITE_MAX_ITEMS));
    }
    await Promise.all(
      chunks.map(async (chunk) => {
        const batchWriteItem = new BatchWriteItemCommand({
          RequestItems: {
            [tableName]: chunk,
          },
        });
        return await dynamodb.send(batchWriteItem);
      })
    );

    // ⑤ The last 5 counts of every channel.
    const queries = requestItems.map((item) => {
      return new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'channel = :channel',
        ExpressionAttributeValues: {
          ':channel': { S: item.PutRequest.Item.channel.S },
        },
        Limit: 5,
        ScanIndexForward: false,
      });
    });

    const results = await Promise.all(
      queries.map(async (query) => {
        return await dynamodb.send(query);
      })
    );

    // ⑥ Send them to each channel as timed metadata.
    // bench: the PutMetadata calls are awaited (the seed let them float, so
    // Lambda could freeze or end the invocation before they were sent);
    // allSettled so that one channel's refusal does not hide the others'.
    const puts = [];
    results.forEach((result) => {
      if (result.Items) {
        const input = {
          channelArn: result.Items[0].channel.S,
          metadata: result.Items.map((item) => item.count.N).join(','),
        };

        const putMetadataCommand = new PutMetadataCommand(input);

        puts.push(ivs.send(putMetadataCommand));
      }
    });
    const sent = await Promise.allSettled(puts);
    const failed = sent.filter((s) => s.status === 'rejected');
    if (failed.length) {
      console.log(`PutMetadata failed for ${failed.length} of ${sent.length} channels: ${failed[0].reason?.name}`);
    }

    response = {
      statusCode: 200,
      body: JSON.stringify(counts),
    };
  } catch (err) {
    console.log(err);
    return err;
  }

  return response;
};
