/**
 * protobuf Any with **bare** type URLs (`containerd.events.TaskExit`), as containerd's typeurl
 * writes them; a `type.googleapis.com/` prefix makes ctr drop the event. Values are kept as the
 * bytes they arrived as: an Any is never decoded to be forwarded.
 */
import { MESSAGE_CODECS, type MessageName, type MessageOf } from './gen';
import type { Any } from './gen/google/protobuf/any';
import type { DeepPartial, MessageCodec } from './descriptors';
import { verifyMessage } from './verify';

export type AnyValue = Any;
export type { MessageName, MessageOf };

export function isMessageName(name: string): name is MessageName {
  return Object.prototype.hasOwnProperty.call(MESSAGE_CODECS, name);
}

/** The codec of a message by full name; throws for a name that is not in proto/. */
export function codecOf<N extends MessageName>(fullName: N): MessageCodec<MessageOf<N>>;
export function codecOf(fullName: string): MessageCodec<unknown>;
export function codecOf(fullName: string): MessageCodec<unknown> {
  if (!isMessageName(fullName)) throw new Error(`no message type ${fullName} in proto/`);
  return MESSAGE_CODECS[fullName]() as unknown as MessageCodec<unknown>;
}

/**
 * Encodes `message` as an Any of type `fullName`, after checking it against the message's fields
 * (it is built in code, possibly untyped). Fields left out take their defaults (events and
 * metrics set only what they know); 64-bit integers may be decimal strings.
 */
export function packAny<N extends MessageName>(fullName: N, message: DeepPartial<MessageOf<N>>): AnyValue;
export function packAny(fullName: string, message: object): AnyValue;
export function packAny(fullName: string, message: object): AnyValue {
  const codec = codecOf(fullName);
  const err = verifyMessage(fullName, message as Record<string, unknown>);
  if (err) throw new Error(`packAny ${fullName}: ${err}`);
  const u8 = codec.encode(codec.fromPartial(message)).finish();
  return { type_url: fullName, value: Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength) };
}

/** Decodes an Any whose type is in proto/ (a prefixed URL is accepted); throws for other types. */
export function unpackAny<T = Record<string, unknown>>(any: AnyValue): T {
  return codecOf(any.type_url.replace(/^.*\//, '')).decode(any.value) as T;
}
