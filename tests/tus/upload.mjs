// Drives tus-js-client (Node) for tests/e2e/test_tus.py: reads one JSON job from argv,
// uploads the file it names, prints one JSON line with what happened.
//   {endpoint, key, file, chunkSize, metadata, stopAfter?, uploadUrl?}
// stopAfter: abort once that many bytes are accepted (the "lost network" of a resume test);
// uploadUrl: resume that upload (a HEAD, then PATCHes from its offset) instead of creating.
import { readFileSync } from "node:fs";
import * as tus from "tus-js-client";

const job = JSON.parse(process.argv[2]);
const data = readFileSync(job.file);

const result = await new Promise((resolve) => {
  const upload = new tus.Upload(data, {
    endpoint: job.endpoint,
    uploadUrl: job.uploadUrl ?? null,
    chunkSize: job.chunkSize,
    headers: { Authorization: `Bearer ${job.key}` },
    metadata: job.metadata,
    retryDelays: [],
    storeFingerprintForResuming: false,
    onChunkComplete(_size, accepted) {
      if (job.stopAfter !== undefined && accepted >= job.stopAfter) {
        upload.abort().then(() => resolve({ status: "stopped", url: upload.url, accepted }));
      }
    },
    onSuccess() {
      resolve({ status: "done", url: upload.url });
    },
    onError(error) {
      resolve({ status: "error", url: upload.url, error: String(error) });
    },
  });
  upload.start();
});
console.log(JSON.stringify(result));
