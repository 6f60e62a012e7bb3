// The export as a ZIP archive, written as the export's records come (nothing is held whole but the
// consents): `export.json` with what is to come (progress), per stream its description and its items as
// one SenML JSON pack of resolved records (`streams/<n>/items.senml.json`, RFC 8428), `consents.json`
// (records and signed receipts), `audit.ndjson` (the chain and its signed checkpoints, one JSON value
// per line), and `summary.json` with what was written. yazl writes entries of unknown size.
import { once } from "node:events";
import { PassThrough, type Readable } from "node:stream";
import { ZipFile } from "yazl";
import type { ExportLine } from "./export";

const json = (value: unknown) => Buffer.from(`${JSON.stringify(value, null, 2)}\n`);

type Section = "start" | "items" | "consents" | "audit" | "done";

/** The archive's bytes; the export's records are read as the archive is read. */
export function exportZip(lines: AsyncIterable<ExportLine>, onError: (err: unknown) => void): Readable {
  const zip = new ZipFile();
  let section: Section = "start";
  // Read through a function: the compiler cannot see `leave` change it between the awaits.
  const current = (): Section => section;
  let entry: PassThrough | undefined;
  let firstRecord = true;
  let streams = 0;
  const consents: unknown[] = [];
  let consentsWritten = false;

  const write = async (text: string) => {
    if (entry && !entry.write(text)) await once(entry, "drain");
  };
  const open = (name: string) => {
    entry = new PassThrough();
    zip.addReadStream(entry, name);
  };
  // Ends what the previous section left open; the archive's entries keep the export's order.
  const leave = async (next: Section) => {
    if (section === "items") await write(firstRecord ? "]\n" : "\n]\n");
    entry?.end();
    entry = undefined;
    if ((next === "audit" || next === "done") && !consentsWritten) {
      zip.addBuffer(json(consents), "consents.json");
      consentsWritten = true;
    }
    section = next;
  };

  void (async () => {
    try {
      for await (const line of lines) {
        switch (line.type) {
          case "export":
            zip.addBuffer(json(line), "export.json");
            break;
          case "stream":
            await leave("items");
            streams++;
            zip.addBuffer(json(line), `streams/${streams}/stream.json`);
            open(`streams/${streams}/items.senml.json`);
            await write("[");
            firstRecord = true;
            break;
          case "item":
            for (const record of Array.isArray(line.senml) ? line.senml : []) {
              await write(`${firstRecord ? "\n" : ",\n"}${JSON.stringify(record)}`);
              firstRecord = false;
            }
            break;
          case "consent":
            if (current() !== "consents") await leave("consents");
            consents.push({ record: line.record, receipts: line.receipts });
            break;
          case "audit":
          case "checkpoint":
            if (current() !== "audit") {
              await leave("audit");
              open("audit.ndjson");
            }
            await write(`${JSON.stringify(line)}\n`);
            break;
          case "end":
            await leave("done");
            zip.addBuffer(json(line), "summary.json");
            break;
        }
      }
    } catch (err) {
      entry?.end();
      zip.addBuffer(
        Buffer.from("The export failed on the server: this archive is incomplete.\n"),
        "ERROR.txt",
      );
      onError(err);
    }
    zip.end();
  })();
  return zip.outputStream as Readable;
}
