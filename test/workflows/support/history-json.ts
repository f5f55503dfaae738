/**
 * Event histories to and from the JSON Temporal's tools write (`temporal workflow show --output
 * json`, the Web UI's download), as `historyToJSON` and `historyFromJSON` of
 * @temporalio/common/lib/proto-utils do. Those two fail in this install with "type must be a
 * Type": npm gives @temporalio/common and @temporalio/proto a copy of protobufjs 8 each (grpc's
 * protobufjs 7 holds the top level), and protojson refuses a message type made by the other copy.
 * Here protojson comes from the copy @temporalio/proto uses, the one its types were made with;
 * in a deduplicated install that is simply the only copy.
 */
import { createRequire } from 'node:module';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root.js';

/** The part of protobufjs/ext/protojson used here. */
interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): unknown;
}

const protoEntry = createRequire(import.meta.url).resolve('@temporalio/proto');
const protojson = createRequire(protoEntry)('protobufjs/ext/protojson') as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType(
  'temporal.api.history.v1.History',
);

/** A history as indented JSON, one field per line, so a re-recording diffs readably. */
export function historyToJson(history: History): string {
  const message = proto.temporal.api.history.v1.History.fromObject(history);
  return `${JSON.stringify(protojson.toJson(historyType, message), null, 2)}\n`;
}

/**
 * A history read back from JSON; fields a newer server or SDK added are ignored, as
 * `historyFromJSON` does.
 */
export function historyFromJson(json: unknown): History {
  return protojson.fromJson(historyType, json, { ignoreUnknownFields: true }) as History;
}
