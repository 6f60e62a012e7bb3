// `ws` enforces maxPayload per message only and never exposes single frames, while API Gateway also caps
// each frame (32 KiB). This reads the frame headers of the client's byte stream alongside `ws`, without
// consuming it, to see every frame's length.

export type FrameViolation = "frame-too-big" | "message-too-big";

export interface FrameLimits {
  frameBytes: number;
  messageBytes: number;
}

/**
 * Returns a listener for the socket's "data" chunks (client-to-server, so masked frames). It calls
 * onViolation once, at the header of the first frame over a limit, then stops looking.
 */
export function frameMeter(
  limits: FrameLimits,
  onViolation: (v: FrameViolation) => void,
): (chunk: Buffer) => void {
  let header = Buffer.alloc(0);
  let skip = 0; // payload bytes of the current frame still to pass over
  let messageBytes = 0;
  let done = false;

  const headerLength = (h: Buffer): number | undefined => {
    if (h.length < 2) return undefined;
    const len7 = (h[1] as number) & 0x7f;
    const masked = ((h[1] as number) & 0x80) !== 0;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
  };

  const onHeader = (h: Buffer): void => {
    const b0 = h[0] as number;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    const len7 = (h[1] as number) & 0x7f;
    const length =
      len7 === 126
        ? h.readUInt16BE(2)
        : len7 === 127
          ? h.readUInt32BE(2) * 2 ** 32 + h.readUInt32BE(6)
          : len7;
    skip = length;
    if (opcode >= 0x8) return; // control frames sit between fragments and do not count
    if (opcode !== 0x0) messageBytes = 0; // a text or binary frame starts a new message
    messageBytes += length;
    if (length > limits.frameBytes) {
      done = true;
      onViolation("frame-too-big");
    } else if (messageBytes > limits.messageBytes) {
      done = true;
      onViolation("message-too-big");
    } else if (fin) {
      messageBytes = 0;
    }
  };

  return (chunk) => {
    let offset = 0;
    while (!done && offset < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - offset);
        skip -= n;
        offset += n;
        continue;
      }
      // Headers are at most 14 bytes and may be split across chunks: gather them byte by byte.
      header = Buffer.concat([header, chunk.subarray(offset, offset + 1)]);
      offset += 1;
      const need = headerLength(header);
      if (need !== undefined && header.length === need) {
        onHeader(header);
        header = Buffer.alloc(0);
      }
    }
  };
}
