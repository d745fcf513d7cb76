import { inflateSync } from "node:zlib";

export interface DecodedPng {
  width: number;
  height: number;
  /** Bytes per pixel: 3 (RGB) or 4 (RGBA). */
  channels: number;
  /** Unfiltered scanlines, `width * channels` bytes each, top to bottom. */
  pixels: Buffer;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes for a screenshot) with node's zlib:
 * the chunks, the inflated IDAT stream and the five scanline filters of the PNG spec (section 9).
 */
export function decodePng(file: Buffer): DecodedPng {
  if (!file.subarray(0, 8).equals(SIGNATURE)) throw new Error("not a PNG: bad signature");
  let offset = 8;
  let header: { width: number; height: number; depth: number; colour: number; interlace: number } | undefined;
  const data: Buffer[] = [];
  while (offset < file.length) {
    const length = file.readUInt32BE(offset);
    const type = file.toString("latin1", offset + 4, offset + 8);
    const body = file.subarray(offset + 8, offset + 8 + length);
    offset += 12 + length;
    if (type === "IHDR") {
      header = {
        width: body.readUInt32BE(0),
        height: body.readUInt32BE(4),
        depth: body[8] ?? 0,
        colour: body[9] ?? 0,
        interlace: body[12] ?? 0,
      };
    } else if (type === "IDAT") data.push(body);
    else if (type === "IEND") break;
  }
  if (!header) throw new Error("not a PNG: no IHDR chunk");
  const channels = header.colour === 6 ? 4 : header.colour === 2 ? 3 : 0;
  if (header.depth !== 8 || channels === 0 || header.interlace !== 0)
    throw new Error(
      `PNG of bit depth ${header.depth}, colour type ${header.colour}, interlace ${header.interlace}: only 8-bit RGB(A), non-interlaced, is decoded here`,
    );
  const raw = inflateSync(Buffer.concat(data));
  const stride = header.width * channels;
  if (raw.length !== header.height * (stride + 1))
    throw new Error(`PNG data is ${raw.length} bytes, expected ${header.height * (stride + 1)}`);
  const pixels = Buffer.alloc(header.height * stride);
  for (let y = 0; y < header.height; y++) {
    const filter = raw[y * (stride + 1)] ?? -1;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const prior = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : Buffer.alloc(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? (out[i - channels] ?? 0) : 0;
      const b = prior[i] ?? 0;
      const c = i >= channels ? (prior[i - channels] ?? 0) : 0;
      const x = line[i] ?? 0;
      switch (filter) {
        case 0:
          out[i] = x;
          break;
        case 1:
          out[i] = (x + a) & 0xff;
          break;
        case 2:
          out[i] = (x + b) & 0xff;
          break;
        case 3:
          out[i] = (x + ((a + b) >> 1)) & 0xff;
          break;
        case 4:
          out[i] = (x + paeth(a, b, c)) & 0xff;
          break;
        default:
          throw new Error(`PNG scanline ${y} has unknown filter ${filter}`);
      }
    }
  }
  return { width: header.width, height: header.height, channels, pixels };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** How many distinct colours, and the share of pixels that differ from the most common one (the background). */
export function colourStats(png: DecodedPng): { distinct: number; notBackground: number } {
  const counts = new Map<number, number>();
  const { pixels, channels } = png;
  for (let i = 0; i < pixels.length; i += channels) {
    const colour = ((pixels[i] ?? 0) << 16) | ((pixels[i + 1] ?? 0) << 8) | (pixels[i + 2] ?? 0);
    counts.set(colour, (counts.get(colour) ?? 0) + 1);
  }
  const total = pixels.length / channels;
  const background = Math.max(...counts.values());
  return { distinct: counts.size, notBackground: (total - background) / total };
}
