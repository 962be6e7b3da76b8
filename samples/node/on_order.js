// DynamoDB Streams demo: reports each order change; a record whose status is "poison" fails
// on its own (ReportBatchItemFailures), the rest of the batch succeeds.
exports.handler = async (event) => {
  const batchItemFailures = [];
  for (const record of event.Records) {
    const image = record.dynamodb.NewImage || record.dynamodb.OldImage || {};
    const status = image.status ? image.status.S : undefined;
    console.log(`${record.eventName} ${record.dynamodb.Keys.pk.S}/${record.dynamodb.Keys.sk.S} status=${status}`);
    if (status === "poison") {
      batchItemFailures.push({ itemIdentifier: record.dynamodb.SequenceNumber });
    }
  }
  return { batchItemFailures };
};
